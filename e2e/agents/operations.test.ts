// Logs, exec and top through the API server: the request goes down the target node's real agent
// stream (a test agent answering over mTLS), its chunks come back to the caller, and cancelling the
// caller cancels the request on the node. The CLI commands run in-process against the real server.
import { readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { status as Code, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { ApiError } from '../../lib/client/errors.js';
import { OperationsClient } from '../../lib/client/operations.js';
import { captureIo } from '../../lib/cli/io.js';
import { main } from '../../lib/cli/main.js';
import type { AgentRequest, ExecInput } from '../../lib/gen/persys/v1/agent.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { heartbeat, joinAsNode, TestAgent } from './test-agent.js';

const PREFIX = `/test-operations-${process.pid}`;
let api: TestApiServer;
/** A second API server of the same cluster, not holding the node's stream: it relays to `api`. */
let peer: TestApiServer;
let ops: OperationsClient;
let agent: TestAgent;
const requests: AgentRequest[] = [];

const container = (name: string, nodeName?: string, labels?: Record<string, string>): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'shop', labels },
  spec: { image: 'busybox', nodeName },
});

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'), { etcdPrefix: PREFIX });
  peer = await startTestApiServer(inject('etcdEndpoint'), { etcdPrefix: PREFIX, pki: api.pki });
  ops = new OperationsClient(api.config);
  await api.client.create({ apiVersion: 'persys.dev/v1', kind: 'Namespace', metadata: { name: 'shop' } });
  const front = { tier: 'front' };
  for (const c of [container('web', 'ops-node', front), container('api', 'ops-node', front), container('broken', 'ops-node'), container('ghosted', 'ghost'), container('unscheduled'), container('overflowing', 'ops-node')]) {
    await api.client.create(c);
  }
  agent = new TestAgent(api, await joinAsNode(api, readFileSync(api.pki.caCert, 'utf8'), 'ops-node'));
  agent.answer = (req, send, cancelled) => {
    requests.push(req);
    const r = req.request!;
    if (r.$case === 'swarm') return send({ error: 'not expected here' });
    if (r.value.name === 'broken') return send({ error: 'no container for Container shop/broken on this node' });
    if (r.$case === 'exec' && r.value.name === 'overflowing') {
      return send({ error: 'standard input arrived faster than the command read it', errorCode: Code.RESOURCE_EXHAUSTED });
    }
    if (r.$case === 'exec' && (r.value.stdin || r.value.tty)) {
      // Interactive: a stand-in process that echoes its input (see answerInput) and exits 4 at its end.
      const size = r.value.terminalSize;
      return send({ data: Buffer.from(`started tty=${r.value.tty}${size ? ` size=${size.width}x${size.height}` : ''}\n`) });
    }
    if (r.$case === 'exec') {
      send({ stream: 'stdout', data: Buffer.from(`ran ${r.value.command.join(' ')}\n`) });
      send({ stream: 'stderr', data: Buffer.from('warn') });
      send({ stream: 'stderr', data: Buffer.from('ing\n') });
      return send({ end: true, exitCode: 3 });
    }
    if (!r.value.follow) {
      send({ data: Buffer.from('line 1\nli') });
      send({ data: Buffer.from('ne 2\n') });
      return send({ end: true });
    }
    // Followed: a line every 20 ms until the server cancels the request.
    const timer = setInterval(() => send({ data: Buffer.from('tick\n') }), 20);
    cancelled.addEventListener('abort', () => clearInterval(timer));
  };
  agent.answerInput = (_req, input, send) => {
    const i = input.input!;
    if (i.$case === 'stdin') send({ data: Buffer.from(`echo:${i.value.toString()}`) });
    if (i.$case === 'resize') send({ data: Buffer.from(`resized ${i.value.width}x${i.value.height}\n`) });
    if (i.$case === 'stdinClose') send({ end: true, exitCode: 4 });
  };
  agent.hello();
  await agent.desired();
});
afterAll(async () => {
  ops?.close();
  agent?.close();
  await peer?.stop();
  await api?.stop();
});

