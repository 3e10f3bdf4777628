// The host's resolvers, as /etc/resolv.conf names them: where the agent's DNS server relays the names
// it does not own.
import { readFile } from 'node:fs/promises';

/** The `nameserver` addresses of a resolv.conf text, in order, as host:port (IPv6 in brackets). */
export function parseNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const addr = m[1]!.replace(/%.*$/, '');
    out.push(addr.includes(':') ? `[${addr}]:53` : `${addr}:53`);
  }
  return out;
}

/**
 * The host's resolvers, leaving out `self` (the agent's own listen address: relaying to itself would loop).
 * A missing file means no resolvers: other names then get SERVFAIL.
 */
export async function hostResolvers(path = '/etc/resolv.conf', self?: { host: string; port: number }): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  return parseNameservers(text).filter((s) => !self || s !== `${self.host}:${self.port}`);
}
