// Logs and exec requests answered as StreamChunks from a real container, and a followed log that
// ends when the request is cancelled.
import { randomUUID } from 'node:crypto';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureDocker, TEST_IMAGE } from '../e2e/harness/docker.js';
import { status as Code } from '@grpc/grpc-js';
import type { AgentRequest, ExecInput, ExecRequest, StreamChunk } from '../lib/gen/persys/v1/agent.js';
import { silentLogger } from '../lib/observability/logger.js';
import { LABEL_NODE } from './docker/labels.js';
import { DockerRuntime } from './docker/runtime.js';
import { createOptions } from './docker/spec.js';
import { MAX_STDIN_CHUNK, pickContainer, RequestHandler } from './requests.js';

const NODE = `req-${randomUUID().slice(0, 8)}`;
let docker: Dockerode;
let runtime: DockerRuntime;
let handler: RequestHandler;

beforeAll(async () => {
  docker = await ensureDocker();
  runtime = new DockerRuntime({ docker, node: NODE });
  handler = new RequestHandler(runtime, () => runtime.listManaged(), silentLogger());
  const c = {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name: 'talker', namespace: 'reqtest', uid: randomUUID() },
    spec: { image: TEST_IMAGE, command: ['sh', '-c', 'echo hello; echo oops >&2; sleep 600'], service: '' },
  };
  const id = await runtime.create(createOptions(c, { node: NODE }));
  await runtime.start(id);
});

afterAll(async () => {
  handler?.cancelAll();
  runtime?.close();
  const mine = await docker.listContainers({ all: true, filters: { label: [`${LABEL_NODE}=${NODE}`] } });
  await Promise.all(mine.map((c) => docker.getContainer(c.Id).remove({ force: true })));
});

function collect(): { chunks: StreamChunk[]; send: (c: StreamChunk) => Promise<void> } {
  const chunks: StreamChunk[] = [];
  return { chunks, send: async (c) => void chunks.push(c) };
}

const text = (chunks: StreamChunk[], stream: string) =>
  chunks.filter((c) => c.stream === stream).map((c) => c.data.toString()).join('');

