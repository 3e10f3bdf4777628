// The example manifests shipped in manifests/examples/ must stay valid.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { admit } from './index.js';

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

  it('runs httpd in the Container "web" with a published hostPort', () => {
    const web = admit(docs.find(([, d]) => d.kind === 'Container')![1]);
    expect(web.metadata.name).toBe('web');
    expect(web.spec.image).toBe('persys/busybox:test');
    expect(web.spec.command[0]).toBe('httpd');
    expect(web.spec.ports[0].hostPort).toBeGreaterThan(0);
  });
});
