// The example manifests shipped in manifests/examples/ must stay valid.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ResourcesService, type Object as WireObject } from '../../lib/gen/persys/v1/api.js';
import { fromWire, toWire, type Resource } from '../../lib/api/resource.js';
import { unknownFieldsOf, wireBytesOf, withUnknownFieldChecks } from '../api/object-requests.js';
import { admit } from './index.js';

/** `obj` as the API server's Create handler receives it: encoded, decoded, back to JSON, its wire size. */
function throughTheWire(obj: Resource): { raw: Resource; wireBytes: number } {
  const create = withUnknownFieldChecks(ResourcesService).create;
  const req = create.requestDeserialize(Buffer.from(create.requestSerialize({ object: toWire(obj), dryRun: false }))) as { object: WireObject };
  expect(unknownFieldsOf(req.object)).toEqual([]);
  return { raw: fromWire(req.object)!, wireBytes: wireBytesOf(req.object)! };
}

const dir = fileURLToPath(new URL('../../manifests/examples/', import.meta.url));
const docs = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(dir + f, 'utf8')).map((d, i) => [`${f}#${i}`, d.toJS()] as const));

describe('manifests/examples', () => {
  it('has a Namespace, Container, ContainerSet, ComposeStack, CronJob, Secret, ConfigMap, SwarmService and Service', () => {
    expect(docs.map(([, d]) => d.kind).sort()).toEqual(['ComposeStack', 'ConfigMap', 'Container', 'ContainerSet', 'CronJob', 'Namespace', 'Secret', 'Service', 'SwarmService']);
  });

  it.each(docs)('%s passes admit()', (_file, doc) => {
    expect(admit(doc).metadata.name).toBe(doc.metadata.name);
  });

  // admit() skips the structural check for such objects where the schema holds by construction.
  const withStatus: Resource = {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name: 'pulling', namespace: 'default', labels: { app: 'x' }, annotations: { a: 'b' } },
    spec: { image: 'persys/busybox:test', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80, hostPort: 0, protocol: 'TCP' }] },
    status: { phase: 'Pending', reason: 'Pulling', imagePull: { image: 'persys/busybox:test', downloadedBytes: '9007199254740993', totalBytes: '0' }, conditions: [{ type: 'Ready', status: 'False' }] },
  };
  it.each([...docs, ['a Container with a status', withStatus] as const])('%s admits the same through the wire as from JSON', (_file, doc) => {
    const { raw, wireBytes } = throughTheWire(doc as Resource);
    expect(wireBytes).toBeGreaterThan(0);
    expect(admit(raw, { wireBytes })).toEqual(admit(structuredClone(raw)));
  });

  it('runs httpd in the Container "web" with a published hostPort', () => {
    const web = admit(docs.find(([, d]) => d.kind === 'Container')![1]);
    expect(web.metadata.name).toBe('web');
    expect(web.spec.image).toBe('persys/busybox:test');
    expect(web.spec.command[0]).toBe('httpd');
    expect(web.spec.ports[0].hostPort).toBeGreaterThan(0);
  });
});
