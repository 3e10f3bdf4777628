// `persys exec -i -t` end to end: the real `persys` executable (on a pipe, and on a real pseudo-terminal)
// against a cluster of real processes (etcd, API server, controllers, one agent on this host's Docker),
// standard input, terminal size and resizes reaching a command in a real container, and back.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDocker, removeNamespaceContainers, TEST_IMAGE } from '../harness/docker.js';
import { eventually, TestCluster } from '../harness/cluster.js';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = `exec-${process.pid}`;
const NS = `exec-e2e-${process.pid}`;
let cluster: TestCluster;
let docker: Dockerode;

beforeAll(async () => {
  docker = await ensureDocker();
  cluster = await TestCluster.start({ agents: [{ name: NODE, dockerHost: 'unix:///var/run/docker.sock' }] });
  await cluster.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: NS } });
  await cluster.client.apply({
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name: 'box', namespace: NS },
    spec: { image: TEST_IMAGE, command: ['sh', '-c', 'exec sleep 3600'] },
  });
  await eventually('box to run', () => cluster.client.get('Container', 'box', NS), (c) => c.status?.phase === 'Running', 60_000);
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  await removeNamespaceContainers([docker], NS);
}, 120_000);

const exec = (flags: string[], command: string[], input?: string) => cluster.persys(['exec', ...flags, 'container/box', '-n', NS, '--', ...command], input);

