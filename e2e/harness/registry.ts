// A real image registry for pull tests and benchmarks: Debian's docker-registry (CNCF distribution)
// in a temp directory, with htpasswd basic auth, and images pushed into it through the host's engine.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './etcd.js';
import { HOST_SOCKET, TEST_IMAGE, ensureDocker } from './docker.js';

const run = promisify(execFile);

export interface RegistryOptions {
  /** Basic auth through htpasswd; an open registry when absent. */
  auth?: { username: string; password: string };
  /** Address to listen on. 0.0.0.0 lets engines in test network namespaces reach it. @default 127.0.0.1 */
  listenHost?: string;
}

export interface RegistryRequest {
  method: string;
  /** The request path, e.g. /v2/private/busybox/manifests/v1. */
  path: string;
  status: number;
}

export interface TestRegistry {
  /** host:port to put in image references (127.0.0.1:PORT). */
  address: string;
  port: number;
  /**
   * Pushes `source` (an image on the host engine) as `repository:tag` and removes that tag from the host
   * engine again, so that a node has to pull it. Returns the full reference.
   */
  push(repository: string, tag: string, source?: string): Promise<string>;
  /** Every request the registry has answered so far (its access log). */
  requests(): RegistryRequest[];
  /** Manifest requests for repository:tag that succeeded (GET, or HEAD when the engine has the content): one per pull. */
  manifestPulls(repository: string, tag: string): number;
  stop(): Promise<void>;
}

/** Builds a local image from the test image plus `bytes` of random data, so pulling it moves real layers. */
export async function buildSizedImage(ref: string, bytes: number): Promise<void> {
  await ensureDocker();
  const dir = mkdtempSync(join(tmpdir(), 'persys-image-'));
  try {
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${TEST_IMAGE}\nCOPY blob /blob\nCMD ["sh"]\n`);
    await run('head', ['-c', String(bytes), '/dev/urandom'], { encoding: 'buffer', maxBuffer: bytes + 1024 }).then(({ stdout }) =>
      writeFileSync(join(dir, 'blob'), stdout),
    );
    await run('docker', ['-H', `unix://${HOST_SOCKET}`, 'build', '-q', '-t', ref, dir], { timeout: 120_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  await ensureDocker();
  const dir = mkdtempSync(join(tmpdir(), 'persys-registry-'));
  const port = await freePort();
  const host = opts.listenHost ?? '127.0.0.1';
  const auth = opts.auth
    ? `auth:\n  htpasswd:\n    realm: persys-test\n    path: ${join(dir, 'htpasswd')}\n`
    : '';
  if (opts.auth) {
    const { stdout } = await run('htpasswd', ['-Bbn', opts.auth.username, opts.auth.password]);
    writeFileSync(join(dir, 'htpasswd'), stdout);
  }
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1
log:
  level: warn
  formatter: json
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: ${host}:${port}
${auth}`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logChunks: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => logChunks.push(b));
  child.stderr!.on('data', (b: Buffer) => logChunks.push(b));
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await fetch(`http://${address}/v2/`).then((r) => r.status === 200 || r.status === 401, () => false);
    if (ok) break;
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry ${exited ?? 'did not answer in 20 s'}:\n${Buffer.concat(logChunks).toString()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  // docker login writes its credentials here, never to the user's ~/.docker.
  const dockerConfig = join(dir, 'docker-config');
  const docker = (...args: string[]) =>
    run('docker', ['-H', `unix://${HOST_SOCKET}`, ...args], { env: { ...process.env, DOCKER_CONFIG: dockerConfig }, timeout: 180_000 });
  // The password stays inside this test process (and the temp DOCKER_CONFIG).
  if (opts.auth) await docker('login', '--username', opts.auth.username, '--password', opts.auth.password, address);

  const requests = (): RegistryRequest[] => {
    const out: RegistryRequest[] = [];
    for (const line of Buffer.concat(logChunks).toString().split('\n')) {
      // Access log lines are combined log format: "GET /v2/... HTTP/1.1" 200 …
      const m = /"(GET|HEAD|PUT|POST|PATCH|DELETE) (\S+) HTTP\/[\d.]+" (\d{3})/.exec(line);
      if (m) out.push({ method: m[1]!, path: m[2]!, status: Number(m[3]) });
    }
    return out;
  };
  return {
    address,
    port,
    async push(repository, tag, source = TEST_IMAGE) {
      const ref = `${address}/${repository}:${tag}`;
      await docker('tag', source, ref);
      try {
        await docker('push', ref);
      } finally {
        await docker('rmi', ref).catch(() => undefined);
      }
      return ref;
    },
    requests,
    manifestPulls(repository, tag) {
      return requests().filter((r) => (r.method === 'GET' || r.method === 'HEAD') && r.status === 200 && r.path === `/v2/${repository}/manifests/${tag}`).length;
    },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
