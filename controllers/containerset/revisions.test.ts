// The revisions a ContainerSet keeps: numbering in rollout order, renumbering after an undo, and trimming.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/api/resource.js';
import { planRevisions } from './revisions.js';

const set = (revisionHistoryLimit?: number): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'ContainerSet',
  metadata: { name: 'web' },
  spec: { revisionHistoryLimit },
});
const rev = (hash: string, revision: number): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'ControllerRevision',
  metadata: { name: `web-${hash}` },
  revision: String(revision),
});

describe('planRevisions', () => {
  it('creates revision 1 for a new set', () => {
    expect(planRevisions(set(), [], 'aaa')).toEqual({ upsert: { name: 'web-aaa', revision: 1 }, delete: [] });
  });

  it('numbers a new template after the highest revision', () => {
    expect(planRevisions(set(), [rev('aaa', 1), rev('bbb', 2)], 'ccc').upsert).toEqual({ name: 'web-ccc', revision: 3 });
  });

  it('leaves the current revision alone when it is the newest', () => {
    expect(planRevisions(set(), [rev('aaa', 1), rev('bbb', 2)], 'bbb')).toEqual({ upsert: undefined, delete: [] });
  });

  it('renumbers an old template brought back by an undo as the newest', () => {
    const old = rev('aaa', 1);
    expect(planRevisions(set(), [old, rev('bbb', 2)], 'aaa').upsert).toEqual({ name: 'web-aaa', revision: 3, existing: old });
  });

  it('keeps at most revisionHistoryLimit old revisions, deleting the oldest', () => {
    const revs = [rev('a', 1), rev('b', 2), rev('c', 3), rev('d', 4)];
    expect(planRevisions(set(2), revs, 'd').delete).toEqual(['web-a']);
    expect(planRevisions(set(0), revs, 'd').delete).toEqual(['web-a', 'web-b', 'web-c']);
  });

  it('defaults the history limit to 10', () => {
    const revs = Array.from({ length: 13 }, (_, i) => rev(`h${i}`, i + 1));
    expect(planRevisions(set(), revs, 'h12').delete).toEqual(['web-h0', 'web-h1']);
  });
});
