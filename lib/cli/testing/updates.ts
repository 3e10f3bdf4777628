// Fixtures for the tests of commands that change objects (patch, label, annotate, set image, edit):
// ContainerSets in a FakeClient whose update() calls are counted and can be made to conflict.
import { status as Status } from '@grpc/grpc-js';
import type { Resource } from '../../api/resource.js';
import { ApiError } from '../../client/errors.js';
import { FakeClient } from './fake-client.js';

/** A ContainerSet of 2 replicas of nginx:1.26 in default, labelled app=NAME. */
export const cs = (name: string, labels: Record<string, string> = { app: name }): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'ContainerSet',
  metadata: { name, namespace: 'default', labels },
  spec: { replicas: 2, template: { metadata: { labels: { app: name } }, spec: { image: 'nginx:1.26', ports: [{ containerPort: 80 }] } } },
});

/** ContainerSets web and api (api labelled tier=back). */
export function seeded(): FakeClient {
  const fake = new FakeClient();
  fake.put(cs('web'));
  fake.put(cs('api', { app: 'api', tier: 'back' }));
  return fake;
}
/** What the fake stores for a default-namespace object. */
export const stored = (fake: FakeClient, name: string, kind = 'ContainerSet') => fake.objects.get(`${kind}/default/${name}`)!;
/** How many update() calls a countingUpdates() fake has seen. */
export const updates = (fake: FakeClient) => fake.calls.filter((c) => c.startsWith('update')).length;

/** Counts update() calls, and fails the first `conflicts` of them as a concurrent writer would. */
export function countingUpdates(fake: FakeClient, conflicts = 0): FakeClient {
  const update = fake.update.bind(fake);
  fake.update = async (obj) => {
    fake.calls.push(`update ${obj.kind}/${obj.metadata.name}`);
    if (conflicts-- > 0) {
      fake.put(stored(fake, obj.metadata.name!, obj.kind)); // someone else wrote it: a new resourceVersion
      throw new ApiError(Status.ABORTED, 'ABORTED', 'the object has been modified');
    }
    return update(obj);
  };
  return fake;
}

