// The monitoring manifests (manifests/monitoring/): the alert rules pass `promtool check rules` and their
// unit tests, every metric the rules and the dashboard query is one persys exports, and every metric persys
// exports follows the naming convention (Kubernetes' names where persys mirrors them, persys_* otherwise).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createRegistry } from '../lib/observability/metrics.js';

const ROOT = resolve(import.meta.dirname, '..');
const MONITORING = join(ROOT, 'manifests/monitoring');
const RULES = join(MONITORING, 'persys-alerts.yaml');
const DASHBOARD = join(MONITORING, 'persys-dashboard.json');

/** Prefixes of the metrics that keep the name of the Kubernetes component they mirror. */
const KUBERNETES_PREFIXES = ['apiserver_', 'etcd_', 'workqueue_', 'controller_runtime_', 'leader_election_'];
/** Node's process metrics from prom-client's collectDefaultMetrics. */
const PROCESS_PREFIXES = ['process_', 'nodejs_'];

/** Runs promtool; fails (never skips) when it is not installed. */
function promtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: MONITORING, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool not found (Debian package prometheus; hack/install.sh installs it): ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'gen' ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/**
 * Every metric name persys defines: the snake_case `name: '…'` literals of the source files that make
 * prom-client metrics (other things named there, such as readiness checks, are single words), and the process
 * metrics every registry carries.
 */
async function exportedMetricNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const dir of ['lib', 'apiserver', 'controllers', 'node-agent', 'cmd']) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      const text = readFileSync(file, 'utf8');
      if (!/^import \{[^}]*\b(?:Counter|Gauge|Histogram|Summary)\b[^}]*\} from 'prom-client'/m.test(text)) continue;
      for (const [, name] of text.matchAll(/\bname:\s*'([a-z][a-z0-9]*(?:_[a-z0-9]+)+)'/g)) names.add(name!);
    }
  }
  for (const m of await createRegistry().getMetricsAsJSON()) names.add(m.name);
  return names;
}

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads (label names, functions and keywords left out). */
export function metricsInExpr(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\w+/g, ' ');
  const names = [...bare.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)].map((m) => m[1]!);
  return [...new Set(names.filter((n) => !PROMQL_WORDS.has(n.toLowerCase())))];
}

function ruleExprs(): string[] {
  const doc = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

function dashboardExprs(): string[] {
  interface Panel {
    targets?: { expr: string }[];
    panels?: Panel[];
  }
  const walk = (panels: Panel[]): string[] => panels.flatMap((p) => [...(p.targets ?? []).map((t) => t.expr), ...walk(p.panels ?? [])]);
  return walk((JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] }).panels);
}

/** A queried name is exported when it is a metric, or a histogram's _bucket, _sum or _count series. */
const isExported = (names: Set<string>, name: string) => names.has(name) || names.has(name.replace(/_(?:bucket|sum|count)$/, ''));

describe('metric names in PromQL', () => {
  it.each([
    ['histogram_quantile(0.99, sum by (le, verb) (rate(apiserver_request_duration_seconds_bucket{verb!="watch"}[5m]))) > 1', ['apiserver_request_duration_seconds_bucket']],
    ['count(max by (node) (persys_node_ready) == 1) or vector(0)', ['persys_node_ready']],
    ['sum(rate(a_total{job=~"x|y"}[$__rate_interval])) / on (instance) group_left (version) b_info', ['a_total', 'b_info']],
  ])('reads the metrics of %s', (expr, names) => {
    expect(metricsInExpr(expr)).toEqual(names);
  });
});

describe('monitoring manifests', () => {
  it('passes promtool check rules', () => {
    const r = promtool(['check', 'rules', RULES]);
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  });

  it('passes the alerts unit tests (promtool test rules)', () => {
    const r = promtool(['test', 'rules', 'persys-alerts.test.yaml']);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  it('covers the alerts operators need', () => {
    const doc = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: { alert: string }[] }[] };
    expect(doc.groups.flatMap((g) => g.rules.map((r) => r.alert))).toEqual(
      expect.arrayContaining([
        'PersysNodeNotReady',
        'PersysControllersWithoutLeader',
        'PersysApiServerSlow',
        'PersysEtcdErrors',
        'PersysDockerCircuitBreakerOpen',
        'PersysEtcdMemberUnreachable',
        'PersysWatchersFallingBehind',
        'PersysInformersRelisting',
      ]),
    );
  });

  it('queries only metrics persys exports, in the rules and in the dashboard', async () => {
    const names = await exportedMetricNames();
    expect(names).toContain('apiserver_request_total');
    expect(names).toContain('persys_agent_docker_breaker_state');
    for (const [what, exprs] of [['rules', ruleExprs()], ['dashboard', dashboardExprs()]] as const) {
      expect(exprs.length, what).toBeGreaterThan(5);
      const unknown = exprs.flatMap(metricsInExpr).filter((n) => !isExported(names, n));
      expect(unknown, `${what} query metrics no persys process exports`).toEqual([]);
    }
  });

  it('names every metric persys defines persys_*, unless it keeps a Kubernetes name', async () => {
    const names = [...(await exportedMetricNames())];
    expect(names.length).toBeGreaterThan(40);
    const allowed = ['persys_', ...KUBERNETES_PREFIXES, ...PROCESS_PREFIXES];
    expect(names.filter((n) => !allowed.some((p) => n.startsWith(p)))).toEqual([]);
  });
});
