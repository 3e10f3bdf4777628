// A whole persys cluster of real processes for end-to-end tests: its own etcd, an API server, the
// controllers and node agents (each agent driving its own Docker engine), all started through the
// `persys` CLI exactly as an operator would, and each killable (SIGKILL) and restartable.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiClient } from '../../lib/client/client.js';
import { loadClientConfig, type ClientConfig } from '../../lib/client/config.js';
import type { Resource } from '../../lib/api/resource.js';
import { freePort, startEtcd, type EtcdInstance } from './etcd.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/persys.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface AgentSpec {
  name: string;
  /** unix:///… socket of the Docker engine this node drives. */
  dockerHost: string;
  labels?: Record<string, string>;
  /** --node-ip: the address other nodes reach this one at (an engine in a network namespace has its own). */
  nodeIp?: string;
  /** --heartbeat-interval; false runs the agent at its shipped default (benchmarks). @default '1s' */
  heartbeatInterval?: string | false;
  /**
   * The network namespace of the node's engine (a SecondDocker's name), with `serverAddress`: the agent runs
   * inside it, as it would on that host, so its DNS server and Service VIP rules are the node's own. Agents
   * without one run on this machine with --proxy-mode off: tests never touch this machine's nat table.
   */
  netns?: string;
  /** This machine's address as the node reaches it (a SecondDocker's hostAddress); needs ClusterOptions.serverHosts. */
  serverAddress?: string;
  /** More agent flags. */
  args?: string[];
}

/** A child process started from `persys ARGS`, with its output kept for failure messages. */
export class ManagedProcess {
  child?: ChildProcess;
  /** The last 20,000 characters of output, for failure messages. */
  output = '';
  /** Every byte the process wrote (up to 64 MiB), for tests that check what was never logged. */
  private readonly everything: Buffer[] = [];
  private everythingBytes = 0;

  constructor(
    readonly label: string,
    private readonly args: () => string[],
    private readonly cwd: string,
    private readonly logLevel = process.env.PERSYS_E2E_LOG_LEVEL ?? 'warn',
    /** Runs the process in this network namespace (nsenter execs it, so the pid stays the process's). */
    private readonly netns?: string,
  ) {}

