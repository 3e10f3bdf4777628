// The engine guard's own logic (deadlines, what opens the breaker), with attempts standing in for
// engine calls; node-agent/docker/runtime.test.ts drives it against a real Docker engine.
import { describe, expect, it } from 'vitest';
import { DockerTimeoutError, DockerUnavailableError, EngineGuard, isCallerSide } from './engine-guard.js';

const engineDown = () => Promise.reject(Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' }));
const status = (statusCode: number) => () => Promise.reject(Object.assign(new Error(`HTTP ${statusCode}`), { statusCode }));

function guard(): EngineGuard {
  return new EngineGuard({ node: 'n1', callTimeoutMs: 1_000, breaker: { volumeThreshold: 3, resetTimeoutMs: 60_000 } });
}

describe('EngineGuard', () => {
  it('aborts a call at its deadline with DockerTimeoutError, through the signal it hands the attempt', async () => {
    const g = guard();
    let seen: AbortSignal | undefined;
    const hang = (signal: AbortSignal) => {
      seen = signal;
      return new Promise<never>(() => undefined);
    };
    await expect(g.call('inspect', hang, { timeoutMs: 20 })).rejects.toBeInstanceOf(DockerTimeoutError);
    expect(seen?.aborted).toBe(true);
    g.close();
  });

  it('opens after repeated engine failures and then fails fast without calling the engine', async () => {
    const g = guard();
    const opened: string[] = [];
    g.on('open', () => opened.push('open'));
    for (let i = 0; i < 3; i++) await expect(g.call('list', engineDown)).rejects.toThrow('ENOENT');
    expect(g.state()).toBe('open');
    expect(opened).toEqual(['open']);
    let called = false;
    await expect(
      g.call('list', async () => {
        called = true;
      }),
    ).rejects.toBeInstanceOf(DockerUnavailableError);
    expect(called).toBe(false);
    g.close();
  });

  it('does not count the caller\'s mistakes: 404, 409, 304, a cancelled call, errors marked notAnEngineFailure', async () => {
    const g = guard();
    for (const attempt of [status(404), status(409), status(304), status(404), status(409)]) await expect(g.call('x', attempt)).rejects.toThrow();
    const marked = () => Promise.reject(Object.assign(new Error('manifest unknown'), { notAnEngineFailure: true }));
    for (let i = 0; i < 3; i++) await expect(g.call('pull', marked)).rejects.toThrow('manifest unknown');
    const caller = new AbortController();
    caller.abort();
    await expect(g.call('x', engineDown, { signal: caller.signal })).rejects.toThrow();
    expect(g.state()).toBe('closed');
    g.close();
  });

  it('is one breaker for every path that shares it: failures on one path fail the others fast', async () => {
    const g = guard();
    // Say, the compose path fails…
    for (let i = 0; i < 3; i++) await expect(g.call('compose listContainers', engineDown)).rejects.toThrow();
    // …and the Container path sees the engine as unavailable.
    await expect(g.call('create', async () => 'created')).rejects.toBeInstanceOf(DockerUnavailableError);
    g.close();
  });

  it('classifies engine answers: 5xx and transport errors are the engine\'s, 4xx and 304 the caller\'s', () => {
    expect(isCallerSide(Object.assign(new Error(), { statusCode: 500 }))).toBe(false);
    expect(isCallerSide(new Error('socket hang up'))).toBe(false);
    expect(isCallerSide(Object.assign(new Error(), { statusCode: 400 }))).toBe(true);
    expect(isCallerSide(Object.assign(new Error(), { statusCode: 304 }))).toBe(true);
  });
});
