// The LCS line diff and its diff -u rendering.
import { describe, expect, it } from 'vitest';
import { diffLines, unifiedDiff } from './diff.js';

const lines = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `line ${i + from}`);

describe('diffLines', () => {
  it('keeps the longest common subsequence and marks the rest', () => {
    expect(diffLines(['a', 'b', 'c', 'd'], ['a', 'c', 'x', 'd']).map((e) => e.op + e.line)).toEqual([
      ' a', '-b', ' c', '+x', ' d',
    ]);
  });

  it('handles empty sides', () => {
    expect(diffLines([], ['a']).map((e) => e.op + e.line)).toEqual(['+a']);
    expect(diffLines(['a'], []).map((e) => e.op + e.line)).toEqual(['-a']);
    expect(diffLines([], [])).toEqual([]);
  });

  it('reconstructs both inputs from the edit script', () => {
    const a = ['x', 'a', 'b', 'c', 'a', 'b', 'b', 'a'];
    const b = ['c', 'b', 'a', 'b', 'a', 'c'];
    const edits = diffLines(a, b);
    expect(edits.filter((e) => e.op !== '+').map((e) => e.line)).toEqual(a);
    expect(edits.filter((e) => e.op !== '-').map((e) => e.line)).toEqual(b);
    expect(edits.filter((e) => e.op === ' ').length).toBe(4);
  });
});

describe('unifiedDiff', () => {
  const labels = { fromLabel: 'live/container/web', toLabel: 'merged/container/web' };

  it('is empty when the texts are equal', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', labels)).toBe('');
  });

  it('shows a new object as one all-added hunk from line 0', () => {
    expect(unifiedDiff('', 'a: 1\nb: 2\n', labels)).toBe(
      '--- live/container/web\n+++ merged/container/web\n@@ -0,0 +1,2 @@\n+a: 1\n+b: 2\n',
    );
  });

  it('shows three lines of context and omits a count of one', () => {
    const from = lines(10).join('\n') + '\n';
    const to = lines(10).map((l) => (l === 'line 5' ? 'line five' : l)).join('\n') + '\n';
    expect(unifiedDiff(from, to, labels)).toBe(
      [
        '--- live/container/web',
        '+++ merged/container/web',
        '@@ -2,7 +2,7 @@',
        ' line 2',
        ' line 3',
        ' line 4',
        '-line 5',
        '+line five',
        ' line 6',
        ' line 7',
        ' line 8',
        '',
      ].join('\n'),
    );
    expect(unifiedDiff('a\n', 'b\n', labels)).toContain('@@ -1 +1 @@\n-a\n+b\n');
  });

  it('splits distant changes into separate hunks with correct line numbers', () => {
    const from = lines(30);
    const to = [...from];
    to[1] = 'changed 2';
    to.splice(25, 0, 'inserted');
    const out = unifiedDiff(from.join('\n'), to.join('\n'), labels);
    const headers = out.split('\n').filter((l) => l.startsWith('@@'));
    expect(headers).toEqual(['@@ -1,5 +1,5 @@', '@@ -23,6 +23,7 @@']);
  });
});
