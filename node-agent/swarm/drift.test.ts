// driftOf: when a manager's agent updates a Docker service — a changed SwarmService, or a hand-made change
// (`docker service scale`, `docker service update --image`) that kept persys's spec-hash label.
import type Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { desiredService } from './service-spec.js';
import { driftOf } from './services.js';

const desired = desiredService({
  apiVersion: 'persys.dev/v1',
  kind: 'SwarmService',
  metadata: { name: 'api', namespace: 'shop', uid: 'uid-1' },
  spec: { image: 'persys/busybox:v2', replicas: 3 },
});

/** The Docker service as the engine would list it after persys wrote `desired`, with `change` applied by hand. */
function existing(change: (spec: any) => void = () => undefined): Dockerode.Service {
  const spec = structuredClone(desired.spec) as any;
  change(spec);
  return { ID: 'svc1', Version: { Index: 7 }, Spec: spec } as unknown as Dockerode.Service;
}

describe('driftOf', () => {
  it('finds nothing in the service persys wrote, even with the digest the docker CLI pins', () => {
    expect(driftOf(existing(), desired)).toEqual([]);
    expect(driftOf(existing((s) => (s.TaskTemplate.ContainerSpec.Image += '@sha256:' + 'a'.repeat(64))), desired)).toEqual([]);
  });

  it('names a changed spec, a hand-made scale and a hand-made image change', () => {
    expect(driftOf(existing((s) => (s.Labels['dev.persys.spec-hash'] = 'old')), desired)).toEqual(['spec']);
    expect(driftOf(existing((s) => (s.Mode.Replicated.Replicas = 1)), desired)).toEqual(['replicas']);
    expect(driftOf(existing((s) => (s.TaskTemplate.ContainerSpec.Image = 'persys/busybox:v1')), desired)).toEqual(['image']);
  });
});
