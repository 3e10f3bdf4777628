// Starts a throwaway etcd server in a temp directory on free loopback ports, for tests and benchmarks.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcdProcess, type EtcdProcess } from '../../apiserver/etcd/process.js';

export interface EtcdInstance {
  endpoint: string;
  dataDir: string;
  pid(): number | undefined;
  /** SIGKILL, like a crash; `restart()` brings it back on the same data and ports. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Lowest port the kernel hands out for outgoing connections and `listen(0)`. A port found free in
 * that range can be taken as a connection's source port before the server that asked for it binds
 * (CI lost an etcd to that once), so `freePort` picks below it.
 */
const EPHEMERAL_LOW = (() => {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 ? low : 32768;
  } catch {
    return 32768;
  }
})();

const PORT_FLOOR = 20_000;

/** Binds `port` on loopback (0: one the kernel picks) and lets it go: the port bound, or undefined if taken. */
function bindAndRelease(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const bound = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(bound));
    });
  });
}

/**
 * A loopback port nothing listens on, outside the kernel's ephemeral range so that no outgoing
 * connection takes it in the meantime. Test processes pick at random, so two rarely pick the same.
 */
export async function freePort(): Promise<number> {
  const span = EPHEMERAL_LOW - PORT_FLOOR;
  for (let attempt = 0; span >= 1000 && attempt < 50; attempt++) {
    const port = await bindAndRelease(PORT_FLOOR + Math.floor(Math.random() * span));
    if (port !== undefined) return port;
  }
  const port = await bindAndRelease(0);
  if (port === undefined) throw new Error('no free loopback port');
  return port;
}

export interface StartEtcdOptions {
  /**
   * fsync every commit, as users run etcd. Benchmarks must (their figures include the disk); tests
   * skip it for speed. @default false
   */
  fsync?: boolean;
}

export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdInstance> {
  const dataDir = mkdtempSync(join(tmpdir(), 'persys-etcd-'));
  const options = { dataDir, clientUrl: '', peerUrl: '', unsafeNoFsync: !opts.fsync };
  let started: EtcdProcess | undefined;
  // Another test process may bind a port between our check and etcd's bind: pick new ones then.
  for (let attempt = 1; !started; attempt++) {
    options.clientUrl = `http://127.0.0.1:${await freePort()}`;
    options.peerUrl = `http://127.0.0.1:${await freePort()}`;
    try {
      started = await startEtcdProcess(options);
    } catch (err) {
      // etcd binds before it writes anything, but start the next attempt on an empty directory anyway.
      rmSync(dataDir, { recursive: true, force: true });
      if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
    }
  }
  let etcd = started;
  return {
    endpoint: etcd.endpoint,
    dataDir,
    pid: () => etcd.pid(),
    async kill() {
      const pid = etcd.pid();
      if (pid === undefined) return;
      process.kill(pid, 'SIGKILL');
      while (existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z')) {
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async restart() {
      etcd = await startEtcdProcess(options);
    },
    async stop() {
      await etcd.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