/** A `persys` process whose stdin we hold, its output collected as it comes. */
function spawnPersys(args: string[], opts: { pty?: string } = {}) {
  const bin = [process.execPath, join(ROOT, 'bin/persys.js'), ...args];
  const env = { ...process.env, PERSYS_CONFIG: join(cluster.dir, 'config.yaml'), PTY_RESIZE: '40x120' };
  // On a terminal: the CLI, then the terminal's mode once it has exited (raw mode must be undone).
  const argv = opts.pty
    ? ['python3', join(ROOT, 'e2e/harness/on-terminal.py'), opts.pty, 'sh', '-c', `"$@"; code=$?; echo; stty -a | grep -o -- '-\\?icanon'; exit $code`, 'sh', ...bin]
    : bin;
  const child = spawn(argv[0]!, argv.slice(1), { cwd: cluster.dir, env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number>((r) => child.on('exit', (code, sig) => r(code ?? 128 + (sig === 'SIGKILL' ? 9 : 15))));
  const waitOut = (re: RegExp, timeoutMs = 20_000) =>
    eventually(`output matching ${re}`, async () => out, (o) => re.test(o), timeoutMs).catch((e: Error) => {
      throw new Error(`${e.message}\nstderr: ${err}`);
    });
  return { child, exited, out: () => out, err: () => err, waitOut };
}

describe('persys exec -i', () => {
  it('pipes standard input to the command: `cat` returns the bytes', async () => {
    const res = await exec(['-i'], ['cat'], 'hello\nworld\n');
    expect(res).toMatchObject({ code: 0, stdout: 'hello\nworld\n' });
  });

  it('sends a line that `read` gets, keeps stderr apart, and exits with the command’s code', async () => {
    const res = await exec(['-i'], ['sh', '-c', 'read x; echo got $x; echo oops >&2; exit 5'], 'line\n');
    expect(res).toEqual({ code: 5, stdout: 'got line\n', stderr: 'oops\n' });
  });

  it('carries more than one 64 KiB piece of input through, byte for byte', async () => {
    const big = 'x'.repeat(200_000) + '\n';
    const res = await exec(['-i'], ['wc', '-c'], big);
    expect(res.stdout.trim()).toBe(String(big.length));
  });

  it('with -t but no terminal on stdin: warns as kubectl does and runs without a TTY', async () => {
    const res = await exec(['-it'], ['sh', '-c', 'tty; cat'], 'piped\n');
    expect(res.stderr).toContain('Unable to use a TTY - input is not a terminal or the right kind of file');
    expect(res.stdout).toBe('not a tty\npiped\n');
    expect(res.code).toBe(0);
  });

  it('still runs a command without -i or -t through the old Exec call', async () => {
    expect(await exec([], ['sh', '-c', 'echo plain; exit 2'])).toMatchObject({ code: 2, stdout: 'plain\n' });
  });

  it('a killed client ends only its own exec: the container and another exec carry on', async () => {
    const other = spawnPersys(['exec', '-i', 'container/box', '-n', NS, '--', 'sh', '-c', 'echo other-up; cat']);
    const doomed = spawnPersys(['exec', '-i', 'container/box', '-n', NS, '--', 'sh', '-c', 'echo doomed-up; cat']);
    await other.waitOut(/other-up/);
    await doomed.waitOut(/doomed-up/);
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    other.child.stdin!.write('after\n');
    await other.waitOut(/after/);
    other.child.stdin!.end();
    expect(await other.exited).toBe(0);
    const c = await cluster.client.get('Container', 'box', NS);
    expect(c.status?.phase).toBe('Running');
    // The killed client's `cat` lost its input and ended; nothing else in the container did.
    await eventually('the orphaned cat to end', () => exec([], ['ps']), (r) => !/\bcat\b/.test(r.stdout), 15_000);
    expect((await exec([], ['ps'])).stdout).toMatch(/sleep 3600/);
  });
});

describe('persys exec -it on a terminal', () => {
  it('runs on a TTY of the terminal’s size, follows its resizes, passes the exit code on and restores the terminal', async () => {
    const t = spawnPersys(['exec', '-it', 'container/box', '-n', NS, '--', 'sh'], { pty: '30x100' });
    t.child.stdin!.write('tty; stty size\r');
    await t.waitOut(/\/dev\/pts\/\d+/);
    await t.waitOut(/\n30 100\r/);
    t.child.kill('SIGUSR1'); // the terminal becomes 40x120: the CLI gets SIGWINCH
    await new Promise((r) => setTimeout(r, 500));
    t.child.stdin!.write('stty size\r');
    await t.waitOut(/\n40 120\r/);
    t.child.stdin!.write('exit 3\r');
    expect(await t.exited).toBe(3);
    // After the CLI: the terminal is back in canonical (cooked) mode.
    expect(t.out().trim().split(/\s+/).at(-1)).toBe('icanon');
  });
});

describe('persys run', () => {
  it('--rm -i: runs the command in a new Container with standard input, exits with its code, then deletes the Container', async () => {
    const res = await cluster.persys(['run', 'dbg', '--rm', '-i', '--image', TEST_IMAGE, '-n', NS, '--', 'sh', '-c', 'read x; echo got $x in $(hostname); exit 3'], 'hello\n');
    expect(res.stdout, res.stderr).toMatch(/^got hello in [0-9a-f]{12}\n$/);
    expect(res.code).toBe(3);
    expect(res.stderr).toContain('container "dbg" deleted');
    await expect(cluster.client.get('Container', 'dbg', NS)).rejects.toThrow(/not found/);
    await eventually('its Docker container to go', () => docker.listContainers({ all: true, filters: { label: [`dev.persys.namespace=${NS}`, 'dev.persys.name=dbg'] } }), (l) => l.length === 0, 30_000);
  });

  it('without -i: creates a Container running the command, labelled run=NAME', async () => {
    const res = await cluster.persys(['run', 'once', '--image', TEST_IMAGE, '--restart', 'Never', '--env', 'WHO=persys', '-n', NS, '--', 'sh', '-c', 'echo hi $WHO']);
    expect(res).toMatchObject({ code: 0, stdout: 'container/once created\n' });
    const c = await eventually('once to finish', () => cluster.client.get('Container', 'once', NS), (x) => x.status?.phase === 'Succeeded', 60_000);
    expect(c.metadata.labels).toMatchObject({ run: 'once' });
    expect(c.spec).toMatchObject({ command: ['sh', '-c', 'echo hi $WHO'], restartPolicy: 'Never', env: [{ name: 'WHO', value: 'persys' }] });
    expect((await cluster.persys(['logs', 'once', '-n', NS])).stdout).toBe('hi persys\n');
  });

  it('refuses --rm without -i and a missing --image, as kubectl does', async () => {
    const noAttach = await cluster.persys(['run', 'x', '--rm', '--image', TEST_IMAGE, '-n', NS]);
    expect(noAttach.code).not.toBe(0);
    expect(noAttach.stderr).toContain('--rm should only be used for attached containers');
    const noImage = await cluster.persys(['run', 'x', '-n', NS]);
    expect(noImage.code).not.toBe(0);
    expect(noImage.stderr).toContain('--image is required');
    await expect(cluster.client.get('Container', 'x', NS)).rejects.toThrow(/not found/);
  });
});
