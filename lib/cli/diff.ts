// A small line diff (longest common subsequence) and its `diff -u` rendering, for `persys diff`.

export interface LineEdit {
  op: ' ' | '-' | '+';
  line: string;
}

/** The edit script turning `a` into `b`, keeping the longest common subsequence of lines. */
export function diffLines(a: string[], b: string[]): LineEdit[] {
  // Common prefix and suffix are cheap to peel off and usually most of a manifest.
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);

  const n = am.length;
  const m = bm.length;
  // lcs[i][j] = LCS length of am[i..] and bm[j..], flattened.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] =
        am[i] === bm[j]
          ? lcs[(i + 1) * (m + 1) + j + 1]! + 1
          : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    }
  }
  const middle: LineEdit[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (am[i] === bm[j]) {
      middle.push({ op: ' ', line: am[i]! });
      i++;
      j++;
    } else if (lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!) {
      middle.push({ op: '-', line: am[i++]! });
    } else {
      middle.push({ op: '+', line: bm[j++]! });
    }
  }
  while (i < n) middle.push({ op: '-', line: am[i++]! });
  while (j < m) middle.push({ op: '+', line: bm[j++]! });

  return [
    ...a.slice(0, pre).map((line) => ({ op: ' ' as const, line })),
    ...middle,
    ...a.slice(a.length - suf).map((line) => ({ op: ' ' as const, line })),
  ];
}

export interface UnifiedDiffOptions {
  fromLabel: string;
  toLabel: string;
  /** Unchanged lines shown around each change. @default 3 */
  context?: number;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const range = (start: number, count: number): string =>
  count === 1 ? `${start}` : `${count === 0 ? start - 1 : start},${count}`;

/** `diff -u` output from `from` to `to`; '' when they are equal. */
export function unifiedDiff(from: string, to: string, opts: UnifiedDiffOptions): string {
  const edits = diffLines(splitLines(from), splitLines(to));
  if (edits.every((e) => e.op === ' ')) return '';
  const context = opts.context ?? 3;

  // Group changes whose context windows touch into hunks.
  const changed = edits.map((e, idx) => (e.op === ' ' ? -1 : idx)).filter((idx) => idx >= 0);
  const hunks: Array<[number, number]> = [];
  for (const idx of changed) {
    const start = Math.max(0, idx - context);
    const end = Math.min(edits.length, idx + context + 1);
    const last = hunks[hunks.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else hunks.push([start, end]);
  }

  const out = [`--- ${opts.fromLabel}`, `+++ ${opts.toLabel}`];
  // Line numbers (1-based) in `from` and `to` where each edit index begins.
  let oldLine = 1;
  let newLine = 1;
  let cursor = 0;
  for (const [start, end] of hunks) {
    for (; cursor < start; cursor++) {
      if (edits[cursor]!.op !== '+') oldLine++;
      if (edits[cursor]!.op !== '-') newLine++;
    }
    const body = edits.slice(start, end);
    const oldCount = body.filter((e) => e.op !== '+').length;
    const newCount = body.filter((e) => e.op !== '-').length;
    out.push(`@@ -${range(oldLine, oldCount)} +${range(newLine, newCount)} @@`);
    for (const e of body) out.push(`${e.op}${e.line}`);
  }
  return out.join('\n') + '\n';
}