const creds = () => ['--server', api.config.server, '--ca-cert', api.config.caCert, '--client-cert', api.config.clientCert, '--client-key', api.config.clientKey];

async function cli(args: string[], signal?: AbortSignal, stdin = '') {
  const io = captureIo(stdin, signal);
  // Global flags first: after `--` everything belongs to the command being exec'd.
  const code = await main([...creds(), ...args], io, { env: {} });
  return { code, out: io.stdout(), err: io.stderr() };
}

async function collect(it: AsyncIterable<{ data: Buffer }>): Promise<string> {
  let s = '';
  for await (const c of it) s += c.data.toString();
  return s;
}

describe('logs', () => {
  it("relays a container's log from its node's agent, passing the request through", async () => {
    expect(await collect(ops.logs('web', { namespace: 'shop', tailLines: 5 }))).toBe('line 1\nline 2\n');
    const req = requests.at(-1)!;
    expect(req.request?.$case).toBe('logs');
    expect(req.request?.value).toMatchObject({ kind: 'Container', namespace: 'shop', name: 'web', tailLines: 5, follow: false });
  });

  it('prints whole lines with `persys logs container/NAME`', async () => {
    const res = await cli(['logs', 'container/web', '-n', 'shop', '--tail', '2']);
    expect(res).toMatchObject({ code: 0, out: 'line 1\nline 2\n' });
  });

  it('passes --since on as the time that long ago, and --since-time as given', async () => {
    const before = Date.now();
    expect((await cli(['logs', 'container/web', '-n', 'shop', '--since', '5m'])).code).toBe(0);
    const since = Date.parse((requests.at(-1)!.request!.value as { sinceTime: string }).sinceTime);
    expect(since).toBeGreaterThanOrEqual(before - 5 * 60_000);
    expect(since).toBeLessThanOrEqual(Date.now() - 5 * 60_000);
    expect((await cli(['logs', 'container/web', '-n', 'shop', '--since-time', '2026-12-06T15:00:00Z'])).code).toBe(0);
    expect(requests.at(-1)!.request!.value).toMatchObject({ sinceTime: '2026-12-06T15:00:00.000Z' });
  });

  it('prints the logs of every Container a selector matches, each line prefixed with its source, 10 lines each by default', async () => {
    const seen = requests.length;
    const res = await cli(['logs', '-l', 'tier=front', '-n', 'shop']);
    expect(res).toMatchObject({ code: 0, err: '' });
    expect(res.out).toBe(['[container/api] line 1', '[container/api] line 2', '[container/web] line 1', '[container/web] line 2', ''].join('\n'));
    const asked = requests.slice(seen).map((r) => r.request!.value as { name: string; tailLines: number });
    expect(asked.map((r) => r.name).sort()).toEqual(['api', 'web']);
    expect(asked.every((r) => r.tailLines === 10)).toBe(true);
  });

  it('refuses a name with -l, both --since forms, a bad duration, and more followed streams than --max-log-requests', async () => {
    const named = await cli(['logs', '-l', 'tier=front', 'container/web', '-n', 'shop']);
    expect(named.code).toBe(1);
    expect(named.err).toContain('only one of a) container/NAME or b) -l SELECTOR');
    expect((await cli(['logs', 'web', '-n', 'shop', '--since', '5m', '--since-time', '2026-12-06T15:00:00Z'])).err).toContain('at most one of --since or --since-time');
    expect((await cli(['logs', 'web', '-n', 'shop', '--since', 'yesterday'])).err).toContain('invalid --since "yesterday"');
    const many = await cli(['logs', '-f', '-l', 'tier=front', '-n', 'shop', '--max-log-requests', '1']);
    expect(many.code).toBe(1);
    expect(many.err).toContain('you are attempting to follow 2 log streams, but maximum allowed concurrency is 1');
  });

  it('cancels the request on the node when a followed log is abandoned', async () => {
    const abort = new AbortController();
    let lines = 0;
    for await (const c of ops.logs('web', { namespace: 'shop', follow: true, signal: abort.signal })) {
      lines += c.data.toString().split('\n').length - 1;
      if (lines >= 3) abort.abort();
    }
    expect(lines).toBeGreaterThanOrEqual(3);
    const id = requests.at(-1)!.requestId;
    await agent.waitFor(() => (agent.cancels.includes(id) ? true : undefined));
  });

  it('stops `persys logs -f` on the CLI signal and cancels on the node', async () => {
    const abort = new AbortController();
    const before = agent.cancels.length;
    const run = cli(['logs', '-f', 'ct/web', '-n', 'shop'], abort.signal);
    const followedOpen = () => {
      const last = requests.at(-1);
      return last?.request?.$case === 'logs' && last.request.value.follow && !agent.cancels.includes(last.requestId) ? true : undefined;
    };
    await agent.waitFor(followedOpen);
    await new Promise((r) => setTimeout(r, 100));
    abort.abort();
    const res = await run;
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^(tick\n)+$/);
    await agent.waitFor(() => (agent.cancels.length > before ? true : undefined));
  });

  it('answers UNAVAILABLE for a node not connected here, FAILED_PRECONDITION when unscheduled, NOT_FOUND when absent', async () => {
    const errOf = (name: string) => collect(ops.logs(name, { namespace: 'shop' })).then(() => undefined, (e: ApiError) => e);
    const ghost = await errOf('ghosted');
    expect(ghost?.code).toBe(Code.UNAVAILABLE);
    expect(ghost?.message).toContain('node "ghost" is not connected to this API server');
    expect((await errOf('unscheduled'))?.code).toBe(Code.FAILED_PRECONDITION);
    expect((await errOf('nope'))?.code).toBe(Code.NOT_FOUND);
  });

  it("passes the agent's error on, naming the node", async () => {
    const err = await collect(ops.logs('broken', { namespace: 'shop' })).then(() => undefined, (e: ApiError) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err?.message).toContain('node "ops-node": no container for Container shop/broken');
  });
});

