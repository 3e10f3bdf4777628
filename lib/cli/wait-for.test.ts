import { describe, expect, it } from 'vitest';
import type { Resource } from '../api/resource.js';
import { parseWaitFor, waitMet, WaitForError } from './wait-for.js';

const obj = (status: Record<string, unknown>): Resource => ({ apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: 'x' }, status });

describe('parseWaitFor and waitMet', () => {
  it('reads condition=NAME as status True, condition=NAME=VALUE as given, case-insensitively as kubectl', () => {
    const ready = parseWaitFor('condition=Ready');
    expect(waitMet(ready, obj({ conditions: [{ type: 'Ready', status: 'True' }] }))).toBe(true);
    expect(waitMet(ready, obj({ conditions: [{ type: 'Ready', status: 'False' }] }))).toBe(false);
    expect(waitMet(ready, obj({}))).toBe(false);
    expect(waitMet(parseWaitFor('condition=ready=false'), obj({ conditions: [{ type: 'Ready', status: 'False' }] }))).toBe(true);
    expect(waitMet(ready, undefined)).toBe(false);
  });

  it('reads jsonpath={PATH}=VALUE, and a bare jsonpath={PATH} as "the field exists"', () => {
    const running = parseWaitFor('jsonpath={.status.phase}=Running');
    expect(waitMet(running, obj({ phase: 'Running' }))).toBe(true);
    expect(waitMet(running, obj({ phase: 'Pending' }))).toBe(false);
    const counted = parseWaitFor('jsonpath={.status.readyReplicas}=3');
    expect(waitMet(counted, obj({ readyReplicas: 3 }))).toBe(true);
    const exists = parseWaitFor('jsonpath={.status.nodeName}');
    expect(waitMet(exists, obj({ nodeName: 'n1' }))).toBe(true);
    expect(waitMet(exists, obj({}))).toBe(false);
    expect(waitMet(parseWaitFor('jsonpath=.status.phase=Running'), obj({ phase: 'Running' }))).toBe(true);
  });

  it('delete is met only when the object is gone', () => {
    expect(waitMet(parseWaitFor('delete'), undefined)).toBe(true);
    expect(waitMet(parseWaitFor('delete'), obj({}))).toBe(false);
  });

  it('refuses what it cannot read', () => {
    for (const bad of ['ready', 'condition=', 'condition=a=b=c', 'jsonpath=', 'jsonpath={.status[}=x']) expect(() => parseWaitFor(bad)).toThrow(WaitForError);
  });
});
