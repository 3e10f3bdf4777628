import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';

const obj = (labels: Record<string, string>, extra: Partial<Resource> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: { name: 'web', namespace: 'shop', labels },
  ...extra,
});

describe('label selectors', () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ['', {}, true],
    ['app=web', { app: 'web' }, true],
    ['app==web', { app: 'web' }, true],
    ['app=web', { app: 'api' }, false],
    ['app!=web', { app: 'api' }, true],
    ['app!=web', {}, true],
    ['app!=web', { app: 'web' }, false],
    ['env in (prod, staging)', { env: 'staging' }, true],
    ['env in (prod,staging)', { env: 'dev' }, false],
    ['env in (prod)', {}, false],
    ['env notin (prod)', { env: 'dev' }, true],
    ['env notin (prod)', {}, true],
    ['env notin (prod)', { env: 'prod' }, false],
    ['legacy', { legacy: 'x' }, true],
    ['legacy', {}, false],
    ['!legacy', {}, true],
    ['!legacy', { legacy: '' }, false],
    ['app=web,env in (a,b),!legacy', { app: 'web', env: 'b' }, true],
    ['app=web,env in (a,b),!legacy', { app: 'web', env: 'b', legacy: '1' }, false],
    ['persys.dev/owner=x', { 'persys.dev/owner': 'x' }, true],
  ];
  it.each(cases)('%j on %j matches: %s', (sel, labels, want) => {
    expect(parseLabelSelector(sel)(obj(labels))).toBe(want);
  });

  it.each(['app=', 'app=web,', '=web', 'env in (a b)', 'a b c', 'app=we b'])('rejects malformed selector %j', (sel) => {
    if (sel === 'app=') {
      // an empty value is legal (matches the empty label value)
      expect(parseLabelSelector(sel)(obj({ app: '' }))).toBe(true);
      return;
    }
    expect(() => parseLabelSelector(sel)).toThrow(SelectorError);
  });
});

describe('field selectors', () => {
  const o = obj({}, { spec: { nodeName: 'node-1' }, status: { phase: 'Running' } });
  it('matches supported fields with = and !=', () => {
    expect(parseFieldSelector('metadata.name=web')(o)).toBe(true);
    expect(parseFieldSelector('metadata.namespace=shop,spec.nodeName=node-1')(o)).toBe(true);
    expect(parseFieldSelector('status.phase!=Running')(o)).toBe(false);
    expect(parseFieldSelector('spec.nodeName=')(obj({}))).toBe(true);
  });
  it('names the unsupported field and lists the supported ones', () => {
    expect(() => parseFieldSelector('spec.image=x')).toThrow(/spec.image.*not supported.*metadata.name/);
  });
});
