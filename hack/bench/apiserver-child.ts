// A bare API server process for the benchmark, used when `persys apiserver` is unavailable: the
// same startApiServer as the CLI, with the PKI under DATA_DIR/pki (created when missing).
// Usage: node --import tsx hack/bench/apiserver-child.ts ETCD_URL DATA_DIR HOST:PORT [LOG_LEVEL]
import { join } from 'node:path';
import { initPki } from '../../lib/pki/index.js';
import { startApiServer } from '../../apiserver/server.js';
import { createLogger } from '../../lib/observability/logger.js';

const [etcd, dataDir, listen, level = 'warn'] = process.argv.slice(2);
if (!etcd || !dataDir || !listen) {
  console.error('usage: apiserver-child.ts ETCD_URL DATA_DIR HOST:PORT [LOG_LEVEL]');
  process.exit(2);
}

const pki = await initPki(join(dataDir, 'pki'));
const server = await startApiServer({
  etcdEndpoints: [etcd],
  listen,
  // Any free port: the default (the API port + 1) may be taken, since the API port was picked free.
  joinListen: '127.0.0.1:0',
  metricsListen: '127.0.0.1:0',
  caCertFile: pki.caCert,
  serverCertFile: pki.serverCert,
  serverKeyFile: pki.serverKey,
  compactionIntervalMs: 3_600_000,
  logger: createLogger('apiserver', level),
});

// Exit through process.exit, not a signal, so `node --cpu-prof` gets to write its profile.
const stop = () => {
  server.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error('apiserver stop failed', err);
      process.exit(1);
    },
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
