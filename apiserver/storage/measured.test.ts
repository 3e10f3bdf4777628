// MeasuredStorage counts etcd failures, not the answers callers expect (not found, conflict, …).
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AlreadyExistsError, ConflictError, InvalidRequestError, NotFoundError, TooOldError } from './errors.js';
import type { Storage } from './interface.js';
import { isEtcdFailure, MeasuredStorage } from './measured.js';

describe('isEtcdFailure', () => {
  it.each([
    ['not found', new NotFoundError('/k'), false],
    ['already exists', new AlreadyExistsError('/k'), false],
    ['conflict', new ConflictError('/k', '1', '2'), false],
    ['too old', new TooOldError('5'), false],
    ['invalid request', new InvalidRequestError('bad continue token'), false],
    ['an unreachable member', Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 }), true],
    ['a deadline', new Error('deadline exceeded'), true],
  ])('%s → %s', (_what, err, failure) => {
    expect(isEtcdFailure(err)).toBe(failure);
  });
});

describe('MeasuredStorage', () => {
  it('counts failed calls per operation in etcd_request_errors_total and times every call', async () => {
    const registry = new Registry();
    const duration = new Histogram({ name: 'etcd_request_duration_seconds', help: 'h', labelNames: ['operation'] as const, registers: [registry] });
    const errors = new Counter({ name: 'etcd_request_errors_total', help: 'h', labelNames: ['operation'] as const, registers: [registry] });
    const inner = {
      get: async (key: string) => {
        if (key === '/missing') throw new NotFoundError(key);
        throw new Error('14 UNAVAILABLE');
      },
    } as unknown as Storage;
    const storage = new MeasuredStorage(inner, duration, errors);
    await expect(storage.get('/missing')).rejects.toBeInstanceOf(NotFoundError);
    await expect(storage.get('/down')).rejects.toThrow('UNAVAILABLE');
    await expect(storage.get('/down')).rejects.toThrow('UNAVAILABLE');
    expect((await errors.get()).values).toEqual([{ value: 2, labels: { operation: 'get' } }]);
    const count = (await duration.get()).values.find((v) => v.metricName === 'etcd_request_duration_seconds_count');
    expect(count?.value).toBe(3);
  });
});
