// `persys apply --wait`, `rollout status|history|undo|restart`, `cordon|uncordon|drain`, in-process against
// a real API server with the ContainerSet and docker controllers running; the test stands in for the
// node agents by marking bound Containers Running and Ready (images named "stuck:*" never get ready).
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CONFIG_HASH_ANNOTATION } from '../../api/annotations.js';
import type { Resource } from '../../api/resource.js';
import { startTestApiServer, type TestApiServer } from '../../../e2e/harness/apiserver.js';
import { waitFor } from '../../../e2e/harness/wait.js';
import { newContainerSetController } from '../../../controllers/containerset/controller.js';
import { newDockerController } from '../../../controllers/docker/controller.js';
import { runControllers, type RunningControllers } from '../../../controllers/runtime/index.js';
import { silentLogger } from '../../observability/logger.js';
import { captureIo } from '../io.js';
import { main } from '../main.js';

const NS = 'rollout-cli';
let api: TestApiServer;
const running: RunningControllers[] = [];
const standIn = new AbortController();

async function node(name: string): Promise<void> {
  const n = await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name }, spec: {} });
  await api.client.updateStatus({ ...n, status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { cpu: '8', memory: '16Gi' } } });
}

// The agents' part: a bound Container of a ready image runs and is ready a moment later.
async function playAgents(signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const { items } = await api.client.list('Container', { namespace: NS }).catch(() => ({ items: [] as Resource[] }));
    for (const c of items) {
      if (!c.spec?.nodeName || c.status?.phase === 'Running' || String(c.spec.image).startsWith('stuck')) continue;
      const status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() }] };
      await api.client.updateStatus({ ...c, status }).catch(() => undefined);
    }
    await sleep(100);
  }
}

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
  await node('rollout-n1');
  await node('rollout-n2');
  const fast = (ms: number, signal: AbortSignal) => sleep(Math.min(ms, 50), undefined, { signal }).catch(() => undefined);
  for (const set of [
    newContainerSetController({ client: api.client, logger: silentLogger(), informerDelay: fast }),
    newDockerController({ client: api.client, logger: silentLogger(), informerDelay: fast }),
  ]) {
    running.push(await runControllers({ ...set, registry: new Registry(), logger: silentLogger() }));
  }
  void playAgents(standIn.signal);
}, 60_000);

afterAll(async () => {
  standIn.abort();
  for (const r of running) await r.stop();
  await api?.stop();
});

const connection = () => [
  '--server', api.config.server,
  '--ca-cert', api.config.caCert,
  '--client-cert', api.config.clientCert,
  '--client-key', api.config.clientKey,
  '-n', NS,
];

async function persys(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main([...args, ...connection()], io);
  return { code, out: io.stdout(), err: io.stderr() };
}

function manifest(name: string, image: string, extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'persys-rollout-'));
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `apiVersion: persys.dev/v1
kind: ContainerSet
metadata: {name: ${name}}
spec:
  replicas: 3
  selector: {matchLabels: {app: ${name}}}
  strategy: {rollingUpdate: {maxSurge: "1", maxUnavailable: "0"}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {image: "${image}"}
${extra}`,
  );
  return file;
}

const replicasOf = async (name: string) =>
  (await api.client.list('Container', { namespace: NS })).items.filter(
    (c) => !c.metadata.deletionTimestamp && c.metadata.ownerReferences?.some((r) => r.name === name),
  );

