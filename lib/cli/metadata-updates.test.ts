// kubectl's label/annotate argument rules and how they change a map.
import { describe, expect, it } from 'vitest';
import { isUpdateArg, parseMapUpdates, updateMap } from './metadata-updates.js';

describe('parseMapUpdates', () => {
  it('reads key=value (a value may hold "=" or be empty) and key-', () => {
    expect(parseMapUpdates(['app=web', 'note=a=b', 'empty=', 'old-'], 'annotations', 'annotate')).toEqual({
      set: { app: 'web', note: 'a=b', empty: '' },
      remove: ['old'],
    });
  });

  it('refuses no update, a bare word, and a key both set and removed', () => {
    expect(() => parseMapUpdates([], 'labels', 'label')).toThrow('at least one label update is required');
    expect(() => parseMapUpdates(['=x'], 'labels', 'label')).toThrow('invalid label spec: =x');
    expect(() => parseMapUpdates(['a=1', 'a-'], 'labels', 'label')).toThrow('can not both modify and remove a label in the same command: a');
  });

  it('tells updates from object names', () => {
    expect(['web', 'a=b', 'a-', '-'].map(isUpdateArg)).toEqual([false, true, true, false]);
  });
});

describe('updateMap', () => {
  const current = { app: 'web', tier: 'front' };

  it('adds and removes keys, reporting removals of keys that are not there', () => {
    expect(updateMap(current, { set: { zone: 'a' }, remove: ['tier', 'ghost'] }, false, 'labels')).toEqual({
      map: { app: 'web', zone: 'a' },
      notFound: ['ghost'],
    });
    expect(current).toEqual({ app: 'web', tier: 'front' });
  });

  it("refuses to change a key that has a value without --overwrite, in kubectl's words", () => {
    expect(() => updateMap(current, { set: { app: 'db' }, remove: [] }, false, 'labels')).toThrow(
      "'app' already has a value (web), and --overwrite is false",
    );
    // kubectl refuses even when the value would not change.
    expect(() => updateMap(current, { set: { app: 'web' }, remove: [] }, false, 'annotations')).toThrow(
      "--overwrite is false but found the following declared annotation(s): 'app' already has a value (web)",
    );
    expect(updateMap(current, { set: { app: 'db' }, remove: [] }, true, 'labels').map).toEqual({ app: 'db', tier: 'front' });
  });
});
