// The reconcile contract on a fake clock: results and errors steer requeues, terminal errors stop
// retries, one key never runs twice at once, each reconcile logs with its key and an id, metrics count.
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/observability/logger.js';
import { Controller, type Reconciler } from './controller.js';
import { TerminalError } from './errors.js';
import { FakeClock } from '../../lib/queue/fake-clock.js';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

function start(reconcile: Reconciler, extra: { workers?: number; registry?: Registry; logger?: pino.Logger } = {}) {
  const clock = new FakeClock();
  const controller = new Controller({ name: 'test', reconcile, clock, logger: extra.logger ?? silentLogger(), ...extra });
  const abort = new AbortController();
  const done = controller.run(abort.signal);
  stops.push(async () => {
    abort.abort();
    await done;
  });
  return { controller, clock, abort, done };
}

describe('Controller', () => {
  it('retries a failing key with exponential back-off until it succeeds', async () => {
    const calls: number[] = [];
    const { controller, clock } = start(async () => {
      calls.push(clock.now());
      if (calls.length <= 3) throw new Error('docker engine unreachable');
    });
    controller.enqueue('default/web');
    await until(() => calls.length === 1);
    clock.advance(4);
    await settle();
    expect(calls).toHaveLength(1);
    clock.advance(1);
    await until(() => calls.length === 2);
    clock.advance(10);
    await until(() => calls.length === 3);
    clock.advance(20);
    await until(() => calls.length === 4);
    clock.advance(10_000);
    await settle();
    expect(calls.map((t) => t - calls[0]!)).toEqual([0, 5, 15, 35]);
  });

  it('reconciles again after requeueAfterMs and not before', async () => {
    let n = 0;
    const { controller, clock } = start(async () => (++n === 1 ? { requeueAfterMs: 30_000 } : undefined));
    controller.enqueue('default/job');
    await until(() => n === 1);
    clock.advance(29_999);
    await settle();
    expect(n).toBe(1);
    clock.advance(1);
    await until(() => n === 2);
    clock.advance(60_000);
    await settle();
    expect(n).toBe(2);
  });

  it('requeues with back-off when the result asks for requeue', async () => {
    let n = 0;
    const { controller, clock } = start(async () => (++n < 3 ? { requeue: true } : undefined));
    controller.enqueue('k');
    await until(() => n === 1);
    clock.advance(5);
    await until(() => n === 2);
    clock.advance(10);
    await until(() => n === 3);
  });

  it('retries a conflict (ABORTED) with back-off and counts it as a conflict, not an error', async () => {
    const registry = new Registry();
    let n = 0;
    const { controller, clock } = start(
      async () => {
        n++;
        if (n === 1) throw Object.assign(new Error('the object has been modified'), { code: 10 });
      },
      { registry },
    );
    controller.enqueue('default/busy');
    await until(() => n === 1);
    await settle();
    clock.advance(60_000);
    await until(() => n === 2);
    const text = await registry.metrics();
    expect(text).toContain('controller_runtime_reconcile_total{controller="test",result="conflict"} 1');
    expect(text).toContain('controller_runtime_reconcile_total{controller="test",result="success"} 1');
    expect(text).not.toContain('controller_runtime_reconcile_errors_total{controller="test"} 1');
  });

  it('does not retry a TerminalError and counts it', async () => {
    const registry = new Registry();
    let n = 0;
    const { controller, clock } = start(
      async () => {
        n++;
        throw new TerminalError('spec.image is not a valid reference');
      },
      { registry },
    );
    controller.enqueue('default/bad');
    await until(() => n === 1);
    await settle();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(3_600_000);
    await settle();
    expect(n).toBe(1);
    const text = await registry.metrics();
    expect(text).toContain('controller_runtime_reconcile_total{controller="test",result="error"} 1');
    expect(text).toContain('controller_runtime_reconcile_errors_total{controller="test"} 1');
    expect(text).toContain('controller_runtime_terminal_reconcile_errors_total{controller="test"} 1');
  });

  it('never reconciles one key concurrently, even with several workers, and runs a re-add afterwards', async () => {
    const running = new Map<string, number>();
    let overlap = false;
    const gates: (() => void)[] = [];
    const seen: string[] = [];
    const { controller } = start(
      async (key) => {
        const now = (running.get(key) ?? 0) + 1;
        running.set(key, now);
        if (now > 1) overlap = true;
        seen.push(key);
        await new Promise<void>((r) => gates.push(r));
        running.set(key, now - 1);
      },
      { workers: 4 },
    );
    controller.enqueue('a');
    controller.enqueue('b');
    await until(() => gates.length === 2);
    controller.enqueue('a');
    controller.enqueue('a');
    await settle();
    expect(gates).toHaveLength(2);
    gates.splice(0).forEach((g) => g());
    await until(() => gates.length === 1);
    gates.splice(0).forEach((g) => g());
    await settle();
    expect(overlap).toBe(false);
    expect(seen.sort()).toEqual(['a', 'a', 'b']);
  });

  it('gives each reconcile a logger with the controller, key and a fresh reconcile id', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    const ids: string[] = [];
    const { controller } = start(
      async (key, ctx) => {
        ids.push(ctx.reconcileId);
        ctx.log.info('reconciling');
      },
      { logger },
    );
    controller.enqueue('default/a');
    await until(() => ids.length === 1);
    controller.enqueue('default/a');
    await until(() => ids.length === 2);
    await until(() => lines.filter((l) => l.msg === 'reconciling').length === 2);
    const logged = lines.filter((l) => l.msg === 'reconciling');
    expect(logged.map((l) => [l.controller, l.key, l.reconcileID])).toEqual([
      ['test', 'default/a', ids[0]],
      ['test', 'default/a', ids[1]],
    ]);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('aborts the reconcile signal on stop and returns once in-flight reconciles finish', async () => {
    let observed: AbortSignal | undefined;
    let finished = false;
    const { controller, abort, done } = start(async (_key, ctx) => {
      observed = ctx.signal;
      await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
      finished = true;
    });
    controller.enqueue('k');
    await until(() => observed !== undefined);
    abort.abort();
    await done;
    expect(observed!.aborted).toBe(true);
    expect(finished).toBe(true);
    expect(controller.running).toBe(false);
  });
});