describe('RequestHandler', () => {
  it('answers a logs request with stdout and stderr chunks, then an end chunk', async () => {
    await vi.waitFor(
      async () => {
        const { chunks, send } = collect();
        handler.handle({ requestId: 'r1', request: { $case: 'logs', value: { kind: 'Container', namespace: 'reqtest', name: 'talker', follow: false, tailLines: 0, sinceTime: '', timestamps: false, service: '' } } }, send);
        await vi.waitFor(() => expect(chunks.at(-1)?.end).toBe(true), { timeout: 10_000 });
        expect(text(chunks, 'stdout')).toBe('hello\n');
        expect(text(chunks, 'stderr')).toBe('oops\n');
        expect(chunks.every((c) => c.requestId === 'r1')).toBe(true);
      },
      { timeout: 15_000, interval: 200 },
    );
  });

  it('answers an exec request with its output and exit code', async () => {
    const { chunks, send } = collect();
    handler.handle({ requestId: 'r2', request: { $case: 'exec', value: { kind: 'Container', namespace: 'reqtest', name: 'talker', command: ['sh', '-c', 'echo hi; exit 3'], service: '', stdin: false, tty: false } } }, send);
    await vi.waitFor(() => expect(chunks.at(-1)?.end).toBe(true), { timeout: 15_000 });
    expect(text(chunks, 'stdout')).toBe('hi\n');
    expect(chunks.at(-1)).toMatchObject({ end: true, exitCode: 3, error: '' });
  });

  it('answers a request for an unknown container with an error chunk', async () => {
    const { chunks, send } = collect();
    handler.handle({ requestId: 'r3', request: { $case: 'exec', value: { kind: 'Container', namespace: 'reqtest', name: 'nope', command: ['true'], service: '', stdin: false, tty: false } } }, send);
    await vi.waitFor(() => expect(chunks).toHaveLength(1), { timeout: 10_000 });
    expect(chunks[0]).toMatchObject({ end: true, requestId: 'r3' });
    expect(chunks[0]!.error).toMatch(/no container for Container reqtest\/nope/);
  });

  const execReq = (requestId: string, command: string[], fields: Partial<ExecRequest> = {}): AgentRequest => ({
    requestId,
    request: { $case: 'exec', value: { kind: 'Container', namespace: 'reqtest', name: 'talker', command, service: '', stdin: true, tty: false, ...fields } },
  });
  const stdin = (data: string): ExecInput => ({ input: { $case: 'stdin', value: Buffer.from(data) } });
  const closeStdin: ExecInput = { input: { $case: 'stdinClose', value: true } };
  const resize = (width: number, height: number): ExecInput => ({ input: { $case: 'resize', value: { width, height } } });
  const ended = (chunks: StreamChunk[]) => vi.waitFor(() => expect(chunks.at(-1)?.end).toBe(true), { timeout: 15_000 });

  it('pipes standard input to the command, input sent before it started included, and ends on stdin close', async () => {
    const { chunks, send } = collect();
    handler.handle(execReq('i1', ['cat']), send);
    handler.input('i1', stdin('hello '));
    handler.input('i1', stdin('world\n'));
    handler.input('i1', closeStdin);
    await ended(chunks);
    expect(text(chunks, 'stdout')).toBe('hello world\n');
    expect(chunks.at(-1)).toMatchObject({ end: true, exitCode: 0, error: '' });
  });

  it('answers a line read from standard input, keeps stderr apart and passes the exit code on', async () => {
    const { chunks, send } = collect();
    handler.handle(execReq('i2', ['sh', '-c', 'read x; echo got $x; echo err >&2; exit 7']), send);
    await new Promise((r) => setTimeout(r, 200));
    handler.input('i2', stdin('line\n'));
    await ended(chunks);
    expect(text(chunks, 'stdout')).toBe('got line\n');
    expect(text(chunks, 'stderr')).toBe('err\n');
    expect(chunks.at(-1)).toMatchObject({ exitCode: 7 });
  });

  it('runs on a TTY of the size sent, resized on request, output as one raw stream', async () => {
    const { chunks, send } = collect();
    handler.handle(execReq('i3', ['sh', '-c', 'tty >/dev/null && echo is-a-tty; read x; stty size; read y; stty size; echo err >&2'], { tty: true, terminalSize: { width: 100, height: 30 } }), send);
    await vi.waitFor(() => expect(text(chunks, 'stdout')).toContain('is-a-tty'), { timeout: 10_000 });
    handler.input('i3', stdin('\r'));
    await vi.waitFor(() => expect(text(chunks, 'stdout')).toContain('30 100'), { timeout: 10_000 });
    handler.input('i3', resize(120, 40));
    await new Promise((r) => setTimeout(r, 300));
    handler.input('i3', stdin('\r'));
    await ended(chunks);
    const out = text(chunks, 'stdout');
    expect(out).toContain('40 120');
    expect(out).toContain('err\r\n');
    expect(text(chunks, 'stderr')).toBe('');
    expect(chunks.at(-1)).toMatchObject({ exitCode: 0, error: '' });
  });

  it('fails an exec whose standard input chunk is too large, with INVALID_ARGUMENT', async () => {
    const { chunks, send } = collect();
    handler.handle(execReq('i4', ['cat']), send);
    handler.input('i4', { input: { $case: 'stdin', value: Buffer.alloc(MAX_STDIN_CHUNK + 1) } });
    await ended(chunks);
    expect(chunks.at(-1)).toMatchObject({ errorCode: Code.INVALID_ARGUMENT });
    expect(chunks.at(-1)!.error).toMatch(/at most 65536 bytes/);
  });

  it('cancels an interactive exec without touching the container or other execs', async () => {
    const a = collect();
    const b = collect();
    handler.handle(execReq('i5', ['sh', '-c', 'echo started; cat']), a.send);
    handler.handle(execReq('i6', ['cat']), b.send);
    await vi.waitFor(() => expect(text(a.chunks, 'stdout')).toBe('started\n'), { timeout: 10_000 });
    handler.cancel('i5');
    handler.input('i6', stdin('still here\n'));
    handler.input('i6', closeStdin);
    await ended(b.chunks);
    expect(text(b.chunks, 'stdout')).toBe('still here\n');
    await new Promise((r) => setTimeout(r, 200));
    expect(a.chunks.some((c) => c.end || c.error)).toBe(false);
    const [talker] = await docker.listContainers({ filters: { label: [`${LABEL_NODE}=${NODE}`] } });
    expect(talker?.State).toBe('running');
  });

  it('stops a followed log when the request is cancelled, sending no end chunk after', async () => {
    const { chunks, send } = collect();
    handler.handle({ requestId: 'r4', request: { $case: 'logs', value: { kind: 'Container', namespace: 'reqtest', name: 'talker', follow: true, tailLines: 0, sinceTime: '', timestamps: false, service: '' } } }, send);
    await vi.waitFor(() => expect(text(chunks, 'stdout')).toBe('hello\n'), { timeout: 10_000 });
    handler.cancel('r4');
    await new Promise((r) => setTimeout(r, 300));
    expect(chunks.some((c) => c.end || c.error)).toBe(false);
  });
});

describe('pickContainer', () => {
  it('prefers the running container of the object', () => {
    const base = { containerName: '', uid: 'u', kind: 'Container', namespace: 'ns', name: 'a', image: '', exitCode: 0 };
    const picked = pickContainer(
      [
        { ...base, id: 'old', state: 'exited', startedAt: '2025-01-02T00:00:00Z' },
        { ...base, id: 'live', state: 'running', startedAt: '2025-01-01T00:00:00Z' },
        { ...base, id: 'other', name: 'b', state: 'running' },
      ],
      'Container',
      'ns',
      'a',
    );
    expect(picked?.id).toBe('live');
  });
});
