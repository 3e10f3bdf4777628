// Compose `ports:` in both syntaxes ("127.0.0.1:8080:80/udp" and {target, published, …}) → ComposePort.
import type { ComposePort } from './model.js';
import { PORT_KEYS } from './keys.js';
import { checkKeys, child, isMap, item, readString, wrongType, type Problems } from './raw.js';

const RANGE = /^\d+-\d+$/;

/** A port number 1-65535, or why not. */
function portNumber(v: unknown): number | string {
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s === 'string' && RANGE.test(s)) return `port ranges ("${s}") are not supported: list each port`;
  if (typeof s !== 'string' || !/^\d+$/.test(s)) return `invalid port ${JSON.stringify(v)}`;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : `invalid port ${JSON.stringify(v)}: must be 1-65535`;
}

function protocolOf(v: string | undefined, path: string, p: Problems): 'tcp' | 'udp' | undefined {
  const proto = (v ?? 'tcp').toLowerCase();
  if (proto === 'tcp' || proto === 'udp') return proto;
  p.at(path, `unsupported protocol ${JSON.stringify(v)}: must be tcp or udp`);
  return undefined;
}

/** "[[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]"; an IPv6 host address is written in brackets. */
function shortPort(s: string, path: string, p: Problems): ComposePort | undefined {
  const slash = s.lastIndexOf('/');
  const protocol = protocolOf(slash >= 0 ? s.slice(slash + 1) : undefined, path, p);
  let rest = slash >= 0 ? s.slice(0, slash) : s;
  let hostIp: string | undefined;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(rest);
  if (v6) {
    hostIp = v6[1];
    rest = v6[2]!;
  }
  const parts = rest.split(':');
  if (parts.length > (hostIp ? 2 : 3)) {
    p.at(path, `invalid port ${JSON.stringify(s)}: write an IPv6 host address in brackets`);
    return undefined;
  }
  if (parts.length === 3) hostIp = parts.shift();
  const target = portNumber(parts.pop());
  const publishedRaw = parts.pop();
  const published = publishedRaw === undefined || publishedRaw === '' ? undefined : portNumber(publishedRaw);
  for (const n of [target, published]) if (typeof n === 'string') p.at(path, n);
  if (typeof target !== 'number' || typeof published === 'string' || !protocol) return undefined;
  return { target, ...(published !== undefined && { published }), protocol, ...(hostIp && { hostIp }) };
}

function longPort(m: Record<string, unknown>, path: string, p: Problems): ComposePort | undefined {
  checkKeys(m, path, PORT_KEYS, p);
  if (m['target'] === undefined) {
    p.at(path, 'target is required');
    return undefined;
  }
  const target = portNumber(m['target']);
  if (typeof target === 'string') p.at(child(path, 'target'), target);
  const published = m['published'] === undefined || m['published'] === null || m['published'] === '' ? undefined : portNumber(m['published']);
  if (typeof published === 'string') p.at(child(path, 'published'), published);
  const hostIp = readString(m['host_ip'], child(path, 'host_ip'), p);
  const protocol = protocolOf(readString(m['protocol'], child(path, 'protocol'), p), child(path, 'protocol'), p);
  if (typeof target !== 'number' || typeof published === 'string' || !protocol) return undefined;
  return { target, ...(published !== undefined && { published }), protocol, ...(hostIp && { hostIp }) };
}

export function parsePorts(v: unknown, path: string, p: Problems): ComposePort[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    wrongType(p, path, 'a list', v);
    return [];
  }
  const ports: ComposePort[] = [];
  v.forEach((entry, i) => {
    const at = item(path, i);
    const port =
      typeof entry === 'number' ? shortPort(String(entry), at, p)
      : typeof entry === 'string' ? shortPort(entry, at, p)
      : isMap(entry) ? longPort(entry, at, p)
      : (wrongType(p, at, 'a string, a number or a mapping', entry), undefined);
    if (port) ports.push(port);
  });
  return ports;
}
