// IPv4 ranges given as CIDRs: the Service cluster IP range the API server allocates from and node agents
// route as unreachable.

/** Kubernetes' default service range; --service-cluster-ip-range. */
export const DEFAULT_SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';
/** An IPv4 CIDR: the usable addresses exclude the network and broadcast addresses, as in Kubernetes. */
export class Ipv4Range {
  readonly first: number;
  readonly size: number;
  private constructor(
    readonly cidr: string,
    base: number,
    bits: number,
  ) {
    const total = 2 ** (32 - bits);
    this.first = total > 2 ? base + 1 : base;
    this.size = total > 2 ? total - 2 : total;
  }

  /** Throws an Error naming the problem for anything but "a.b.c.d/n" with n in 8-30. */
  static parse(cidr: string): Ipv4Range {
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr.trim());
    const base = m ? ipToNumber(m[1]!) : undefined;
    const bits = m ? Number(m[2]) : NaN;
    if (base === undefined || !(bits >= 8 && bits <= 30)) throw new Error(`service cluster IP range ${JSON.stringify(cidr)}: expected an IPv4 CIDR from /8 to /30, such as 10.96.0.0/16`);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((base & mask) >>> 0 !== base) throw new Error(`service cluster IP range ${JSON.stringify(cidr)}: host bits are set (the network is ${numberToIp((base & mask) >>> 0)}/${bits})`);
    return new Ipv4Range(cidr.trim(), base, bits);
  }

  contains(ip: string): boolean {
    const n = ipToNumber(ip);
    return n !== undefined && n >= this.first && n < this.first + this.size;
  }

  at(offset: number): string {
    return numberToIp(this.first + offset);
  }
}

export function ipToNumber(ip: string): number | undefined {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
