// vitest global setup: one shared etcd for the whole run, exposed to tests as inject('etcdEndpoint').
import type { TestProject } from 'vitest/node';
import { startEtcd } from './etcd.js';

declare module 'vitest' {
  export interface ProvidedContext {
    etcdEndpoint: string;
  }
}

export default async function setup(project: TestProject) {
  const etcd = await startEtcd();
  project.provide('etcdEndpoint', etcd.endpoint);
  return () => etcd.stop();
}
