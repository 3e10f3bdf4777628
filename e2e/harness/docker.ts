// Real Docker engines for tests: the host's dockerd (started by hack/docker.sh) and throwaway second
// "hosts", each a dockerd in its own network namespace reached over a veth pair, as FIELD-NOTES describe.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';

const run = promisify(execFile);

export const HOST_SOCKET = '/var/run/docker.sock';
export const TEST_IMAGE = 'persys/busybox:test';
const DOCKER_SH = fileURLToPath(new URL('../../hack/docker.sh', import.meta.url));

let hostDocker: Promise<Dockerode> | undefined;

/** Starts the host's dockerd and builds the test image if needed (once per process). */
export function ensureDocker(): Promise<Dockerode> {
  hostDocker ??= run('bash', [DOCKER_SH], { timeout: 180_000 }).then(
    () => new Dockerode({ socketPath: HOST_SOCKET }),
    (e: Error & { stdout?: string; stderr?: string }) => {
      hostDocker = undefined;
      throw new Error(`hack/docker.sh failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    },
  );
  return hostDocker;
}

export interface SecondDocker {
  /** Path of the engine's unix socket. */
  socket: string;
  docker: Dockerode;
  /** The engine host's address on the veth pair: where its published ports are reachable from here. */
  address: string;
  /** This machine's end of the veth pair (e.g. for `swarm init --advertise-addr`). */
  hostAddress: string;
  /** Stops only the engine (its containers stop with it); the namespace, data and socket path stay. */
  stopEngine(): Promise<void>;
  /** Starts the engine again on the same data root (after stopEngine or crash). */
  startEngine(): Promise<void>;
  /**
   * The host dies: SIGKILL of every process it runs (dockerd, its containerd, the container shims and
   * the containers' processes), with no chance to tell anyone. startEngine brings it back.
   */
  crash(): Promise<void>;
  /** The host hangs: SIGSTOP of every process it runs, so it answers nothing while its sockets stay open. */
  freeze(): Promise<void>;
  /** Undoes freeze (SIGCONT of what it stopped). */
  thaw(): Promise<void>;
  stop(): Promise<void>;
}

/** Thrown when this machine cannot create network namespaces (no iproute2, not root, or no CAP_NET_ADMIN). */
export class NetnsUnavailableError extends Error {
  override readonly name = 'NetnsUnavailableError';
}

const NAME = /^[a-z0-9][a-z0-9-]{0,30}$/;

function pathsFor(name: string) {
  return {
    netns: `/var/run/netns/${name}`,
    socket: `/run/persys-${name}.sock`,
    dataRoot: `/var/lib/persys-${name}`,
    execRoot: `/run/persys-${name}-exec`,
    pidfile: `/run/persys-${name}.pid`,
    log: join(tmpdir(), `persys-${name}-dockerd.log`),
  };
}

/**
 * Starts a dockerd in network namespace `name` with its own socket, data-root and bridge range, and
 * loads the test image into it. Leftovers of an earlier run with the same name are removed first.
 */
export interface SecondDockerOptions {
  /**
   * Swarm tasks never pull and use the engine's local images (DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1):
   * no outside registry is reachable here. Turn off to test swarm pulls from a test registry.
   * @default true
   */
  swarmPrefersOfflineImages?: boolean;
}

export async function startSecondDocker(name: string, opts: SecondDockerOptions = {}): Promise<SecondDocker> {
  if (!NAME.test(name)) throw new Error(`second Docker name ${JSON.stringify(name)} must match ${NAME}`);
  await ensureDocker();
  const p = pathsFor(name);
  await removeLeftovers(name);

  try {
    await run('ip', ['netns', 'add', name]);
  } catch (e) {
    throw new NetnsUnavailableError(
      `cannot create network namespace ${name} (these tests need iproute2, which hack/install.sh installs, and root): ${(e as Error).message}`,
    );
  }
  let link: VethLink | undefined;
  let pid: number | undefined;
  let frozen: number[] = [];
  const thaw = () => {
    for (const p of frozen.splice(0)) signalQuietly(p, 'SIGCONT');
  };
  const stop = async () => {
    thaw();
    if (pid !== undefined) await killAndWait(pid);
    pid = undefined;
    if (link) await run('ip', ['link', 'del', link.hostIf]).catch(() => undefined);
    await run('ip', ['netns', 'del', name]).catch(() => undefined);
    await removeDirs(p);
  };
  const docker = new Dockerode({ socketPath: p.socket });
  const launch = async (octet: number) => {
    const log = openSync(p.log, 'a');
    const child = spawn(
      'nsenter',
      [
        `--net=${p.netns}`,
        'dockerd',
        '-H', `unix://${p.socket}`,
        '--data-root', p.dataRoot,
        '--exec-root', p.execRoot,
        '--pidfile', p.pidfile,
        // Its own bridge range, so routes on this machine never confuse it with docker0's.
        '--bip', `10.233.${octet}.1/24`,
        // Test containers (httpd as pid 1) ignore SIGTERM; don't wait 15 s for each on stop().
        '--shutdown-timeout', '2',
        // Test registries listen on this machine's end of a veth pair (10.231.x.1), over plain HTTP.
        '--insecure-registry', '10.231.0.0/16',
      ],
      // No registry here: a swarm task would first try to pull its image and wait ~20 s for DNS to fail.
      {
        detached: true,
        stdio: ['ignore', log, log],
        env: { ...process.env, ...(opts.swarmPrefersOfflineImages !== false && { DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: '1' }) },
      },
    );
    closeSync(log);
    child.unref();
    pid = child.pid; // nsenter execs dockerd, so this is dockerd's pid
    let exited: string | undefined;
    child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await docker.ping();
        break;
      } catch {
        if (exited || Date.now() > deadline) {
          throw new Error(`second dockerd ${name} ${exited ?? 'did not answer in 60 s'}:\n${logTail(p.log)}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  try {
    link = await createVeth(name);
    await launch(link.octet);
    await run('bash', [
      '-o', 'pipefail', '-c',
      `docker -H unix://${HOST_SOCKET} save ${TEST_IMAGE} | docker -H unix://${p.socket} load`,
    ]);
    return {
      socket: p.socket,
      docker,
      address: link.nsAddress,
      hostAddress: link.hostAddress,
      async stopEngine() {
        if (pid !== undefined) await killAndWait(pid);
        pid = undefined;
      },
      async startEngine() {
        if (pid === undefined) await launch(link!.octet);
      },
      async crash() {
        if (pid === undefined) return;
        const victims = hostProcesses(pid, p.execRoot);
        for (const v of victims) signalQuietly(v, 'SIGKILL');
        for (const v of victims) while (isAlive(v)) await new Promise((r) => setTimeout(r, 20));
        pid = undefined;
      },
      async freeze() {
        if (pid === undefined || frozen.length) return;
        frozen = hostProcesses(pid, p.execRoot);
        for (const v of frozen) signalQuietly(v, 'SIGSTOP');
      },
      async thaw() {
        thaw();
      },
      async stop() {
        await stop();
        rmSync(p.log, { force: true });
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

interface VethLink {
  octet: number;
  hostIf: string;
  hostAddress: string;
  nsAddress: string;
}

/**
 * A /30 in 10.231.0.0/16 per second host. `ip link add` fails if the interface name exists, which
 * makes it the lock between test processes choosing the same third octet.
 */
async function createVeth(name: string): Promise<VethLink> {
  const start = createHash('sha256').update(name).digest()[0]!;
  const used = (await run('ip', ['-o', '-4', 'addr'])).stdout;
  for (let i = 0; i < 256; i++) {
    const octet = (start + i) % 256;
    const hostAddress = `10.231.${octet}.1`;
    const nsAddress = `10.231.${octet}.2`;
    if (used.includes(` ${hostAddress}/`)) continue;
    const hostIf = `persys${octet}h`;
    const nsIf = `persys${octet}n`;
    try {
      await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    } catch {
      continue;
    }
    await run('ip', ['link', 'set', nsIf, 'netns', name]);
    await run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostIf]);
    await run('ip', ['link', 'set', hostIf, 'up']);
    const inNs = (...args: string[]) => run('nsenter', [`--net=/var/run/netns/${name}`, 'ip', ...args]);
    await inNs('link', 'set', 'lo', 'up');
    await inNs('addr', 'add', `${nsAddress}/30`, 'dev', nsIf);
    await inNs('link', 'set', nsIf, 'up');
    await inNs('route', 'add', 'default', 'via', hostAddress);
    return { octet, hostIf, hostAddress, nsAddress };
  }
  throw new Error('no free /30 left in 10.231.0.0/16 for a second Docker host');
}

/** A crashed earlier run may have left this name's dockerd, netns and directories behind. */
async function removeLeftovers(name: string): Promise<void> {
  const p = pathsFor(name);
  if (existsSync(p.pidfile)) {
    const pid = Number(readFileSync(p.pidfile, 'utf8').trim());
    // Only a dockerd that is provably ours: its command line names our data-root.
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      /* not running */
    }
    if (pid > 0 && cmdline.includes(p.dataRoot)) await killAndWait(pid);
  }
  if (existsSync(p.netns)) await run('ip', ['netns', 'del', name]).catch(() => undefined);
  await removeDirs(p);
}

/**
 * The processes of one second host: dockerd and its descendants (containerd), and the container shims
 * (daemons, so not dockerd's descendants; they name the engine's exec root) with their descendants.
 */
function hostProcesses(dockerd: number, execRoot: string): number[] {
  const children = new Map<number, number[]>();
  const shims: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      // argv[0] is the shim's full path (/usr/bin/containerd-shim-runc-v2).
      const program = cmdline.slice(0, cmdline.indexOf('\0') >>> 0);
      if (/(^|\/)containerd-shim/.test(program) && cmdline.includes(`${execRoot}/`)) shims.push(pid);
    } catch {
      /* gone meanwhile */
    }
  }
  const out = new Set<number>();
  const walk = (pid: number) => {
    if (out.has(pid)) return;
    out.add(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  for (const root of [dockerd, ...shims]) walk(root);
  return [...out];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (killed, not yet reaped by its parent) is as dead as a host can make it.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function signalQuietly(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

async function killAndWait(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive()) {
    process.kill(pid, 'SIGKILL');
    while (alive()) await new Promise((r) => setTimeout(r, 100));
  }
}

async function removeDirs(p: ReturnType<typeof pathsFor>): Promise<void> {
  // dockerd unmounts its layers on a clean stop; after a SIGKILL some may still be mounted.
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    // dockerd also bind-mounts its data root onto itself; after a crash and restart one such mount stays.
    .filter((m) => m === p.dataRoot || m === p.execRoot || m.startsWith(`${p.dataRoot}/`) || m.startsWith(`${p.execRoot}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
  for (const dir of [p.dataRoot, p.execRoot]) rmSync(dir, { recursive: true, force: true });
  rmSync(p.socket, { force: true });
  rmSync(p.pidfile, { force: true });
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Force-removes every container persys made for `namespace` on these engines: agents keep their
 * containers running when they stop, on purpose, so each test file cleans up its own namespace.
 */
export async function removeNamespaceContainers(engines: (Dockerode | undefined)[], namespace: string): Promise<void> {
  for (const docker of engines) {
    if (!docker) continue;
    const left = await docker.listContainers({ all: true, filters: { label: [`dev.persys.namespace=${namespace}`] } }).catch(() => []);
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  }
}
