// Kubernetes resource quantities: CPU in cores or millicores ("2", "0.5", "500m") and memory in
// bytes with decimal or binary suffixes ("1G", "256Mi"). Shared by validation and the scheduler.

export class InvalidQuantityError extends Error {
  override readonly name = 'InvalidQuantityError';
}

const NUMBER = String.raw`(\d+(?:\.\d+)?|\.\d+)`;
const CPU = new RegExp(`^${NUMBER}(m?)$`);
const MEMORY = new RegExp(`^${NUMBER}(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$`);

const MEMORY_MULTIPLIERS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

function rejectSign(q: string): void {
  if (/^\s*-/.test(q)) throw new InvalidQuantityError(`${JSON.stringify(q)} must not be negative`);
}

/** "500m" → 500, "0.5" → 500, "2" → 2000. Fractions of a millicore round up, as Kubernetes does. */
export function parseCpuMillis(q: string): number {
  rejectSign(q);
  const m = CPU.exec(q);
  if (!m) throw new InvalidQuantityError(`${JSON.stringify(q)} is not a CPU quantity such as "500m", "0.5" or "2"`);
  const millis = Math.ceil(Number(m[1]) * (m[2] === 'm' ? 1 : 1000));
  if (!Number.isSafeInteger(millis)) throw new InvalidQuantityError(`${JSON.stringify(q)} is too large`);
  return millis;
}

/** "256Mi" → 268435456, "1G" → 1e9, "1024" → 1024. Fractions of a byte round up. */
export function parseMemoryBytes(q: string): number {
  rejectSign(q);
  const m = MEMORY.exec(q);
  if (!m) {
    // Docker users write "256m"/"1g"; in a Kubernetes quantity "m" means milli, so say so.
    if (/^[\d.]+(m|g|mb|gb|kb|Mb|Gb|MB|GB|KB|K)$/.test(q)) {
      throw new InvalidQuantityError(
        `${JSON.stringify(q)} is not a memory quantity: use Ki, Mi, Gi (powers of 2) or k, M, G (powers of 10)`,
      );
    }
    throw new InvalidQuantityError(`${JSON.stringify(q)} is not a memory quantity such as "256Mi", "1G" or "1024"`);
  }
  const bytes = Math.ceil(Number(m[1]) * MEMORY_MULTIPLIERS[m[2] ?? '']!);
  if (!Number.isSafeInteger(bytes)) throw new InvalidQuantityError(`${JSON.stringify(q)} is too large`);
  return bytes;
}
