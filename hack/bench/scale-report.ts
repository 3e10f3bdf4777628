// bench:scale's report: the figures of one run as JSON (for the README) and as a plain table on stdout.
import { fmt, summarize, type Summary } from './stats.js';
import { SLOS, sloBreaches, type Slos } from './scale-plan.js';
import type { ProbeKind, ProbeSample } from './scale-observe.js';

export interface StepReport {
  round: number;
  rate: number;
  replicas: number;
  sets: number;
  /** Replicas / seconds from the step's first create until all its Containers were Running. */
  achieved: number;
  seconds: number;
  killedHere: boolean;
  /** The run stopped during this step: replicas and achieved count only the Containers that ran. */
  partial: boolean;
  startupFromCreation: Summary;
  startupFromSeen: Summary;
  api: Record<ProbeKind, Summary & { errors: number }>;
  broken: string[];
  unmeasured: string[];
}

export interface ScaleReport {
  options: Record<string, unknown>;
  startedAt: string;
  machine: { cpus: number; memGiB: number };
  setup: Record<string, number>;
  steps: StepReport[];
  highestRateWithinSlos?: { asked: number; achieved: number };
  kill?: { atMs: number; etcdMember: string; etcdWasLeader: boolean; apiServer: string; atReplicas: number };
  rounds: {
    round: number;
    createSeconds?: number;
    rolloutReplicas?: number;
    rolloutSets?: number;
    rolloutSeconds?: number;
    rolloutStartup?: Summary;
    deleteSeconds?: number;
    verifyAfterCreate?: string[];
    verifyAfterRollout?: string[];
  }[];
  /** Taken when every Container of round 1 ran, or when the run stopped (see snapshotAtRunning). */
  rssAtFullMiB: Record<string, number | undefined>;
  snapshotAtRunning?: number;
  rssPeakMiB: Record<string, number | undefined>;
  /** CPU seconds per process over the create phase of round 1 (a process killed midway: until then). */
  cpuSecondsCreate: Record<string, number | undefined>;
  createWallSeconds?: number;
  etcdDbSizeMiB: Record<string, number | undefined>;
  clusterListAtFull?: { ms: number; items: number };
  informerRelists?: number;
  falseNotReady: { count: number; first: { node: string; atMs: number; status: string }[] };
  idleWritesBeforeLoad?: { windowSeconds: number; revisions: number; perHour: number; leaseRenewalsPerHour: number; otherPerHour: number };
  idleWrites?: { windowSeconds: number; revisions: number; perHour: number; leaseRenewalsPerHour: number; otherPerHour: number };
  errors: string[];
  verdict: string;
}

/** Probe latencies of one kind in a time window, and how many calls failed there. */
export function apiSummary(samples: readonly ProbeSample[], fromMs: number, toMs: number): Record<ProbeKind, Summary & { errors: number }> {
  const kinds: ProbeKind[] = ['mutating', 'get', 'namespaceList', 'clusterList'];
  const inWindow = samples.filter((s) => s.atMs >= fromMs && s.atMs < toMs);
  return Object.fromEntries(
    kinds.map((k) => {
      const of = inWindow.filter((s) => s.kind === k);
      return [k, { ...summarize(of.filter((s) => s.ok).map((s) => s.ms)), errors: of.filter((s) => !s.ok).length }];
    }),
  ) as Record<ProbeKind, Summary & { errors: number }>;
}

/** The SLO figures of a step: startup from creationTimestamp and the probe's p99s. */
export function stepSlos(startup: Summary, api: Record<ProbeKind, Summary>): { broken: string[]; unmeasured: string[] } {
  const measured: Partial<Slos> = {
    startupP99Ms: startup.p99,
    mutatingP99Ms: api.mutating.p99,
    getP99Ms: api.get.p99,
    namespaceListP99Ms: api.namespaceList.p99,
    clusterListP99Ms: api.clusterList.p99,
  };
  return sloBreaches(measured, SLOS);
}

export const mib = (b: number | undefined) => (b === undefined ? undefined : Math.round(b / 1048576));
export const mib1 = (b: number | undefined) => (b === undefined ? undefined : Math.round(b / 104857.6) / 10);