describe('exec', () => {
  it('runs the command through the agent and returns its output and exit code', async () => {
    const res = await ops.exec('web', ['sh', '-c', 'echo hi'], { namespace: 'shop' });
    expect(res).toEqual({ exitCode: 3, stdout: Buffer.from('ran sh -c echo hi\n'), stderr: Buffer.from('warning\n') });
    expect(requests.at(-1)?.request).toMatchObject({ $case: 'exec', value: { namespace: 'shop', name: 'web', command: ['sh', '-c', 'echo hi'] } });
  });

  it('`persys exec container/NAME -- CMD` exits with the command’s exit code', async () => {
    const res = await cli(['exec', 'container/web', '-n', 'shop', '--', 'ls', '-la', '/']);
    expect(res).toEqual({ code: 3, out: 'ran ls -la /\n', err: 'warning\n' });
  });
});

describe('interactive exec (ExecStream)', () => {
  const inputsOf = (requestId: string) => agent.inputs.filter((i) => i.requestId === requestId).map((i) => i.input.input);
  const lastExec = () => requests.filter((r) => r.request?.$case === 'exec').at(-1)!;

  it('relays standard input to the agent in order, then its end, and returns the output and exit code', async () => {
    let out = '';
    const res = await ops.execStream('web', ['cat'], {
      namespace: 'shop',
      stdin: Readable.from([Buffer.from('a\n'), Buffer.from('b\n')]),
      onOutput: (_, d) => (out += d.toString()),
    });
    expect(res).toEqual({ exitCode: 4 });
    expect(out).toBe('started tty=false\necho:a\necho:b\n');
    const req = lastExec();
    expect(req.request?.value).toMatchObject({ name: 'web', namespace: 'shop', command: ['cat'], stdin: true, tty: false });
    expect(inputsOf(req.requestId)).toEqual([
      { $case: 'stdin', value: Buffer.from('a\n') },
      { $case: 'stdin', value: Buffer.from('b\n') },
      { $case: 'stdinClose', value: true },
    ]);
  });

  it('starts a TTY at the size given and relays resizes', async () => {
    let out = '';
    let resize!: (s: { width: number; height: number }) => void;
    const input = new PassThrough();
    const run = ops.execStream('web', ['sh'], {
      namespace: 'shop',
      stdin: input,
      tty: true,
      size: { width: 100, height: 30 },
      onResize: (send) => ((resize = send), () => undefined),
      onOutput: (_, d) => (out += d.toString()),
    });
    await agent.waitFor(() => (out.includes('started') ? true : undefined));
    resize({ width: 120, height: 40 });
    await agent.waitFor(() => (out.includes('resized') ? true : undefined));
    input.end();
    expect(await run).toEqual({ exitCode: 4 });
    expect(out).toBe('started tty=true size=100x30\nresized 120x40\n');
  });

  it('`persys exec -i` pipes standard input; `-it` without a terminal warns and goes on without a TTY', async () => {
    expect(await cli(['exec', '-i', 'container/web', '-n', 'shop', '--', 'cat'], undefined, 'hi\n')).toEqual({ code: 4, out: 'started tty=false\necho:hi\n', err: '' });
    const it = await cli(['exec', '-it', 'container/web', '-n', 'shop', '--', 'sh'], undefined, 'ls\n');
    expect(it).toEqual({ code: 4, out: 'started tty=false\necho:ls\n', err: 'Unable to use a TTY - input is not a terminal or the right kind of file\n' });
  });

  it('refuses a first message without start, stdin over 64 KiB (cancelling on the node), and stdin on Exec', async () => {
    const statusOf = (inputs: ExecInput[]) =>
      new Promise<ServiceError>((resolve) => {
        const call = ops.raw.execStream();
        call.on('data', () => undefined);
        call.on('error', resolve);
        for (const i of inputs) call.write(i);
      });
    const start: ExecInput = { input: { $case: 'start', value: { kind: '', namespace: 'shop', name: 'web', command: ['cat'], service: '', stdin: true, tty: false } } };
    const noStart = await statusOf([{ input: { $case: 'stdin', value: Buffer.from('x') } }]);
    expect(noStart).toMatchObject({ code: Code.INVALID_ARGUMENT, details: 'start: the first ExecInput must carry the ExecRequest' });
    const before = agent.cancels.length;
    const tooBig = await statusOf([start, { input: { $case: 'stdin', value: Buffer.alloc(64 * 1024 + 1) } }]);
    expect(tooBig).toMatchObject({ code: Code.INVALID_ARGUMENT, details: 'stdin: at most 65536 bytes per message, got 65537' });
    await agent.waitFor(() => (agent.cancels.length > before ? true : undefined));
    const raw = await new Promise<ServiceError>((resolve) => {
      const call = ops.raw.exec({ kind: '', namespace: 'shop', name: 'web', command: ['cat'], service: '', stdin: true, tty: false });
      call.on('data', () => undefined);
      call.on('error', resolve);
    });
    expect(raw).toMatchObject({ code: Code.INVALID_ARGUMENT, details: 'stdin: Exec has no standard input; use ExecStream' });
  });

  it("passes the agent's status code on (RESOURCE_EXHAUSTED for input the command did not read)", async () => {
    const err = await ops.execStream('overflowing', ['cat'], { namespace: 'shop', stdin: Readable.from([]) }).then(
      () => undefined,
      (e: ApiError) => e,
    );
    expect(err?.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(err?.message).toContain('node "ops-node": standard input arrived faster than the command read it');
  });

  it('cancels the exec on the node when the caller goes away', async () => {
    const abort = new AbortController();
    const input = new PassThrough();
    let out = '';
    const run = ops.execStream('web', ['sh'], { namespace: 'shop', stdin: input, signal: abort.signal, onOutput: (_, d) => (out += d.toString()) });
    await agent.waitFor(() => (out.includes('started') ? true : undefined));
    const id = lastExec().requestId;
    abort.abort();
    await expect(run).rejects.toMatchObject({ code: Code.CANCELLED });
    await agent.waitFor(() => (agent.cancels.includes(id) ? true : undefined));
  });
});

describe('through another API server of the cluster', () => {
  it('relays logs and exec to the API server holding the node stream, and cancels a followed log there', async () => {
    agent.heartbeat(heartbeat());
    const viaPeer = new OperationsClient(peer.config);
    try {
      // The session records where it is on the node's Lease with a heartbeat.
      let text = '';
      for (let i = 0; i < 100 && text === ''; i++) {
        text = await collect(viaPeer.logs('web', { namespace: 'shop', tailLines: 5 })).catch((e: ApiError) => {
          if (e.code !== Code.UNAVAILABLE) throw e;
          return new Promise<string>((r) => setTimeout(() => r(''), 100));
        });
      }
      expect(text).toBe('line 1\nline 2\n');
      expect(await viaPeer.exec('web', ['true'], { namespace: 'shop' })).toEqual({ exitCode: 3, stdout: Buffer.from('ran true\n'), stderr: Buffer.from('warning\n') });
      let out = '';
      const interactive = await viaPeer.execStream('web', ['cat'], { namespace: 'shop', stdin: Readable.from([Buffer.from('via peer\n')]), onOutput: (_, d) => (out += d.toString()) });
      expect({ interactive, out }).toEqual({ interactive: { exitCode: 4 }, out: 'started tty=false\necho:via peer\n' });
      const err = await collect(viaPeer.logs('broken', { namespace: 'shop' })).then(() => undefined, (e: ApiError) => e);
      expect(err?.message).toContain('node "ops-node": no container for Container shop/broken');

      const abort = new AbortController();
      let lines = 0;
      for await (const c of viaPeer.logs('web', { namespace: 'shop', follow: true, signal: abort.signal })) {
        lines += c.data.toString().split('\n').length - 1;
        if (lines >= 3) abort.abort();
      }
      const id = requests.at(-1)!.requestId;
      await agent.waitFor(() => (agent.cancels.includes(id) ? true : undefined));
    } finally {
      viaPeer.close();
    }
  });
});

describe('top and tokens', () => {
  it('`persys top nodes` shows the usage of the last heartbeat', async () => {
    agent.heartbeat(heartbeat());
    let res = await cli(['top', 'nodes']);
    for (let i = 0; i < 50 && !res.out.includes('12.5%'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      res = await cli(['top', 'nodes']);
    }
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^NAME\s+CPU%\s+MEMORY/);
    expect(res.out).toMatch(/ops-node\s+12\.5%\s+1Mi\s+3900m\s+7936Mi/);
  });

  it('`persys token create` prints a token and the join command using it', async () => {
    const res = await cli(['token', 'create', '--ttl', '1h', '--description', 'ci']);
    expect(res.code).toBe(0);
    const [token, command] = res.out.trim().split('\n');
    expect(token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(command).toMatch(new RegExp(`^persys agent --server 127\\.0\\.0\\.1:${api.server.port} .*--token ${token} --ca-cert-hash sha256:[0-9a-f]{64}$`));
    expect(res.err).toMatch(/expires at/);
  });
});

describe('when the node goes away', () => {
  it('ends a followed log with UNAVAILABLE', async () => {
    const stream = ops.logs('web', { namespace: 'shop', follow: true });
    const first = await stream.next();
    expect(first.done).toBe(false);
    agent.close();
    const err = await (async () => {
      for await (const _ of stream) void _;
    })().then(() => undefined, (e: ApiError) => e);
    expect(err?.code).toBe(Code.UNAVAILABLE);
    expect(err?.message).toMatch(/disconnected/);
  });
});