describe('rollout commands', () => {
  it('apply --wait prints what is still converging and returns once the set has rolled out', async () => {
    const r = await persys('apply', '--wait', '--timeout', '60s', '-f', manifest('web', 'web:1'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('containerset/web created');
    expect(r.out).toMatch(/Waiting for containerset "web" (spec update to be observed|rollout to finish)/);
    expect(r.out.trimEnd().split('\n').at(-1)).toBe('containerset "web" successfully rolled out');
    expect((await replicasOf('web')).every((c) => c.status?.phase === 'Running')).toBe(true);
  }, 60_000);

  it('history lists each template, undo restores the previous one, and status follows it to the end', async () => {
    expect((await persys('apply', '--wait', '-f', manifest('web', 'web:2'))).code).toBe(0);
    const history = await persys('rollout', 'history', 'cs/web');
    expect(history.code).toBe(0);
    expect(history.out).toMatch(/^1\s+\S+\s+web:1\s/m);
    expect(history.out).toMatch(/^2 \(current\)\s+\S+\s+web:2\s/m);

    const undo = await persys('rollout', 'undo', 'containerset/web');
    expect(undo).toMatchObject({ code: 0, out: 'containerset/web rolled back to revision 1\n' });
    const status = await persys('rollout', 'status', 'cs/web', '--timeout', '60s');
    expect(status.code).toBe(0);
    expect(status.out).toContain('containerset "web" successfully rolled out');
    expect((await replicasOf('web')).map((c) => c.spec.image)).toEqual(['web:1', 'web:1', 'web:1']);
    // The restored template is the newest revision now, and undoing to it again changes nothing.
    await waitFor(async () => /^3 \(current\)\s+\S+\s+web:1\s/m.test((await persys('rollout', 'history', 'cs/web')).out), 'revision 3 is web:1');
    expect((await persys('rollout', 'undo', 'cs/web', '--to-revision', '3')).out).toContain('skipped rollback (current template already matches revision 3)');
    const missing = await persys('rollout', 'undo', 'cs/web', '--to-revision', '42');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('unable to find the specified revision 42 of containerset/web');
  }, 90_000);

  it('restart replaces every replica and the set ends with the same count, all ready', async () => {
    const before = new Set((await replicasOf('web')).map((c) => c.metadata.name));
    const r = await persys('rollout', 'restart', 'cs/web');
    expect(r).toMatchObject({ code: 0, out: 'containerset/web restarted\n' });
    expect((await persys('rollout', 'status', 'cs/web', '--timeout', '60s')).code).toBe(0);
    const after = await replicasOf('web');
    expect(after).toHaveLength(3);
    expect(after.some((c) => before.has(c.metadata.name))).toBe(false);
  }, 90_000);

  it('status exits 1 naming the progress deadline when a rollout stops moving', async () => {
    const apply = await persys('apply', '-f', manifest('stuck', 'stuck:1', '  progressDeadlineSeconds: 2\n'));
    expect(apply.code).toBe(0);
    const r = await persys('rollout', 'status', 'cs/stuck', '--timeout', '60s');
    expect(r.code).toBe(1);
    expect(r.err).toContain('containerset "stuck" exceeded its progress deadline');
    expect(r.out).toContain('Waiting for containerset "stuck" rollout to finish');
  }, 60_000);

  it('history names a config change; undo restores a template and recomputes the config hash from the ConfigMap as it is now', async () => {
    const configMap = async (data: Record<string, string>) => {
      const cur = await api.client.get('ConfigMap', 'cfg-files', NS).catch(() => undefined);
      const obj = { apiVersion: 'persys.dev/v1', kind: 'ConfigMap', metadata: { name: 'cfg-files', namespace: NS }, data };
      await (cur ? api.client.update({ ...cur, data }) : api.client.create(obj));
    };
    const cfgManifest = (image: string) => {
      const file = join(mkdtempSync(join(tmpdir(), 'persys-rollout-')), 'cfg.yaml');
      writeFileSync(
        file,
        `apiVersion: persys.dev/v1
kind: ContainerSet
metadata: {name: cfg}
spec:
  replicas: 2
  rolloutOnConfigChange: true
  selector: {matchLabels: {app: cfg}}
  strategy: {rollingUpdate: {maxSurge: "1", maxUnavailable: "0"}}
  template:
    metadata: {labels: {app: cfg}}
    spec:
      image: "${image}"
      volumes: [{mountPath: /etc/app, configMap: {name: cfg-files}}]
`,
      );
      return file;
    };
    const hashes = async () => new Set((await replicasOf('cfg')).map((c) => c.metadata.annotations?.[CONFIG_HASH_ANNOTATION]));
    await configMap({ 'app.conf': 'v=1' });
    expect((await persys('apply', '--wait', '--timeout', '60s', '-f', cfgManifest('cfg:1'))).code).toBe(0);
    const [h1] = await hashes();
    expect((await persys('apply', '--wait', '--timeout', '60s', '-f', cfgManifest('cfg:2'))).code).toBe(0);
    await configMap({ 'app.conf': 'v=2' });
    const historyOut = await waitFor(async () => {
      const out = (await persys('rollout', 'history', 'cs/cfg')).out;
      return /^3 \(current\)\s+\S+\s+cfg:2\s+config change$/m.test(out) ? out : undefined;
    }, 'revision 3 is the config change');
    expect(historyOut).toMatch(/^1\s+\S+\s+cfg:1\s+<none>$/m);
    expect(historyOut).toMatch(/^2\s+\S+\s+cfg:2\s+<none>$/m);
    // A config change bumps no generation, so the replicas are read rather than `rollout status`.
    const h2 = await waitFor(async () => {
      const h = [...(await hashes())];
      return h.length === 1 && h[0] !== h1 && (await replicasOf('cfg')).length === 2 ? h : undefined;
    }, 'every replica on the new config');

    // Revision 2 has the current template: there is nothing undo could restore.
    const skipped = await persys('rollout', 'undo', 'cs/cfg', '--to-revision', '2');
    expect(skipped.out).toContain('skipped rollback (current template already matches revision 2); it differs only in ConfigMap/Secret content');
    // The default goes past the config-only revision to the last other template, with today's config.
    expect((await persys('rollout', 'undo', 'cs/cfg')).out).toBe('containerset/cfg rolled back to revision 1\n');
    expect((await persys('rollout', 'status', 'cs/cfg', '--timeout', '60s')).code).toBe(0);
    const restored = await replicasOf('cfg');
    expect(restored.map((c) => c.spec.image)).toEqual(['cfg:1', 'cfg:1']);
    expect(await hashes()).toEqual(new Set(h2));
    const set = await api.client.get('ContainerSet', 'cfg', NS);
    expect(set.spec.template.metadata.annotations?.[CONFIG_HASH_ANNOTATION]).toBeUndefined();
    await waitFor(async () => /^4 \(current\)\s+\S+\s+cfg:1\s/m.test((await persys('rollout', 'history', 'cs/cfg')).out), 'revision 4 is cfg:1 with the new config');
    await api.client.delete('ContainerSet', 'cfg', NS);
  }, 120_000);

  it('refuses a kind other than a ContainerSet and an unknown verb', async () => {
    expect((await persys('rollout', 'status', 'container/x')).err).toContain('rollout works on ContainerSets');
    expect((await persys('rollout', 'pause', 'cs/web')).err).toContain('rollout needs one of status, history, undo, restart, got "pause"');
  });
});

describe('node maintenance', () => {
  it('cordon and uncordon toggle spec.unschedulable and say when there was nothing to do', async () => {
    expect((await persys('cordon', 'rollout-n2')).out).toBe('node/rollout-n2 cordoned\n');
    expect((await api.client.get('Node', 'rollout-n2')).spec.unschedulable).toBe(true);
    expect((await persys('cordon', 'rollout-n2')).out).toBe('node/rollout-n2 already cordoned\n');
    expect((await persys('uncordon', 'node/rollout-n2')).out).toBe('node/rollout-n2 uncordoned\n');
    expect((await api.client.get('Node', 'rollout-n2')).spec?.unschedulable ?? false).toBe(false);
  });

  it('drain moves a set off the node without dropping below replicas ready, and needs --force for unowned Containers', async () => {
    expect((await persys('apply', '--wait', '-f', manifest('spread', 'spread:1'))).code).toBe(0);
    await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: 'lonely', namespace: NS }, spec: { image: 'lonely:1', nodeName: 'rollout-n1' } });
    const onN1 = async () => (await replicasOf('spread')).filter((c) => c.spec.nodeName === 'rollout-n1');
    expect((await onN1()).length).toBeGreaterThan(0);

    const refused = await persys('drain', 'rollout-n1');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`cannot drain node/rollout-n1: Containers not managed by a ContainerSet (use --force to delete them): ${NS}/lonely`);
    expect((await api.client.get('Node', 'rollout-n1')).spec.unschedulable).toBe(true);

    let minReady = Infinity;
    const sampling = new AbortController();
    const sampler = (async () => {
      while (!sampling.signal.aborted) {
        const ready = (await replicasOf('spread')).filter((c) => c.status?.phase === 'Running').length;
        minReady = Math.min(minReady, ready);
        await sleep(50);
      }
    })();
    const drained = await persys('drain', 'rollout-n1', '--force', '--timeout', '60s');
    sampling.abort();
    await sampler;
    expect(drained.err).toBe('');
    expect(drained.code).toBe(0);
    expect(drained.out).toContain(`container/lonely deleted (${NS})`);
    expect(drained.out).toMatch(/evicting container\/spread-\S+ \(rollout-cli\)/);
    expect(drained.out.trimEnd().split('\n').at(-1)).toBe('node/rollout-n1 drained');
    expect(await onN1()).toEqual([]);
    const after = await replicasOf('spread');
    expect(after.map((c) => c.spec.nodeName)).toEqual(['rollout-n2', 'rollout-n2', 'rollout-n2']);
    // maxUnavailable 0: the set never had fewer than its 3 replicas running.
    expect(minReady).toBeGreaterThanOrEqual(3);
    await persys('uncordon', 'rollout-n1');
  }, 90_000);
});
