// API server addresses as the agent's flags give them: HOST:PORT, [IPv6]:PORT, comma-separated lists.

export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!m) throw new Error(`address ${JSON.stringify(address)} is not HOST:PORT`);
  return { host: m[1]!, port: Number(m[2]) };
}

export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** "a:1, b:2" → ["a:1", "b:2"], each checked. */
export function parseServerList(list: string): string[] {
  const out = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (!out.length) throw new Error('no API server address given');
  for (const a of out) splitHostPort(a);
  return out;
}

/** The join port's default: the API port + 1 on the same host. */
export function defaultJoinServer(apiServer: string): string {
  const { host, port } = splitHostPort(apiServer);
  return joinHostPort(host, port + 1);
}
