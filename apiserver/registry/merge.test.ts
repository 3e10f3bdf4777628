import { describe, expect, it } from 'vitest';
import { declaredFieldsChanged, deepEqual, mergeApplied } from './merge.js';

describe('mergeApplied (three-way apply merge)', () => {
  it('sets applied fields and keeps fields nobody applied', () => {
    const live = { spec: { image: 'a', nodeName: 'n1', restartPolicy: 'Always' } };
    const last = { spec: { image: 'a' } };
    const applied = { spec: { image: 'b' } };
    expect(mergeApplied(live, last, applied)).toEqual({ spec: { image: 'b', nodeName: 'n1', restartPolicy: 'Always' } });
  });

  it('removes a field that was applied before and is gone from the manifest', () => {
    const live = { metadata: { labels: { app: 'web', tier: 'fe' } }, spec: { image: 'a', args: ['x'] } };
    const last = { metadata: { labels: { app: 'web', tier: 'fe' } }, spec: { image: 'a', args: ['x'] } };
    const applied = { metadata: { labels: { app: 'web' } }, spec: { image: 'a' } };
    expect(mergeApplied(live, last, applied)).toEqual({ metadata: { labels: { app: 'web' } }, spec: { image: 'a' } });
  });

  it('replaces arrays whole instead of merging them', () => {
    const live = { spec: { ports: [{ containerPort: 80 }, { containerPort: 81 }] } };
    const applied = { spec: { ports: [{ containerPort: 90 }] } };
    expect(mergeApplied(live, applied, applied)).toEqual(applied);
  });

  it('is a no-op when the same manifest is applied again', () => {
    const applied = { spec: { image: 'a', env: [{ name: 'A', value: '1' }] } };
    const live = { spec: { image: 'a', env: [{ name: 'A', value: '1' }], restartPolicy: 'Always' } };
    expect(deepEqual(mergeApplied(live, applied, applied), live)).toBe(true);
  });
});

describe('declaredFieldsChanged', () => {
  const base = { apiVersion: 'persys.dev/v1', kind: 'Container', metadata: { name: 'a' }, spec: { image: 'x' } };
  it('ignores metadata and status', () => {
    expect(declaredFieldsChanged(base, { ...base, metadata: { name: 'a', labels: { a: 'b' } }, status: { phase: 'Running' } })).toBe(false);
  });
  it('sees spec and top-level data changes', () => {
    expect(declaredFieldsChanged(base, { ...base, spec: { image: 'y' } })).toBe(true);
    expect(declaredFieldsChanged({ ...base, data: { a: 'MQ==' } }, { ...base, data: { a: 'Mg==' } })).toBe(true);
  });
});
