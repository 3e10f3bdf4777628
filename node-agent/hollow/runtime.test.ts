// HollowRuntime: containers start after the delay, fail or exit at the chosen rate, emit the events the
// agent listens to; and the real NodeAgent drives it to Running and back to nothing.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { NodeAgent } from '../agent.js';
import type { DockerEvent } from '../docker/events.js';
import { LABEL_KIND, LABEL_NAME, LABEL_NAMESPACE, LABEL_NODE, LABEL_UID } from '../docker/labels.js';
import { engineStatus } from '../../lib/docker/engine-guard.js';
import { HollowRuntime } from './runtime.js';

const NODE = 'hollow-0000';
const runtimes: HollowRuntime[] = [];
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  for (const r of runtimes.splice(0)) r.close();
});

function runtime(opts: Partial<ConstructorParameters<typeof HollowRuntime>[0]> = {}): HollowRuntime {
  const r = new HollowRuntime({ node: NODE, startDelayMs: 20, ...opts });
  runtimes.push(r);
  return r;
}

const createOpts = (name: string, uid = randomUUID()) => ({
  name,
  Image: 'persys/busybox:test',
  Labels: { [LABEL_UID]: uid, [LABEL_KIND]: 'Container', [LABEL_NAMESPACE]: 'ns', [LABEL_NAME]: name, [LABEL_NODE]: NODE },
});

/** Collects events until the returned stop() is called. */
function collect(r: HollowRuntime): { events: DockerEvent[]; stop: () => void } {
  const abort = new AbortController();
  const events: DockerEvent[] = [];
  void (async () => {
    for await (const ev of r.events({ signal: abort.signal })) events.push(ev);
  })();
  return { events, stop: () => abort.abort() };
}

describe('HollowRuntime', () => {
  it('creates a container, runs it after the start delay, and emits create and start with its labels', async () => {
    const r = runtime({ startDelayMs: 50, jitter: 0 });
    const feed = collect(r);
    const id = await r.create(createOpts('web'));
    expect((await r.inspectManaged(id))?.state).toBe('created');
    const before = Date.now();
    await r.startCreated(id);
    expect(Date.now() - before).toBeGreaterThanOrEqual(45);
    expect(await r.inspectManaged(id)).toMatchObject({ state: 'running', kind: 'Container', namespace: 'ns', name: 'web', node: NODE });
    expect(await r.listSummaries()).toEqual([{ id, uid: expect.any(String), node: NODE, state: 'running', exitCode: undefined }]);
    await vi.waitFor(() => expect(feed.events.map((e) => e.Action)).toEqual(['create', 'start']));
    expect(feed.events[1]!.Actor).toMatchObject({ ID: id, Attributes: { [LABEL_NODE]: NODE, [LABEL_NAME]: 'web' } });
    feed.stop();
  });

  it('refuses a container without the uid label and a name already in use (409)', async () => {
    const r = runtime();
    await expect(r.create({ name: 'x', Image: 'i' })).rejects.toThrow(/without a dev.persys.uid label/);
    await r.create(createOpts('dup'));
    const err = await r.create(createOpts('dup')).catch((e: unknown) => e);
    expect(engineStatus(err)).toBe(409);
  });

  it('fails half of the chosen starts at once (500) and lets the other half exit with code 1 later', async () => {
    // Rolls: the jitter roll, then the failure roll.
    const rolls = [0.5, 0.1, 0.5, 0.9, 0.5];
    const r = runtime({ failureRate: 1, random: () => rolls.shift() ?? 0.5 });
    const refused = await r.create(createOpts('refused'));
    const err = await r.startCreated(refused).catch((e: unknown) => e);
    expect(engineStatus(err)).toBe(500);
    expect((await r.inspectManaged(refused))?.state).toBe('created');

    const feed = collect(r);
    const crashing = await r.create(createOpts('crashing'));
    await r.startCreated(crashing);
    expect((await r.inspectManaged(crashing))?.state).toBe('running');
    await vi.waitFor(async () => expect(await r.inspectManaged(crashing)).toMatchObject({ state: 'exited', exitCode: 1 }), { timeout: 2_000 });
    expect(feed.events.map((e) => e.Action)).toContain('die');
    expect(await r.listSummaries()).toContainEqual(expect.objectContaining({ id: crashing, state: 'exited', exitCode: 1 }));
    feed.stop();
  });

  it('never fails at failure rate 0, whatever the rolls', async () => {
    const r = runtime({ failureRate: 0, random: () => 0 });
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => r.create(createOpts(`c${i}`))));
    await Promise.all(ids.map((id) => r.startCreated(id)));
    expect(r.counts()).toEqual({ total: 20, running: 20 });
  });

  it('removes a container with a destroy event; removing one already gone is no error; inspect of it is 404', async () => {
    const r = runtime();
    const feed = collect(r);
    const id = await r.create(createOpts('gone'));
    await r.remove(id);
    await r.remove(id);
    expect(await r.inspectManaged(id)).toBeUndefined();
    expect(engineStatus(await r.inspect(id).catch((e: unknown) => e))).toBe(404);
    await vi.waitFor(() => expect(feed.events.map((e) => e.Action)).toEqual(['create', 'destroy']));
    // The name is free again.
    await expect(r.create(createOpts('gone'))).resolves.toMatch(/^[0-9a-f]{64}$/);
    feed.stop();
  });

  it('has every image (pulls succeed), and says logs and exec are not supported on a hollow node', async () => {
    const r = runtime();
    expect(await r.imageInfo('anything:1')).toMatchObject({ id: expect.stringMatching(/^sha256:/) });
    await expect(r.pullImage('anything:1')).resolves.toBeUndefined();
    await expect(r.logs()).rejects.toThrow(/not supported on a hollow node/);
    await expect(r.exec()).rejects.toThrow(/not supported on a hollow node/);
  });

  it('fakes an interactive exec: standard input echoed on stdout, `stty size` answered on a TTY, exit 0 on stdin close', async () => {
    const r = runtime();
    const id = await r.create(createOpts('shell'));
    const session = await r.startExec(id, ['sh'], { stdin: true, tty: true, size: { width: 80, height: 24 } });
    const out: string[] = [];
    session.output.on('data', (c: { data: Buffer }) => out.push(c.data.toString()));
    session.stdin!.write('hi\n');
    session.stdin!.write('stty size\n');
    await session.resize({ width: 132, height: 50 });
    session.stdin!.end('stty size\n');
    await new Promise((done) => session.output.once('end', done));
    expect(out.join('')).toBe('hi\n24 80\r\n50 132\r\n');
    expect(await session.exitCode()).toBe(0);
  });

  it('ends its event streams on close', async () => {
    const r = runtime();
    const ended = (async () => {
      for await (const _ of r.events()) void _;
      return 'ended';
    })();
    r.close();
    expect(await ended).toBe('ended');
  });
});

