// Lists and namespace deletion at scale (`npm run bench:lists`): 30,000 Containers in namespaces of
// 5,000, listed whole and by namespace through the gRPC API, and a namespace of 5,000 deleted; each
// against raw etcd doing the same reads or delete in the same run (etcd with fsync, as users run it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { findKind } from '../../lib/api/kinds.js';
import type { Resource } from '../../lib/api/resource.js';
import { objectKey } from '../../apiserver/registry/keys.js';
import { startEtcdProcess } from '../../apiserver/etcd/process.js';
import { freePort } from '../../e2e/harness/etcd.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { benchFlags, emitResult, intFlag, runBench, until } from './until.js';
import { fmt } from './stats.js';

const USAGE = `usage: npm run bench:lists -- [flags]
  --containers N   Containers stored, in namespaces of --per-namespace (default 30000)
  --per-namespace M  Containers per namespace, and in the namespace deleted each round (default 5000)
  --rounds R       rounds of each measurement, at least 3 (default 3)
  --timeout SECONDS  abort a deletion round after this long (default 120)
  --json FILE      write the JSON result there (default: the last line of stdout)`;

const CONTAINER = findKind('Container')!;
const PREFIX = '/bench-lists';

interface Spread {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

function spread(samples: number[]): Spread {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[Math.floor((s.length - 1) / 2)]!, min: s[0]!, max: s[s.length - 1]!, samples };
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const values = benchFlags(process.argv.slice(2), USAGE, {
    containers: { type: 'string', default: '30000' },
    'per-namespace': { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
    timeout: { type: 'string', default: '120' },
    json: { type: 'string' },
  });
  const int = intFlag(USAGE);
  const total = int('containers', values.containers, 1);
  const perNs = int('per-namespace', values['per-namespace'], 1);
  const rounds = int('rounds', values.rounds, 3);
  const timeoutMs = int('timeout', values.timeout, 1) * 1000;
  const errors: string[] = [];

  const dataDir = mkdtempSync(join(tmpdir(), 'persys-bench-lists-'));
  const etcd = await startEtcdProcess({
    dataDir,
    clientUrl: `http://127.0.0.1:${await freePort()}`,
    peerUrl: `http://127.0.0.1:${await freePort()}`,
    unsafeNoFsync: false,
  });
  const raw = new Etcd3({ hosts: etcd.endpoint, grpcOptions: { 'grpc.max_receive_message_length': 2 ** 31 - 1 } });
  let api: TestApiServer | undefined;
  try {
    api = await startTestApiServer(etcd.endpoint, { etcdPrefix: PREFIX });
    const client = api.client;
    const template = await client.create({ apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: 'template', namespace: 'default', labels: { app: 'bench' } }, spec: { image: 'persys/busybox:test' } });
    await client.delete('Container', 'template', 'default');
    const storage = api.server.store.storage;
    const seed = async (ns: string, count: number) => {
      await client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: ns } });
      for (let i = 0; i < count; i += 500) {
        await Promise.all(
          Array.from({ length: Math.min(500, count - i) }, (_, j) => {
            const name = `web-${String(i + j).padStart(5, '0')}`;
            const obj: Resource = { ...template, metadata: { ...template.metadata, name, namespace: ns, uid: `${ns}-${name}`, resourceVersion: undefined } };
            return storage.create(objectKey(CONTAINER, ns, name), obj);
          }),
        );
      }
    };
    const namespaces = Math.ceil(total / perNs);
    const t0 = performance.now();
    for (let n = 0; n < namespaces; n++) await seed(`ns-${n}`, Math.min(perNs, total - n * perNs));
    console.error(`seeded ${total} Containers in ${namespaces} namespaces in ${fmt((performance.now() - t0) / 1000)} s`);
    const rawRange = async (prefix: string) => {
      // The same keys, paged by 500 at one revision, values decoded: what a minimal reader must do.
      let start = Buffer.from(prefix);
      const end = Buffer.from(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1));
      let revision: string | undefined;
      let n = 0;
      for (;;) {
        const res = await raw.kv.range({ key: start, range_end: end, limit: 500, revision: revision ?? 0 });
        revision ??= res.header.revision;
        for (const kv of res.kvs) JSON.parse(kv.value.toString('utf8'));
        n += res.kvs.length;
        if (!res.more) return n;
        start = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
      }
    };
    const check = (what: string, got: number, want: number) => {
      if (got !== want) errors.push(`${what}: ${got} objects, expected ${want}`);
    };
    const allPrefix = `${PREFIX}/containers/`;
    const nsPrefix = `${PREFIX}/containers/ns-0/`;
    const samples = { listAll: [] as number[], listAllPaged: [] as number[], rawAll: [] as number[], listNs: [] as number[], rawNs: [] as number[], deleteNs: [] as number[], rawDelete: [] as number[] };
    for (let r = 0; r < rounds + 1; r++) {
      const warm = r === 0; // the first round warms caches and connections; not reported
      const push = (k: keyof typeof samples, ms: number) => !warm && samples[k].push(ms);
      // Alternate the order so neither side always runs on a warmer machine.
      const pairs: [keyof typeof samples, () => Promise<number>, number][] = [
        ['rawAll', () => rawRange(allPrefix), total],
        ['listAll', async () => (await client.list('Container')).items.length, total],
        ['listAllPaged', async () => (await client.listAll('Container', {}, 500)).items.length, total],
        ['rawNs', () => rawRange(nsPrefix), perNs],
        ['listNs', async () => (await client.list('Container', { namespace: 'ns-0' })).items.length, perNs],
      ];
      if (r % 2) pairs.reverse();
      // The previous round's seeding and deletes leave the watch cache catching up: let it, untimed,
      // so the lists measure serving, not the tail of the last burst.
      await client.list('Container', { namespace: 'ns-0', limit: 1 });
      for (const [k, fn, want] of pairs) {
        let got = 0;
        push(k, await time(async () => void (got = await fn())));
        check(k, got, want);
      }
      // Deletion: a fresh namespace of perNs through the API, then the same keys deleted raw.
      const ns = `del-${r}`;
      await seed(ns, perNs);
      push('deleteNs', await time(async () => {
        await client.delete('Namespace', ns);
        await until(`namespace ${ns} gone`, timeoutMs, () => client.get('Namespace', ns).then(() => false, (e: { code?: number }) => e.code === 5), (gone) => gone, 20);
      }));
      check(`Containers left in ${ns}`, (await storage.list(`containers/${ns}/`, { limit: 1 })).items.length, 0);
      await seed(`${ns}-raw`, perNs);
      push('rawDelete', await time(async () => void (await raw.delete().prefix(`${PREFIX}/containers/${ns}-raw/`).exec())));
      await client.delete('Namespace', `${ns}-raw`);
    }
    const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, spread(v)])) as Record<keyof typeof samples, Spread>;
    const line = (what: string, a: Spread, base: Spread) =>
      console.error(`${what.padEnd(44)} ${fmt(a.median, 0).padStart(6)} ms (${fmt(a.min, 0)}–${fmt(a.max, 0)})  baseline ${fmt(base.median, 0)} ms (${fmt(base.min, 0)}–${fmt(base.max, 0)})  ratio ${fmt(a.median / base.median, 2)}`);
    line(`list all ${total} Containers (one call)`, s.listAll, s.rawAll);
    line(`list all ${total} Containers (pages of 500)`, s.listAllPaged, s.rawAll);
    line(`list one namespace of ${perNs}`, s.listNs, s.rawNs);
    line(`delete a namespace of ${perNs} (until gone)`, s.deleteNs, s.rawDelete);
    emitResult({ bench: 'lists', containers: total, perNamespace: perNs, rounds, ms: s, errors }, values.json, errors);
  } finally {
    raw.close();
    await api?.stop();
    await etcd.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
