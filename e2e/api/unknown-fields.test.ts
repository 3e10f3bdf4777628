// Unknown fields are refused on every write that carries a whole object, as Apply refuses them in a
// manifest: INVALID_ARGUMENT naming the field path, and nothing stored. Over a real API server and etcd.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { status as Code, Metadata, type ServiceError } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { Resource } from '../../lib/api/resource.js';
import { ApiError } from '../../lib/client/errors.js';
import { Object as WireObject } from '../../lib/gen/persys/v1/api.js';
import { Container, ContainerSpec } from '../../lib/gen/persys/v1/workloads.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';

let api: TestApiServer;
beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
});
afterAll(async () => api?.stop());

const container = (name: string, spec: Record<string, unknown> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'default' },
  spec: { image: 'persys/busybox:test', ...spec },
});

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).code).toBe(Code.INVALID_ARGUMENT);
  return err as ApiError;
}

describe('a client write with a field the kind does not have', () => {
  it('Update refuses a Container with an unknown field spec.imagee and stores nothing', async () => {
    const created = await api.client.create(container('unk-update'));
    const err = await refusal(api.client.update({ ...created, spec: { ...created.spec, image: 'persys/busybox:v2', imagee: 'typo' } }));
    expect(err.message).toBe('Container "unk-update" is invalid: spec.imagee: unknown field "imagee"');
    const stored = await api.client.get('Container', 'unk-update', 'default');
    expect(stored).toEqual(created);
  });

  it('UpdateStatus refuses an unknown status field, at any depth, and stores nothing', async () => {
    const created = await api.client.create(container('unk-status'));
    const err = await refusal(api.client.updateStatus({ ...created, status: { phase: 'Running', containerStatus: { restartCount: 1 } } }));
    expect(err.message).toContain('status.containerStatus: unknown field "containerStatus"');
    expect(await api.client.get('Container', 'unk-status', 'default')).toEqual(created);
  });

  it('Create and Apply of an object refuse unknown fields in metadata and list items, and store nothing', async () => {
    const bad = { ...container('unk-create', { ports: [{ containerPort: 80, hostport: 8080 }] }), metadata: { name: 'unk-create', namespace: 'default', label: { a: 'b' } } };
    for (const send of [() => api.client.create(bad), () => api.client.apply(bad)]) {
      const err = await refusal(send());
      expect(err.message).toContain('metadata.label: unknown field "label"');
      expect(err.message).toContain('spec.ports[0].hostport: unknown field "hostport"');
    }
    const gone = await api.client.get('Container', 'unk-create', 'default').catch((e: ApiError) => e);
    expect((gone as ApiError).code).toBe(Code.NOT_FOUND);
  });
});

/** Field `n` holding `bytes`, length-delimited. */
const field = (n: number, bytes: Uint8Array) => new BinaryWriter().uint32((n << 3) | 2).bytes(bytes).finish();

/** An UpdateRequest (or CreateRequest) whose Container's spec also holds field 99, which ContainerSpec lacks. */
function requestWithUnknownSpecField(obj: Resource): Buffer {
  const { spec, ...rest } = Container.fromJSON(obj);
  const specBytes = Buffer.concat([ContainerSpec.encode(spec!).finish(), new BinaryWriter().uint32((99 << 3) | 2).string('typo').finish()]);
  const containerBytes = Buffer.concat([Container.encode({ ...rest, spec: undefined }).finish(), field(4, specBytes)]);
  // Object.container is field 3; the request's object is field 1.
  return Buffer.from(field(1, field(3, containerBytes)));
}

/** Sends `request` as they are to a Resources method over the admin's own channel. */
function sendRaw(method: 'Create' | 'Update', request: Buffer): Promise<ServiceError | null> {
  return new Promise((resolve) => {
    api.client.raw.makeUnaryRequest(
      `/persys.v1.Resources/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => WireObject.decode(b),
      request,
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err) => resolve(err),
    );
  });
}

describe('a raw gRPC write whose bytes hold a field number the proto lacks', () => {
  it('Update refuses it with the path of the message holding it and stores nothing', async () => {
    const created = await api.client.create(container('unk-raw'));
    const err = await sendRaw('Update', requestWithUnknownSpecField({ ...created, spec: { ...created.spec, image: 'persys/busybox:v2' } }));
    expect(err?.code).toBe(Code.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/^Container "unk-raw" is invalid: spec: unknown field number 99 \(persys\.v1\.ContainerSpec has no such field/);
    expect(await api.client.get('Container', 'unk-raw', 'default')).toEqual(created);
  });

  it('Create refuses it and stores nothing', async () => {
    const err = await sendRaw('Create', requestWithUnknownSpecField(container('unk-raw-create')));
    expect(err?.code).toBe(Code.INVALID_ARGUMENT);
    expect(err?.details).toContain('spec: unknown field number 99');
    const gone = await api.client.get('Container', 'unk-raw-create', 'default').catch((e: ApiError) => e);
    expect((gone as ApiError).code).toBe(Code.NOT_FOUND);
  });

  it('the same bytes without the extra field are written: the check refuses only what is unknown', async () => {
    const { spec, ...rest } = Container.fromJSON(container('raw-ok'));
    const ok = Buffer.from(field(1, field(3, Buffer.concat([Container.encode({ ...rest, spec: undefined }).finish(), field(4, ContainerSpec.encode(spec!).finish())]))));
    expect(await sendRaw('Create', ok)).toBeNull();
    expect((await api.client.get('Container', 'raw-ok', 'default')).spec.image).toBe('persys/busybox:test');
  });
});
