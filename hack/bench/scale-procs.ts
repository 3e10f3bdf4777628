// The processes bench:scale runs (`persys apiserver` ×2, `persys controllers`, `persys hollow-nodes`),
// each a child of this one with its log in a file, killed by pid at the end, and what /proc says of them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../e2e/harness/etcd.js';

const PERSYS = resolve(import.meta.dirname, '../../bin/persys.js');
/** Extra node flags for every persys process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (not allowed in NODE_OPTIONS). */
const NODE_FLAGS = (process.env.SCALE_NODE_FLAGS ?? '').split(' ').filter(Boolean);

export class ProcessStartError extends Error {
  override name = 'ProcessStartError';
}

/** One child process: its pid, its log, and a wait for a line of its output. */
export class Proc {
  readonly child: ChildProcess;
  private out = '';
  private readonly lineWaiters: { re: RegExp; resolve(line: string): void }[] = [];

  constructor(readonly name: string, args: string[], readonly logFile: string, env: NodeJS.ProcessEnv = {}) {
    const log = createWriteStream(logFile);
    this.child = spawn(process.execPath, [...NODE_FLAGS, PERSYS, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.child.once('error', (err) => log.write(`spawn error: ${String(err)}\n`));
    const onData = (d: Buffer) => {
      log.write(d);
      // Only the tail is kept in memory: lines are awaited only while a process starts.
      this.out = (this.out + d.toString()).slice(-8_000);
      for (const w of [...this.lineWaiters]) {
        const line = this.out.split('\n').find((l) => w.re.test(l));
        if (line) {
          this.lineWaiters.splice(this.lineWaiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.child.once('exit', () => log.end());
  }

  get pid(): number {
    return this.child.pid!;
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  tail(): string {
    return this.out.slice(-2_000);
  }

  /** Resolves with the first output line matching `re`; rejects when the process exits first or after `timeoutMs`. */
  waitForLine(re: RegExp, timeoutMs: number): Promise<string> {
    const already = this.out.split('\n').find((l) => re.test(l));
    if (already) return Promise.resolve(already);
    return new Promise((resolvePromise, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.child.off('exit', onExit);
        fn();
      };
      const waiter = { re, resolve: (line: string) => done(() => resolvePromise(line)) };
      const onExit = () => done(() => reject(new ProcessStartError(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${re}:\n${this.tail()}`)));
      const timer = setTimeout(() => {
        this.lineWaiters.splice(this.lineWaiters.indexOf(waiter), 1);
        done(() => reject(new ProcessStartError(`${this.name} did not print ${re} within ${timeoutMs / 1000} s:\n${this.tail()}`)));
      }, timeoutMs);
      this.lineWaiters.push(waiter);
      this.child.once('exit', onExit);
    });
  }

  /** SIGKILL, like a crash. */
  async kill(): Promise<void> {
    if (!this.alive()) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    process.kill(this.pid, 'SIGKILL');
    await exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.alive()) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    process.kill(this.pid, 'SIGTERM');
    const timer = setTimeout(() => this.alive() && process.kill(this.pid, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Runs a short `persys` command to its end; its stdout, or an error with its output. */
export function persysOnce(args: string[], timeoutMs = 60_000): string {
  const r = spawnSync(process.execPath, [PERSYS, ...args], { encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new ProcessStartError(`persys ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Polls an HTTP URL until it answers 200, the process dies, or `timeoutMs` passes. */
export async function waitHttpOk(p: Proc, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!p.alive()) throw new ProcessStartError(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before ${url} answered:\n${p.tail()}`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new ProcessStartError(`${url} of ${p.name} not ok within ${timeoutMs / 1000} s:\n${p.tail()}`);
    await sleep(200);
  }
}

export interface ApiServerProc {
  proc: Proc;
  /** host:port of the mTLS API. */
  server: string;
  joinServer: string;
  metrics: string;
}

/** `persys apiserver` against `etcdEndpoints`, its PKI in `dataDir/pki` (shared by every API server of the cluster). */
export async function startApiServerProc(name: string, etcdEndpoints: string[], dataDir: string, logDir: string, logLevel: string): Promise<ApiServerProc> {
  // The join port is the product default, the API port + 1: hollow nodes join through their own first server.
  const port = await freePortPair();
  const joinPort = port + 1;
  const metricsPort = await freePort();
  const server = `127.0.0.1:${port}`;
  const metrics = `127.0.0.1:${metricsPort}`;
  const proc = new Proc(name, [
    'apiserver',
    '--etcd-servers', etcdEndpoints.join(','),
    '--data-dir', dataDir,
    '--listen', server,
    '--join-listen', `127.0.0.1:${joinPort}`,
    '--metrics-listen', metrics,
    '--log-level', logLevel,
  ], join(logDir, `${name}.log`));
  await waitHttpOk(proc, `http://${metrics}/readyz`, 60_000);
  return { proc, server, joinServer: `127.0.0.1:${joinPort}`, metrics };
}

/** A free loopback port whose successor is free too. */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await freePort();
    if (port < 65535 && (await canListen(port + 1))) return port;
  }
  throw new ProcessStartError('found no two adjacent free loopback ports in 50 tries');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const srv = createServer();
    srv.once('error', () => resolvePromise(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolvePromise(true)));
  });
}

/** A gRPC target that dials the first address and fails over to the next ones (grpc-js's ipv4: resolver, pick_first). */
export function failoverTarget(servers: string[]): string {
  return `ipv4:${servers.join(',')}`;
}

/** Resident memory of a process in bytes (VmRSS), or undefined when it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Sum of a Prometheus counter's samples on a /metrics page (0 when absent); undefined when unreachable. */
export async function scrapeCounter(metricsAddress: string, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://${metricsAddress}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  } catch {
    return undefined;
  }
}
