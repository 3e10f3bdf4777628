// Whether two statuses say the same thing as stored: the proto JSON form drops empty strings, zeros,
// false and empty lists, so a freshly computed status is compared with those dropped too.

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) {
    const items = v.map(canonical).filter((x) => x !== undefined);
    return items.length ? items : undefined;
  }
  if (v && typeof v === 'object') {
    const entries = Object.keys(v)
      .sort()
      .map((k) => [k, canonical((v as Record<string, unknown>)[k])] as const)
      .filter(([, x]) => x !== undefined);
    return entries.length ? Object.fromEntries(entries) : undefined;
  }
  if (v === '' || v === 0 || v === false || v === null) return undefined;
  return v;
}

export function sameStatus(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a) ?? null) === JSON.stringify(canonical(b) ?? null);
}
