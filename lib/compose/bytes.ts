// Byte sizes as Compose reads them (go-units RAMInBytes): "512M", "1g", "100k", "2GiB" are
// binary multiples, so "1g" is 1024³ bytes, not the 10⁹ a Kubernetes "1G" would be.

const SIZE = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i;
const POWER: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5 };

/** Bytes, or undefined when `v` is not a size (a bare number is already bytes). */
export function parseComposeBytes(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = SIZE.exec(v.trim());
  if (!m) return undefined;
  const unit = m[2]?.toLowerCase();
  return Math.floor(Number(m[1]) * 1024 ** (unit ? POWER[unit]! : 0));
}
