// The event ring: which revisions are resumable and what replay returns.
import { describe, expect, it } from 'vitest';
import { EventHistory } from './history.js';

const ev = (revision: string, id = revision) => ({ revision, id });

describe('EventHistory', () => {
  it('replays exactly the events after a revision', () => {
    const h = new EventHistory<{ revision: string; id: string }>(10, '5');
    for (const r of ['6', '7', '9', '10']) h.push(ev(r));
    expect(h.since('5')!.map((e) => e.revision)).toEqual(['6', '7', '9', '10']);
    expect(h.since('7')!.map((e) => e.revision)).toEqual(['9', '10']);
    expect(h.since('8')!.map((e) => e.revision)).toEqual(['9', '10']);
    expect(h.since('10')).toEqual([]);
  });

  it('refuses revisions before its start, which advances as the ring evicts', () => {
    const h = new EventHistory<{ revision: string; id: string }>(3, '5');
    expect(h.since('4')).toBeUndefined();
    for (const r of ['6', '7', '8', '9']) h.push(ev(r));
    expect(h.startRevision).toBe('6');
    expect(h.since('5')).toBeUndefined();
    expect(h.since('6')!.map((e) => e.revision)).toEqual(['7', '8', '9']);
  });

  it('keeps a revision resumable when only some of its same-revision events were evicted', () => {
    const h = new EventHistory<{ revision: string; id: string }>(2, '1');
    h.push(ev('2', 'a'));
    h.push(ev('2', 'b'));
    h.push(ev('3', 'c'));
    expect(h.since('1')).toBeUndefined();
    expect(h.since('2')!.map((e) => e.id)).toEqual(['c']);
  });

  it('compares revisions numerically, not as text', () => {
    const h = new EventHistory<{ revision: string; id: string }>(10, '9');
    h.push(ev('10'));
    h.push(ev('100'));
    expect(h.since('99')!.map((e) => e.revision)).toEqual(['100']);
  });

  it('refuses revisions strictly inside a re-list gap until the gap leaves the ring', () => {
    const h = new EventHistory<{ revision: string; id: string }>(2, '1');
    h.push(ev('3'));
    h.markGap('3', '8');
    h.push(ev('8'));
    expect(h.isResumable('3')).toBe(true);
    expect(h.isResumable('5')).toBe(false);
    expect(h.isResumable('8')).toBe(true);
    h.push(ev('9'));
    h.push(ev('10'));
    expect(h.startRevision).toBe('8');
    expect(h.isResumable('9')).toBe(true);
  });
});
