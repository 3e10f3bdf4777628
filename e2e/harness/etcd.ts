// Starts a throwaway etcd server in a temp directory on free loopback ports, for tests and benchmarks.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcdProcess } from '../../apiserver/etcd/process.js';

export interface EtcdInstance {
  endpoint: string;
  dataDir: string;
  pid(): number | undefined;
  /** SIGKILL, like a crash; `restart()` brings it back on the same data and ports. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface StartEtcdOptions {
  /**
   * Sync every write to disk, as users run etcd. Benchmarks must; tests may skip it for speed.
   * @default false
   */
  fsync?: boolean;
}

export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdInstance> {
  const dataDir = mkdtempSync(join(tmpdir(), 'persys-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const options = {
    dataDir,
    clientUrl: `http://127.0.0.1:${clientPort}`,
    peerUrl: `http://127.0.0.1:${peerPort}`,
    unsafeNoFsync: !opts.fsync,
  };
  let etcd = await startEtcdProcess(options);
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
