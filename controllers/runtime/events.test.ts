// EventRecorder logic without a server: deterministic names, the per-object rate limit and that a
// failing write never rejects. Aggregation against a real API server is in events.integration.test.ts.
import { status as Code } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { ApiError } from '../../lib/client/errors.js';
import { EventRecorder, eventName, type EventClient } from './events.js';
import { FakeClock } from '../../lib/queue/fake-clock.js';

// Stores events by namespace/name with a revision, answering like the API server does.
class MemoryEvents implements EventClient {
  readonly events = new Map<string, Resource>();
  failWith?: ApiError;
  private rev = 1;

  async get(_kind: string, name: string, namespace = ''): Promise<Resource> {
    const e = this.events.get(`${namespace}/${name}`);
    if (!e) throw new ApiError(Code.NOT_FOUND, 'NOT_FOUND', 'not found');
    return structuredClone(e);
  }

  async create(obj: Resource): Promise<Resource> {
    if (this.failWith) throw this.failWith;
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    if (this.events.has(key)) throw new ApiError(Code.ALREADY_EXISTS, 'ALREADY_EXISTS', 'exists');
    return this.store(key, obj);
  }

  async update(obj: Resource): Promise<Resource> {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const cur = this.events.get(key);
    if (!cur) throw new ApiError(Code.NOT_FOUND, 'NOT_FOUND', 'not found');
    if (obj.metadata.resourceVersion !== cur.metadata.resourceVersion) throw new ApiError(Code.ABORTED, 'ABORTED', 'conflict');
    return this.store(key, obj);
  }

  private store(key: string, obj: Resource): Resource {
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.rev);
    this.events.set(key, stored);
    return structuredClone(stored);
  }
}

const container = (name: string, uid = `uid-${name}`): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name, namespace: 'team-a', uid },
});

describe('eventName', () => {
  it('is the object name and a hash of the object uid, reason and message', () => {
    const a = eventName(container('web'), 'Warning', 'FailedScheduling', 'no nodes');
    expect(a).toMatch(/^web\.[0-9a-f]{16}$/);
    expect(eventName(container('web'), 'Warning', 'FailedScheduling', 'no nodes')).toBe(a);
    expect(eventName(container('web'), 'Warning', 'FailedScheduling', 'other')).not.toBe(a);
    expect(eventName(container('web', 'uid-recreated'), 'Warning', 'FailedScheduling', 'no nodes')).not.toBe(a);
  });

  it('stays a valid object name for a very long object name', () => {
    const name = eventName(container(`${'a'.repeat(235)}-b.c`), 'Normal', 'R', 'm');
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    expect(name).not.toMatch(/[-.]\./);
  });
});

describe('EventRecorder', () => {
  it('puts the event in the object namespace, or default for a cluster-scoped object', async () => {
    const client = new MemoryEvents();
    const rec = new EventRecorder({ client, component: 'test', host: 'h1' });
    await rec.record(container('web'), 'Normal', 'Scheduled', 'assigned');
    await rec.record({ apiVersion: 'persys.dev/v1', kind: 'Node', metadata: { name: 'n1.example', uid: 'u-n1' } }, 'Warning', 'NotReady', 'gone');
    const names = [...client.events.keys()];
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/^team-a\/web\./);
    expect(names[1]).toMatch(/^default\/n1\.example\./);
    expect(client.events.get(names[1]!)!['involvedObject']).toEqual({ apiVersion: 'persys.dev/v1', kind: 'Node', namespace: '', name: 'n1.example', uid: 'u-n1' });
  });

  it('counts repeats into one Event and moves lastTimestamp', async () => {
    const client = new MemoryEvents();
    const clock = new FakeClock(Date.parse('2024-05-01T12:00:00Z'));
    const rec = new EventRecorder({ client, component: 'test', clock });
    await rec.record(container('web'), 'Warning', 'FailedScheduling', 'full');
    clock.advance(60_000);
    await rec.record(container('web'), 'Warning', 'FailedScheduling', 'full');
    expect(client.events.size).toBe(1);
    const e = [...client.events.values()][0]!;
    expect(e).toMatchObject({ count: 2, firstTimestamp: '2024-05-01T12:00:00.000Z', lastTimestamp: '2024-05-01T12:01:00.000Z' });
  });

  it('drops events of an object beyond its burst until tokens refill, without limiting other objects', async () => {
    const client = new MemoryEvents();
    const clock = new FakeClock();
    const rec = new EventRecorder({ client, component: 'test', clock, burst: 3, refillPerSecond: 1 / 60 });
    const written: boolean[] = [];
    for (let i = 0; i < 5; i++) written.push(await rec.record(container('noisy'), 'Warning', 'Boom', `attempt ${i}`));
    expect(written).toEqual([true, true, true, false, false]);
    expect(await rec.record(container('quiet'), 'Normal', 'Hello', 'hi')).toBe(true);
    clock.advance(60_000);
    expect(await rec.record(container('noisy'), 'Warning', 'Boom', 'later')).toBe(true);
    expect(await rec.record(container('noisy'), 'Warning', 'Boom', 'later')).toBe(false);
    expect(client.events.size).toBe(5);
  });

  it('resolves false instead of rejecting when the API refuses the event', async () => {
    const client = new MemoryEvents();
    client.failWith = new ApiError(Code.UNAVAILABLE, 'UNAVAILABLE', 'down');
    const rec = new EventRecorder({ client, component: 'test' });
    await expect(rec.record(container('web'), 'Normal', 'Scheduled', 'x')).resolves.toBe(false);
  });

  it('aggregates into an Event another recorder wrote, after a conflict on its own stale copy', async () => {
    const client = new MemoryEvents();
    const one = new EventRecorder({ client, component: 'test' });
    const two = new EventRecorder({ client, component: 'test' });
    await one.record(container('web'), 'Warning', 'FailedScheduling', 'full');
    await two.record(container('web'), 'Warning', 'FailedScheduling', 'full');
    await one.record(container('web'), 'Warning', 'FailedScheduling', 'full');
    expect(client.events.size).toBe(1);
    expect([...client.events.values()][0]!['count']).toBe(3);
  });
});