export function printReport(r: ScaleReport, print: (line: string) => void = console.log): void {
  const row = (cells: (string | number)[], widths: number[]) => cells.map((c, i) => String(c).padEnd(widths[i] ?? 10)).join(' ');
  print('');
  print(`bench:scale  ${JSON.stringify(r.options)}`);
  print(`machine: ${r.machine.cpus} cores, ${r.machine.memGiB} GiB; setup (s): ${Object.entries(r.setup).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  print('');
  print('create steps (SLO: startup p99 < 5000 ms, mutating/get p99 < 1000 ms, namespace list p99 < 5000 ms, all-Container list < 30000 ms)');
  print('startup in ms: crt = creationTimestamp → watch sees Running (whole-second timestamps: up to 1 s too long); seen = watch sees it → sees it Running');
  const w = [5, 7, 8, 9, 7, 22, 22, 10, 10, 12, 12, 6, 30];
  print(row(['round', 'asked/s', 'replicas', 'achieved', 'secs', 'startup p50/p99 (crt)', 'startup p50/p99 (seen)', 'mut p99', 'get p99', 'nsList p99', 'allList p99', 'errs', 'broken SLOs'], w));
  for (const s of r.steps) {
    const errs = Object.values(s.api).reduce((a, k) => a + k.errors, 0);
    print(
      row(
        [
          s.round,
          s.rate,
          s.replicas,
          fmt(s.achieved),
          fmt(s.seconds),
          `${fmt(s.startupFromCreation.p50, 0)}/${fmt(s.startupFromCreation.p99, 0)}`,
          `${fmt(s.startupFromSeen.p50, 0)}/${fmt(s.startupFromSeen.p99, 0)}`,
          fmt(s.api.mutating.p99, 0),
          fmt(s.api.get.p99, 0),
          fmt(s.api.namespaceList.p99, 0),
          fmt(s.api.clusterList.p99, 0),
          errs,
          `${s.broken.join(',') || '-'}${s.killedHere ? ' [kill -9 here]' : ''}${s.partial ? ' [stopped here]' : ''}`,
        ],
        w,
      ),
    );
  }
  const h = r.highestRateWithinSlos;
  print(`highest rate that kept every measured SLO: ${h ? `${h.asked}/s asked, ${fmt(h.achieved)}/s achieved` : 'none'}`);
  if (r.kill) print(`kill -9 at ${r.kill.atReplicas} replicas: etcd ${r.kill.etcdMember}${r.kill.etcdWasLeader ? ' (leader)' : ''} and ${r.kill.apiServer}`);
  for (const rd of r.rounds) {
    print(
      `round ${rd.round}: create ${fmt(rd.createSeconds ?? NaN)} s; rollout of ${rd.rolloutReplicas ?? '?'} replicas in ${rd.rolloutSets ?? '?'} sets ` +
        `${fmt(rd.rolloutSeconds ?? NaN)} s (startup p99 ${fmt(rd.rolloutStartup?.p99 ?? NaN, 0)} ms); delete everything ${fmt(rd.deleteSeconds ?? NaN)} s`,
    );
    print(`  after create: ${rd.verifyAfterCreate === undefined ? 'not checked' : rd.verifyAfterCreate.length ? rd.verifyAfterCreate.slice(0, 10).join('; ') : 'OK'}`);
    print(`  after rollout: ${rd.verifyAfterRollout === undefined ? 'not checked' : rd.verifyAfterRollout.length ? rd.verifyAfterRollout.slice(0, 10).join('; ') : 'OK'}`);
  }
  const fmtMap = (m: Record<string, number | undefined>, unit: string) => Object.entries(m).map(([k, v]) => `${k} ${v === undefined ? 'gone' : fmt(v, unit === 's' ? 1 : 0)}`).join(', ');
  print(`RSS at ${r.snapshotAtRunning ?? '?'} Running Containers (MiB; SLO ≤ 1024 per API server and controllers): ${fmtMap(r.rssAtFullMiB, 'MiB')}`);
  print(`RSS peak (MiB): ${fmtMap(r.rssPeakMiB, 'MiB')}`);
  const wall = r.createWallSeconds ?? NaN;
  print(
    `CPU during the create phase (${fmt(wall)} s wall; % of one core, 100% = a saturated Node process): ` +
      Object.entries(r.cpuSecondsCreate).map(([k, v]) => `${k} ${fmt(v ?? NaN)} s (${fmt(((v ?? NaN) / wall) * 100, 0)}%)`).join(', '),
  );
  print(`etcd DB size at ${r.snapshotAtRunning ?? '?'} Running Containers (MiB): ${Object.entries(r.etcdDbSizeMiB).map(([k, v]) => `${k} ${v ?? 'gone'}`).join(', ')}`);
  if (r.clusterListAtFull) print(`list of all ${r.clusterListAtFull.items} Containers at full load, pages of 500: ${r.clusterListAtFull.ms} ms`);
  print(`informer re-lists in the controllers: ${r.informerRelists ?? 'unknown'} (target 0)`);
  print(`false NotReady nodes: ${r.falseNotReady.count} (target 0)${r.falseNotReady.first.length ? `: ${r.falseNotReady.first.map((n) => `${n.node}→${n.status}`).join(', ')}` : ''}`);
  for (const [when, iw] of [['before the load', r.idleWritesBeforeLoad], ['after the load', r.idleWrites]] as const) {
    if (!iw) continue;
    print(
      `idle writes ${when}: ${iw.revisions} revisions in ${iw.windowSeconds} s = ${Math.round(iw.perHour)}/h; ` +
        `node Lease renewals expected ${Math.round(iw.leaseRenewalsPerHour)}/h; the rest ${Math.round(iw.otherPerHour)}/h (target ≤ 1000)`,
    );
  }
  for (const e of r.errors) print(`error: ${e}`);
  print(r.verdict);
}
