// Runs an etcd server as a child process (for `persys up` and the test harness): waits until it is
// healthy, optionally restarts it with back-off when it dies, and stops it cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';

export interface EtcdProcessOptions {
  dataDir: string;
  /** e.g. http://127.0.0.1:23790 */
  clientUrl: string;
  peerUrl: string;
  /** Restart etcd when it exits unexpectedly. @default false */
  supervise?: boolean;
  /** Skip fsync: only for throwaway test data. @default false */
  unsafeNoFsync?: boolean;
  binary?: string;
  logger?: Logger;
}

export interface EtcdProcess {
  endpoint: string;
  pid(): number | undefined;
  stop(): Promise<void>;
}

export class EtcdStartError extends Error {
  override name = 'EtcdStartError';
}

async function waitHealthy(endpoint: string, child: ChildProcess, timeoutMs: number, tail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new EtcdStartError(`etcd exited (${child.exitCode ?? child.signalCode}) before it was healthy:\n${tail()}`);
    }
    try {
      if ((await fetch(`${endpoint}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new EtcdStartError(`etcd at ${endpoint} not healthy after ${timeoutMs} ms:\n${tail()}`);
}

export async function startEtcdProcess(opts: EtcdProcessOptions): Promise<EtcdProcess> {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const args = [
    '--name', 'persys',
    '--data-dir', opts.dataDir,
    '--listen-client-urls', opts.clientUrl,
    '--advertise-client-urls', opts.clientUrl,
    '--listen-peer-urls', opts.peerUrl,
    '--initial-advertise-peer-urls', opts.peerUrl,
    '--initial-cluster', `persys=${opts.peerUrl}`,
    '--log-level', 'error',
    // Watch caches of quiet kinds learn the current revision from these (kube-apiserver relies on them too).
    '--experimental-watch-progress-notify-interval', '2s',
    ...(opts.unsafeNoFsync ? ['--unsafe-no-fsync'] : []),
  ];
  let child: ChildProcess;
  let stopping = false;
  let tail = '';
  let restarts = 0;

  const launch = async (): Promise<void> => {
    child = spawn(opts.binary ?? process.env.ETCD_BIN ?? 'etcd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    // etcd 3.4 logs raft chatter whatever --log-level says: keep only the tail for error messages.
    child.stderr!.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-4000)));
    child.once('error', (err) => opts.logger?.error({ err }, 'etcd could not be started'));
    await waitHealthy(opts.clientUrl, child, 30_000, () => tail);
    child.once('exit', (code, signal) => {
      if (stopping || !opts.supervise) return;
      const delay = Math.min(30_000, 1_000 * 2 ** Math.min(restarts++, 5));
      opts.logger?.warn({ code, signal, restartInMs: delay }, 'etcd exited: restarting');
      setTimeout(() => {
        if (!stopping) launch().then(() => (restarts = 0)).catch((err) => opts.logger?.error({ err }, 'etcd restart failed'));
      }, delay);
    });
  };
  await launch();
  opts.logger?.info({ endpoint: opts.clientUrl, dataDir: opts.dataDir }, 'etcd is healthy');

  return {
    endpoint: opts.clientUrl,
    pid: () => child.pid,
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