  start(): void {
    const argv = [process.execPath, BIN, ...this.args()];
    const [file, ...args] = this.netns ? ['nsenter', `--net=/var/run/netns/${this.netns}`, ...argv] : argv;
    const child = spawn(file!, args, {
      cwd: this.cwd,
      env: { ...process.env, PERSYS_LOG_LEVEL: this.logLevel },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000);
      if (this.everythingBytes + d.length <= 64 * 1024 * 1024) {
        this.everything.push(Buffer.from(d));
        this.everythingBytes += d.length;
      }
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.child = child;
  }

  /** All output so far, across restarts. */
  allOutput(): string {
    return Buffer.concat(this.everything).toString();
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL: the process gets no chance to clean up, like a crash. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGSTOP: the process hangs with its sockets open, like a frozen host; thaw() resumes it. */
  freeze(): void {
    if (this.running) this.child!.kill('SIGSTOP');
  }

  thaw(): void {
    if (this.running) this.child!.kill('SIGCONT');
  }

  /** SIGTERM, then SIGKILL after a grace period. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.thaw();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.signal('SIGTERM');
    clearTimeout(timer);
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(sig);
    await exited;
  }
}

export async function eventually<T>(
  what: string,
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)?.slice(0, 2000)}${lastErr ? `; last error: ${String(lastErr)}` : ''}`);
}

export interface ClusterOptions {
  agents: AgentSpec[];
  /** false: the controllers process is created but not started. */
  controllers?: boolean;
  /** Extra flags of `persys controllers` (e.g. short node timeouts). */
  controllerArgs?: string[];
  /** PERSYS_LOG_LEVEL of every process. @default PERSYS_E2E_LOG_LEVEL or warn */
  logLevel?: string;
  /** etcd fsyncs every commit, as in production (benchmarks). @default false */
  etcdFsync?: boolean;
  /**
   * Addresses of this machine that agents in network namespaces reach the API server at: added to the
   * server certificate, and the API server then listens on every address, not only loopback.
   */
  serverHosts?: string[];
}

export class TestCluster {
  readonly dir: string;
  etcd!: EtcdInstance;
  apiPort = 0;
  joinPort = 0;
  apiserver!: ManagedProcess;
  controllers!: ManagedProcess;
  readonly agents = new Map<string, ManagedProcess>();
  config!: ClientConfig;
  client!: ApiClient;
  /** The join token and CA hash agents join with (hollow nodes in the test process too). */
  token = '';
  caCertHash = '';
  private logLevel?: string;

  private constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'persys-cluster-'));
  }

  static async start(opts: ClusterOptions): Promise<TestCluster> {
    const c = new TestCluster();
    try {
      await c.boot(opts);
    } catch (err) {
      const logs = [c.apiserver, c.controllers, ...c.agents.values()]
        .filter(Boolean)
        .map((p) => `--- ${p.label}\n${p.output.slice(-3000)}`)
        .join('\n');
      await c.stop();
      throw new Error(`${(err as Error).message}\n${logs}`);
    }
    return c;
  }

  private async boot(opts: ClusterOptions): Promise<void> {
    this.logLevel = opts.logLevel;
    this.etcd = await startEtcd({ fsync: opts.etcdFsync });
    this.apiPort = await freePort();
    this.joinPort = await freePort();
    const serverHosts = (opts.serverHosts ?? []).flatMap((h) => ['--server-host', h]);
    const listenHost = opts.serverHosts?.length ? '0.0.0.0' : '127.0.0.1';
    const pki = await this.persys(['pki', 'init', '--data-dir', this.dir, '--advertise-address', `127.0.0.1:${this.apiPort}`, ...serverHosts]);
    if (pki.code !== 0) throw new Error(`pki init failed: ${pki.stderr}`);
    this.config = loadClientConfig({ config: join(this.dir, 'config.yaml') });
    this.client = new ApiClient(this.config);

    this.apiserver = new ManagedProcess(
      'apiserver',
      () => [
        'apiserver',
        '--etcd-servers', this.etcd.endpoint,
        '--data-dir', this.dir,
        '--listen', `${listenHost}:${this.apiPort}`,
        '--join-listen', `${listenHost}:${this.joinPort}`,
        '--metrics-listen', '127.0.0.1:0',
      ],
      this.dir,
      this.logLevel,
    );
    await this.startApiServer();

    const token = await this.persys(['token', 'create', '--ttl', '1h']);
    this.token = /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/.exec(token.stdout)?.[0] ?? '';
    this.caCertHash = /sha256:[0-9a-f]{64}/.exec(token.stdout)?.[0] ?? '';
    if (!this.token || !this.caCertHash) throw new Error(`token create printed no token/hash:\n${token.stdout}\n${token.stderr}`);

    this.controllers = new ManagedProcess(
      'controllers',
      () => ['controllers', '--config', join(this.dir, 'config.yaml'), '--metrics-listen', '127.0.0.1:0', ...(opts.controllerArgs ?? [])],
      this.dir,
      this.logLevel,
    );
    if (opts.controllers !== false) this.controllers.start();

    for (const a of opts.agents) this.addAgent(a);
    await Promise.all(opts.agents.map((a) => this.waitNodeReady(a.name)));
  }

  /** Runs the CLI against this cluster as the admin. */
  persys(args: string[], input?: string): Promise<CliRun> {
    return new Promise((resolvePromise) => {
      const child = execFile(
        process.execPath,
        [BIN, ...args],
        { cwd: this.dir, env: { ...process.env, PERSYS_CONFIG: join(this.dir, 'config.yaml') }, timeout: 60_000 },
        (err, stdout, stderr) => resolvePromise({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  }

  async startApiServer(): Promise<void> {
    this.apiserver.start();
    await eventually('the API server to answer', () => this.client.list('Namespace'), () => true, 30_000);
  }

  addAgent(spec: AgentSpec): ManagedProcess {
    const dataDir = join(this.dir, 'agents', spec.name);
    mkdirSync(dataDir, { recursive: true });
    const labels = Object.entries(spec.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const proc = new ManagedProcess(
      `agent ${spec.name}`,
      () => [
        'agent',
        '--server', `${spec.serverAddress ?? '127.0.0.1'}:${this.apiPort}`,
        '--join-server', `${spec.serverAddress ?? '127.0.0.1'}:${this.joinPort}`,
        '--token', this.token,
        '--ca-cert-hash', this.caCertHash,
        '--node-name', spec.name,
        '--data-dir', dataDir,
        '--docker-host', spec.dockerHost,
        ...(spec.heartbeatInterval === false ? [] : ['--heartbeat-interval', spec.heartbeatInterval ?? '1s']),
        '--metrics-listen', '127.0.0.1:0',
        ...(labels ? ['--labels', labels] : []),
        ...(spec.nodeIp ? ['--node-ip', spec.nodeIp] : []),
        ...(spec.netns ? [] : ['--proxy-mode', 'off']),
        ...(spec.args ?? []),
      ],
      this.dir,
      this.logLevel,
      spec.netns,
    );
    this.agents.set(spec.name, proc);
    proc.start();
    return proc;
  }

  async waitNodeReady(name: string, timeoutMs = 60_000): Promise<Resource> {
    return eventually(
      `node ${name} to be Ready`,
      () => this.client.get('Node', name),
      (n) => (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'),
      timeoutMs,
    );
  }

  /** Everything every process wrote, to check what must never appear in a log. */
  allOutput(): string {
    return [this.apiserver, this.controllers, ...this.agents.values()]
      .filter(Boolean)
      .map((p) => p.allOutput())
      .join('\n');
  }

  /** Output of every process, for a failing test's message. */
  logs(): string {
    return [this.apiserver, this.controllers, ...this.agents.values()]
      .filter(Boolean)
      .map((p) => `--- ${p.label}\n${p.output.slice(-4000)}`)
      .join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.stop()));
    await this.controllers?.stop();
    await this.apiserver?.stop();
    this.client?.close();
    await this.etcd?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
