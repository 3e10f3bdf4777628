// Starts a throwaway multi-member etcd cluster (separate processes, static bootstrap on loopback ports,
// fsync on as users run it) in a temp directory, for benchmarks that lose a member midway.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './etcd.js';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  pid(): number | undefined;
  alive(): boolean;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Every member's client URL, for --etcd-servers. */
  endpoints: string[];
  dir: string;
  /** SIGKILL one member, like a crash; the others keep quorum. */
  kill(index: number): Promise<void>;
  /** Stops every member still running and removes the data directories. */
  stop(): Promise<void>;
}

export class EtcdClusterStartError extends Error {
  override name = 'EtcdClusterStartError';
}

export interface EtcdClusterOptions {
  /** @default 3 */
  size?: number;
  /** Skip fsync: only for throwaway test data; benchmarks keep it on. @default false */
  unsafeNoFsync?: boolean;
  /** @default 60000 */
  startTimeoutMs?: number;
}

export async function startEtcdCluster(opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const size = opts.size ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'persys-etcd-cluster-'));
  const specs: { name: string; clientUrl: string; peerUrl: string }[] = [];
  for (let i = 0; i < size; i++) {
    specs.push({ name: `m${i}`, clientUrl: `http://127.0.0.1:${await freePort()}`, peerUrl: `http://127.0.0.1:${await freePort()}` });
  }
  const initialCluster = specs.map((s) => `${s.name}=${s.peerUrl}`).join(',');
  const children: ChildProcess[] = [];
  const tails: string[] = specs.map(() => '');
  for (const [i, s] of specs.entries()) {
    const child = spawn(process.env.ETCD_BIN ?? 'etcd', [
      '--name', s.name,
      '--data-dir', join(dir, s.name),
      '--listen-client-urls', s.clientUrl,
      '--advertise-client-urls', s.clientUrl,
      '--listen-peer-urls', s.peerUrl,
      '--initial-advertise-peer-urls', s.peerUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `persys-bench-${process.pid}`,
      '--log-level', 'error',
      '--experimental-watch-progress-notify-interval', '2s',
      ...(opts.unsafeNoFsync ? ['--unsafe-no-fsync'] : []),
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    // etcd 3.4 logs raft chatter whatever --log-level says: keep only the tail for error messages.
    child.stderr!.on('data', (d: Buffer) => (tails[i] = (tails[i] + d.toString()).slice(-2000)));
    child.once('error', () => undefined);
    children.push(child);
  }
  const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
  const stopAll = async () => {
    await Promise.all(
      children.map(async (c) => {
        if (!alive(c)) return;
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };

  // /health answers ok only once the member sees a leader, i.e. once the cluster has quorum.
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (const [i, s] of specs.entries()) {
    for (;;) {
      if (!alive(children[i]!)) {
        await stopAll();
        throw new EtcdClusterStartError(`etcd member ${s.name} exited before it was healthy:\n${tails[i]}`);
      }
      try {
        if ((await fetch(`${s.clientUrl}/health`)).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stopAll();
        throw new EtcdClusterStartError(`etcd member ${s.name} not healthy in time:\n${tails[i]}`);
      }
      await sleep(100);
    }
  }

  const members: EtcdMember[] = specs.map((s, i) => ({ ...s, pid: () => children[i]!.pid, alive: () => alive(children[i]!) }));
  return {
    members,
    endpoints: specs.map((s) => s.clientUrl),
    dir,
    async kill(index) {
      const c = children[index];
      if (!c || !alive(c)) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    },
    stop: stopAll,
  };
}
