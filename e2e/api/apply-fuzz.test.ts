// Bounded random mutation of Apply: thousands of malformed variants of the example manifests must be
// refused cleanly (INVALID_ARGUMENT / missing namespace) or stored as admissible objects, never crash.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { status as Code } from '@grpc/grpc-js';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findKind } from '../../lib/api/kinds.js';
import type { Resource } from '../../lib/api/resource.js';
import { ApiError } from '../../lib/client/client.js';
import { admit, MAX_OBJECT_BYTES } from '../../apiserver/validation/index.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { manifestText, mutateObject, Rng, withHugeString, type Json } from '../harness/mutate.js';

// Override to explore; the default keeps CI reproducible.
const SEED = Number(process.env['PERSYS_FUZZ_SEED'] ?? 424242);
const VARIANTS = Number(process.env['PERSYS_FUZZ_VARIANTS'] ?? 3000);
const PARALLEL = 16;
const NS = 'fuzz';
const EXAMPLES_DIR = fileURLToPath(new URL('../../manifests/examples', import.meta.url));

// Kinds the examples do not cover, so their schemas get mutated too.
const EXTRA_SEEDS = `
apiVersion: persys.dev/v1
kind: ComposeStack
metadata: {name: shop, labels: {app: shop}}
spec:
  compose: |
    services:
      web: {image: nginx}
      db: {image: postgres}
  scale: {web: 3, db: 0}
---
apiVersion: persys.dev/v1
kind: SwarmService
metadata: {name: api}
spec:
  image: persys/busybox:latest
  replicas: 2
  ports: [{targetPort: 80, publishedPort: 8080}]
---
apiVersion: persys.dev/v1
kind: Lease
metadata: {name: scheduler}
spec: {holderIdentity: a, leaseDurationSeconds: 15, renewTime: "2024-01-01T00:00:00Z"}
---
apiVersion: persys.dev/v1
kind: Event
metadata: {name: web.1}
involvedObject: {kind: Container, name: web}
reason: Scheduled
message: scheduled to node-1
`;

function loadSeeds(): Json[] {
  const texts = readdirSync(EXAMPLES_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => readFileSync(join(EXAMPLES_DIR, f), 'utf8'));
  const docs = [...texts, EXTRA_SEEDS].flatMap((t) => YAML.parseAllDocuments(t).map((d) => d.toJS() as Json)).filter((d) => d !== null);
  // Namespaced seeds go to the fuzz namespace so the test can account for every stored object.
  return docs.map((d) => {
    const obj = d as { kind: string; metadata: Record<string, Json> };
    if (findKind(obj.kind)?.namespaced) obj.metadata['namespace'] = NS;
    return d;
  });
}

interface Variant {
  i: number;
  what: string;
  send: string | Resource;
}

interface Outcome {
  variant: Variant;
  ok?: Resource;
  error?: unknown;
}

/** All variants are generated up front from one PRNG, so the set never depends on scheduling. */
function generateVariants(seeds: Json[]): Variant[] {
  const rng = new Rng(SEED);
  // The object size limit is probed just above it, and just below it (where the last-applied
  // annotation the server adds would double the stored size).
  const huge = new Set([7, 401, 977, 1503, 2111, 2699].filter((i) => i < VARIANTS));
  const large = new Set([55, 1234, 2345, 2900].filter((i) => i < VARIANTS));
  const out: Variant[] = [];
  for (let i = 0; i < VARIANTS; i++) {
    const seed = structuredClone(rng.pick(seeds)) as { metadata: Record<string, Json> };
    const unique = `fz-${i}`;
    seed.metadata['name'] = unique;
    if (huge.has(i) || large.has(i)) {
      const bytes = huge.has(i) ? MAX_OBJECT_BYTES + 1 + rng.int(400_000) : 600_000 + rng.int(Math.floor(MAX_OBJECT_BYTES) - 700_000);
      const m = withHugeString(rng, seed as Json, bytes);
      out.push({ i, what: m.what, send: JSON.stringify(m.value) });
      continue;
    }
    const roll = rng.next();
    if (roll < 0.2) {
      // Text corruption of a (possibly also mutated) manifest.
      const base = rng.chance(0.5) ? mutateObject(rng, seed as Json, unique) : { value: seed as Json, what: 'unmutated' };
      const t = manifestText(rng, base.value, true);
      out.push({ i, what: `${base.what}; ${t.what}`, send: t.text });
    } else {
      const m = mutateObject(rng, seed as Json, unique);
      if (roll < 0.35) out.push({ i, what: `${m.what} (as object)`, send: m.value as unknown as Resource });
      else {
        const t = manifestText(rng, m.value, false);
        out.push({ i, what: `${m.what} (${t.what})`, send: t.text });
      }
    }
  }
  return out;
}

