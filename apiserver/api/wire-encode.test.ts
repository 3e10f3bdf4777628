// Responses encoded from JSON (wire-encode.ts) must decode, in a client built from the generated code,
// to exactly what the generated encoder's bytes decode to: for every example manifest and every kind.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { findKind, KINDS } from '../../lib/api/kinds.js';
import { fromWire, toWire, type Resource } from '../../lib/api/resource.js';
import { ResourcesService, WatchEvent } from '../../lib/gen/persys/v1/api.js';
import { admit } from '../validation/index.js';
import { messageTypeOf } from '../validation/schema.js';
import { encodeApply, encodeList, encodeObject, encodeWatchEventMessage, resourcesServiceWithEncodedResponses } from './wire-encode.js';

const dir = fileURLToPath(new URL('../../manifests/examples/', import.meta.url));
/** Each example as the API server stores it: admitted, with the fields the server sets. */
const stored: [string, Resource][] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(dir + f, 'utf8')).map((d, i) => [`${f}#${i}`, d.toJS() as Resource] as const))
  .map(([name, doc]) => {
    const obj = admit(doc);
    obj.metadata = { ...obj.metadata, uid: '3f1c2b9e-8a4d-4f6b-9c2e-5d7a1b0e4c3f', resourceVersion: '42', generation: 3, creationTimestamp: '2026-12-07T02:00:00Z' };
    return [name, obj];
  });
stored.push([
  'a Container with a status and an int64 beyond 2^53',
  {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name: 'pulling', namespace: 'default', uid: 'u', resourceVersion: '7', labels: { app: 'x' } },
    spec: { image: 'persys/busybox:test', ports: [{ containerPort: 80, hostPort: 0, protocol: 'TCP' }], restartPolicy: 'Always' },
    status: { phase: 'Pending', reason: 'Pulling', imagePull: { image: 'persys/busybox:test', downloadedBytes: '9007199254740993', totalBytes: '0' }, conditions: [{ type: 'Ready', status: 'False' }] },
  },
]);

const decodeObject = (bytes: Buffer) => fromWire(ResourcesService.get.responseDeserialize(bytes));
const generated = (obj: Resource) => decodeObject(ResourcesService.get.responseSerialize(toWire(obj)));

describe('responses encoded from JSON', () => {
  it('covers every kind: the Object message has each kind oneof field under the same name', () => {
    const fields = messageTypeOf('Object').fields;
    for (const info of KINDS) expect(fields[info.oneofCase], info.kind).toBeDefined();
  });

  it.each(stored)('%s decodes as from the generated encoder', (_name, obj) => {
    const decoded = decodeObject(encodeObject(obj));
    expect(decoded).toEqual(generated(obj));
    expect(decoded!.metadata.name).toBe(obj.metadata.name);
  });

  it('encodes a List response: items, resourceVersion, continue, remainingItemCount', () => {
    const items = stored.map(([, o]) => o);
    const res = ResourcesService.list.responseDeserialize(encodeList({ items, resourceVersion: '99', continue: 'abc', remainingItemCount: '12' }));
    expect(res.items.map(fromWire)).toEqual(items.map(generated));
    expect(res).toMatchObject({ resourceVersion: '99', continue: 'abc', remainingItemCount: '12' });
  });

  it('encodes an Apply response', () => {
    const [, obj] = stored[0]!;
    const res = ResourcesService.apply.responseDeserialize(encodeApply(obj, 'configured'));
    expect(fromWire(res.object)).toEqual(generated(obj));
    expect(res.result).toBe('configured');
  });

  it.each(stored)('%s in a watch event decodes as from the generated encoder', (_name, obj) => {
    const ev = WatchEvent.decode(encodeWatchEventMessage('MODIFIED', obj, '42', findKind(obj.kind)!));
    expect(ev).toMatchObject({ type: 'MODIFIED', resourceVersion: '42', events: [] });
    expect(fromWire(ev.object)).toEqual(generated(obj));
  });

  it('encodes a BOOKMARK, whose object carries only a resourceVersion, as a watch event of its kind', () => {
    const ev = WatchEvent.decode(encodeWatchEventMessage('BOOKMARK', { metadata: { resourceVersion: '9' } } as Resource, '9', findKind('Container')!));
    expect(ev.object?.object?.$case).toBe('container');
    expect(fromWire(ev.object)?.metadata.resourceVersion).toBe('9');
  });

  it('registers serializers that pass encoded bytes through and still encode messages', () => {
    const bytes = encodeObject(stored[0]![1]);
    expect(resourcesServiceWithEncodedResponses.create.responseSerialize(bytes as never)).toBe(bytes);
    const wire = toWire(stored[0]![1]);
    expect(resourcesServiceWithEncodedResponses.get.responseSerialize(wire)).toEqual(ResourcesService.get.responseSerialize(wire));
  });

  it('refuses an object of no known kind', () => {
    expect(() => encodeObject({ apiVersion: 'persys.dev/v1', kind: 'Nope', metadata: {} })).toThrow(/unknown kind "Nope"/);
  });
});
