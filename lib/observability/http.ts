// The HTTP side port every persys process serves: /metrics (Prometheus), /healthz (the process is
// alive) and /readyz (it can do its job: dependencies reachable, caches synced).
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface ObservabilityServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function serveObservability(opts: {
  host?: string;
  port: number;
  registry: Registry;
  readiness?: ReadinessCheck[];
}): Promise<ObservabilityServer> {
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': opts.registry.contentType });
        res.end(await opts.registry.metrics());
      } else if (path === '/healthz' || path === '/livez') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      } else if (path === '/readyz') {
        const failures: string[] = [];
        for (const c of opts.readiness ?? []) {
          await c.check().catch((err: Error) => failures.push(`[-]${c.name} failed: ${err.message}`));
        }
        res.writeHead(failures.length ? 503 : 200, { 'content-type': 'text/plain' });
        res.end(failures.length ? `${failures.join('\n')}\nreadyz check failed` : 'ok');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
