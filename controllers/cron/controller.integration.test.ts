// The cron controller against a real API server (no Docker: the test marks runs finished): runs are
// created on a seconds schedule under deterministic names, history is trimmed, status follows, and a
// second controller started over the same state never creates a time twice.
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { SCHEDULED_TIME_LABEL } from '../../lib/cron/run-name.js';
import { silentLogger } from '../../lib/observability/logger.js';
import { startTestApiServer, type TestApiServer } from '../../e2e/harness/apiserver.js';
import { waitFor } from '../../e2e/harness/wait.js';
import { runControllers, type RunningControllers } from '../runtime/manager.js';
import { newCronController } from './controller.js';

let api: TestApiServer;
const NS = 'default';
const fast = (ms: number, signal: AbortSignal) => sleep(Math.min(ms, 50), undefined, { signal }).catch(() => undefined);

async function startController(): Promise<RunningControllers> {
  const registry = new Registry();
  const set = newCronController({ client: api.client, logger: silentLogger(), registry, informerDelay: fast });
  return runControllers({ ...set, registry, logger: silentLogger() });
}

const runsOf = async (cj: string) =>
  (await api.client.list('Container', { namespace: NS })).items.filter((c) => c.metadata.ownerReferences?.some((r) => r.kind === 'CronJob' && r.name === cj));

// Stands in for the agents: every run finishes successfully as soon as it exists.
async function finishRuns(cj: string): Promise<void> {
  for (const c of await runsOf(cj)) {
    if (c.status?.phase === 'Succeeded') continue;
    await api.client.updateStatus({ ...c, status: { phase: 'Succeeded', exitCode: 0, finishedAt: new Date().toISOString() } }).catch(() => undefined);
  }
}

function cronJob(name: string, extra: Record<string, unknown> = {}): Resource {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'CronJob',
    metadata: { name, namespace: NS },
    spec: { schedule: '*/2 * * * * *', jobTemplate: { spec: { image: 'persys/busybox:test', restartPolicy: 'Never' } }, ...extra },
  };
}

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
});
afterAll(async () => api?.stop());

describe('cron controller', () => {
  it('creates one deterministically named run per scheduled time, trims history and keeps status', async () => {
    const running = await startController();
    try {
      await api.client.create(cronJob('tick', { successfulJobsHistoryLimit: 2 }));
      const seen = new Set<string>();
      await waitFor(async () => {
        await finishRuns('tick');
        for (const r of await runsOf('tick')) seen.add(r.metadata.name!);
        return seen.size >= 4;
      }, 'four runs', 30_000);
      for (const name of seen) expect(name).toMatch(/^tick-\d{10}$/);
      // Every run sits on an even second: the schedule's times, not the controller's.
      for (const r of await runsOf('tick')) expect(Number(r.metadata.labels![SCHEDULED_TIME_LABEL]) % 2).toBe(0);
      await waitFor(async () => {
        await finishRuns('tick');
        return (await runsOf('tick')).length <= 2;
      }, 'history trimmed to 2', 20_000);
      const status = (await api.client.get('CronJob', 'tick', NS)).status;
      expect(status.lastScheduleTime).toBeTruthy();
      expect(Date.parse(status.nextScheduleTime)).toBeGreaterThan(Date.parse(status.lastScheduleTime));
    } finally {
      await running.stop();
      await api.client.delete('CronJob', 'tick', NS);
    }
  }, 60_000);

  it('two controllers acting at once never create the same time twice', async () => {
    const a = await startController();
    const b = await startController();
    try {
      await api.client.create(cronJob('twice', { successfulJobsHistoryLimit: 100 }));
      await sleep(7_000);
      const runs = await runsOf('twice');
      const times = runs.map((r) => r.metadata.labels![SCHEDULED_TIME_LABEL]);
      expect(runs.length).toBeGreaterThanOrEqual(2);
      expect(new Set(times).size).toBe(times.length);
    } finally {
      await a.stop();
      await b.stop();
      await api.client.delete('CronJob', 'twice', NS);
    }
  }, 60_000);
});