describe('NodeAgent over HollowRuntime', () => {
  it('runs desired Containers, reports them Running, and removes them once no longer desired', async () => {
    const r = runtime({ startDelayMs: 10 });
    const volumesDir = join(tmpdir(), `persys-hollow-test-${randomUUID()}`);
    const agent = new NodeAgent({ node: NODE, runtime: r, resyncIntervalMs: 500, volumesDir });
    stops.push(async () => {
      await agent.stop();
      rmSync(volumesDir, { recursive: true, force: true });
    });
    const reports: Resource[] = [];
    agent.attach((objs) => reports.push(...objs));
    agent.start();
    const desired: Resource[] = Array.from({ length: 30 }, (_, i) => ({
      apiVersion: 'persys.dev/v1',
      kind: 'Container',
      metadata: { name: `c${i}`, namespace: 'ns', uid: randomUUID(), generation: 1 },
      spec: { image: 'persys/busybox:test', nodeName: NODE },
    }));
    agent.setDesired(desired);
    await vi.waitFor(
      () => {
        const running = new Set(reports.filter((o) => o.status?.phase === 'Running').map((o) => o.metadata.uid));
        expect(running.size).toBe(30);
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(r.counts()).toEqual({ total: 30, running: 30 });
    // A node controller marked one Unknown while the node was out of touch: the agent reports the truth again.
    const before = reports.length;
    agent.applyChange('UPSERT', { ...desired[0]!, status: { phase: 'Unknown', reason: 'NodeLost' } });
    await vi.waitFor(
      () => expect(reports.slice(before).some((o) => o.metadata.uid === desired[0]!.metadata.uid && o.status?.phase === 'Running')).toBe(true),
      { timeout: 10_000, interval: 50 },
    );
    agent.setDesired(desired.slice(10));
    await vi.waitFor(() => expect(r.counts()).toEqual({ total: 20, running: 20 }), { timeout: 10_000, interval: 50 });
  });
});
