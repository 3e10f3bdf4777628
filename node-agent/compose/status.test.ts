// Phase, per-service counts and the Ready condition of a ComposeStack status.
import { describe, expect, it } from 'vitest';
import type { ServiceState } from './plan.js';
import { stackStatus } from './status.js';

const NOW = Date.parse('2025-01-01T00:00:00Z');
const ready = (name: string): ServiceState => ({ name, desired: 1, running: 1, healthy: 1, reason: '', ready: true, trouble: false });
const waiting = (name: string, reason: string, trouble = false): ServiceState => ({ name, desired: 1, running: 0, healthy: 0, reason, ready: false, trouble });

describe('stackStatus', () => {
  it.each([
    ['Running', [ready('db'), ready('api')], 'True', 'AllServicesReady', ''],
    ['Pending', [ready('db'), waiting('api', 'waiting for db to be healthy')], 'False', 'ServicesStarting', 'api: waiting for db to be healthy'],
    ['Degraded', [waiting('db', 'image x is not present on node n1', true), waiting('api', 'waiting for db to be healthy')], 'False', 'ServicesNotReady', 'db: image x is not present on node n1; api: waiting for db to be healthy'],
  ] as const)('is %s for its services', (phase, services, status, reason, message) => {
    const s = stackStatus({ node: 'n1', generation: 3, services: [...services], now: NOW });
    expect(s).toMatchObject({ phase, nodeName: 'n1', observedGeneration: 3 });
    expect(s.conditions[0]).toEqual({ type: 'Ready', status, reason, message, lastTransitionTime: '2025-01-01T00:00:00.000Z' });
    expect(s.services[0]).not.toHaveProperty('ready');
  });

  it('is Failed with the parse errors as the message', () => {
    const s = stackStatus({ node: 'n1', generation: 1, parseErrors: ['services.web.build: not supported'], now: NOW });
    expect(s.phase).toBe('Failed');
    expect(s.conditions[0]).toMatchObject({ status: 'False', reason: 'InvalidComposeFile', message: 'services.web.build: not supported' });
  });

  it('moves lastTransitionTime only when Ready changes', () => {
    const first = stackStatus({ node: 'n1', generation: 1, services: [waiting('db', 'creating db')], now: NOW });
    const same = stackStatus({ node: 'n1', generation: 1, services: [waiting('db', 'waiting')], previous: first, now: NOW + 5_000 });
    expect(same.conditions[0]!.lastTransitionTime).toBe(first.conditions[0]!.lastTransitionTime);
    const flipped = stackStatus({ node: 'n1', generation: 1, services: [ready('db')], previous: same, now: NOW + 9_000 });
    expect(flipped.conditions[0]!.lastTransitionTime).toBe(new Date(NOW + 9_000).toISOString());
  });
});
