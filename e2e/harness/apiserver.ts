// Runs a real API server (in this process, on a free port, with its own PKI and etcd prefix) and
// hands tests an mTLS client as the cluster admin.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ApiClient } from '../../lib/client/client.js';
import type { ClientConfig } from '../../lib/client/config.js';
import type { Logger } from 'pino';
import { silentLogger } from '../../lib/observability/logger.js';
import { initPki, type PkiPaths } from '../../lib/pki/index.js';
import { startApiServer, type ApiServerOptions, type RunningApiServer } from '../../apiserver/server.js';

export interface TestApiServer {
  server: RunningApiServer;
  client: ApiClient;
  config: ClientConfig;
  pki: PkiPaths;
  dir: string;
  stop(): Promise<void>;
}

export async function startTestApiServer(
  etcdEndpoint: string,
  opts: {
    compactionIntervalMs?: number;
    bookmarkIntervalMs?: number;
    etcdPrefix?: string;
    withoutCaKey?: boolean;
    /** Another server's PKI, for a second API server of the same cluster (with the same etcdPrefix). */
    pki?: PkiPaths;
    /** @default a logger that writes nothing */
    logger?: Logger;
    /** Secrets at rest: the server's --encryption-key-file. */
    encryptionKeyFile?: string;
    /** Further API server options (node certificate lifetime, collector interval, …). */
    serverOptions?: Partial<ApiServerOptions>;
  } = {},
): Promise<TestApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'persys-api-'));
  const pki = opts.pki ?? (await initPki(join(dir, 'pki')));
  const server = await startApiServer({
    etcdEndpoints: [etcdEndpoint],
    // A fixed prefix lets a test restart the API server over the same data.
    etcdPrefix: opts.etcdPrefix ?? `/test-${randomBytes(6).toString('hex')}`,
    listen: '127.0.0.1:0',
    metricsListen: '127.0.0.1:0',
    caCertFile: pki.caCert,
    serverCertFile: pki.serverCert,
    serverKeyFile: pki.serverKey,
    // Lets nodes join (Agents.Join signs with it); withoutCaKey runs a server that cannot sign.
    caKeyFile: opts.withoutCaKey ? undefined : pki.caKey,
    compactionIntervalMs: opts.compactionIntervalMs ?? 3_600_000,
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
    encryptionKeyFile: opts.encryptionKeyFile,
    logger: opts.logger ?? silentLogger(),
    ...opts.serverOptions,
  });
  const config: ClientConfig = {
    server: `127.0.0.1:${server.port}`,
    caCert: pki.caCert,
    clientCert: pki.adminCert,
    clientKey: pki.adminKey,
    namespace: 'default',
  };
  const client = new ApiClient(config);
  return {
    server,
    client,
    config,
    pki,
    dir,
    async stop() {
      client.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