async function runBounded<T, R>(items: T[], parallel: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const at = next++;
      results[at] = await fn(items[at]!);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}

const keyOf = (o: Resource) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

let api: TestApiServer;
let baseline: Set<string>;

async function listEverything(): Promise<Resource[]> {
  const all: Resource[] = [];
  for (const k of await api.client.listKinds()) {
    let token = '';
    do {
      // Small pages: a few stored objects are close to the size limit.
      const page = await api.client.list(k.kind, { limit: 2, continue: token });
      all.push(...page.items);
      token = page.continue;
    } while (token);
  }
  return all;
}

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
  baseline = new Set((await listEverything()).map(keyOf));
});
afterAll(async () => api?.stop());

describe('Apply under random malformed input', () => {
  it(`refuses or stores ${VARIANTS} mutated example manifests cleanly (seed ${SEED}, PERSYS_FUZZ_SEED to change)`, { timeout: 180_000 }, async () => {
    const seeds = loadSeeds();
    expect(seeds.length).toBeGreaterThanOrEqual(9);
    // Unmutated seeds must pass, or every rejection below would prove nothing.
    for (const s of seeds) expect(() => admit(structuredClone(s))).not.toThrow();

    const variants = generateVariants(seeds);
    const outcomes = await runBounded(variants, PARALLEL, (variant): Promise<Outcome> =>
      api.client.apply(variant.send).then(
        (r) => ({ variant, ok: r.object }),
        (error: unknown) => ({ variant, error }),
      ),
    );

    const problems: string[] = [];
    const describeVariant = (v: Variant) => `#${v.i} [${v.what}]`;
    const accepted = outcomes.filter((o) => o.ok);
    const rejected = outcomes.filter((o) => o.error instanceof ApiError);
    // The typed client refuses some objects itself (e.g. an unknown kind cannot be encoded): nothing was sent.
    const refusedByClient = outcomes.filter((o) => o.error !== undefined && !(o.error instanceof ApiError));
    for (const o of refusedByClient) {
      if (typeof o.variant.send === 'string') problems.push(`${describeVariant(o.variant)}: non-API error for manifest text: ${String(o.error)}`);
    }
    for (const o of rejected) {
      const e = o.error as ApiError;
      const namespaceMissing = e.code === Code.NOT_FOUND && /Namespace "[^"]*" not found/.test(e.message);
      if (e.code !== Code.INVALID_ARGUMENT && !namespaceMissing) problems.push(`${describeVariant(o.variant)}: ${e.codeName}: ${e.message.slice(0, 300)}`);
      else if (!e.message.trim()) problems.push(`${describeVariant(o.variant)}: ${e.codeName} with an empty message`);
    }
    expect(problems).toEqual([]);

    // The generator works: it produced both kinds of input in quantity.
    expect(accepted.length).toBeGreaterThan(VARIANTS * 0.05);
    expect(rejected.length).toBeGreaterThan(VARIANTS * 0.4);
    const sizeRefusals = rejected.filter((o) => /bytes, the limit is/.test((o.error as ApiError).message));
    expect(sizeRefusals.length).toBeGreaterThan(0);

    // The server still answers, and still accepts valid input.
    const after = await api.client.apply({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'still-alive', namespace: NS }, stringData: { a: 'b' } });
    expect(after.result).toBe('created');

    // Storage holds exactly what was accepted, and every stored object is admissible as it is.
    const stored = await listEverything();
    const storedKeys = new Set(stored.map(keyOf).filter((k) => !baseline.has(k)));
    const acceptedKeys = new Set([...accepted.map((o) => keyOf(o.ok!)), keyOf(after.object)]);
    expect([...storedKeys].sort()).toEqual([...acceptedKeys].sort());
    const inadmissible: string[] = [];
    for (const obj of stored) {
      try {
        admit(obj);
      } catch (err) {
        inadmissible.push(`${keyOf(obj)}: ${(err as Error).message.slice(0, 300)}`);
      }
    }
    expect(inadmissible).toEqual([]);
  });
});
