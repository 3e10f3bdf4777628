// Manifests the tests and benchmarks share: a ContainerSet of test-image containers that only sleep,
// the smallest workload that keeps a node busy with running containers.
import type { Resource } from '../../lib/api/resource.js';
import { TEST_IMAGE } from './docker.js';

/** A ContainerSet `name` of `replicas` containers running `sleep 3600`, selected by label set=<name>. */
export function sleepingContainerSet(name: string, namespace: string, replicas: number, requests?: { cpu: string; memory: string }): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'ContainerSet',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { set: name } },
      template: {
        metadata: { labels: { set: name } },
        spec: { image: TEST_IMAGE, command: ['sleep', '3600'], ...(requests ? { resources: { requests } } : {}) },
      },
    },
  };
}
