// vitest global setup: the build that bin/persys.js runs (so tests that spawn `persys` run the current
// sources), and one shared etcd for the whole run, exposed to tests as inject('etcdEndpoint').
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEtcd } from './etcd.js';

declare module 'vitest' {
  export interface ProvidedContext {
    etcdEndpoint: string;
  }
}

const ROOT = resolve(import.meta.dirname, '../..');

export default async function setup(project: TestProject) {
  // Incremental: a second run with nothing changed takes about a second.
  execFileSync(process.execPath, [resolve(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  const etcd = await startEtcd();
  project.provide('etcdEndpoint', etcd.endpoint);
  return () => etcd.stop();
}
