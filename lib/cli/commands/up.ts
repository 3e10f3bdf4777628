// `persys up`: a complete local control plane in the foreground — its own supervised etcd (unless
// --etcd-servers is given), the PKI on first run, the API server — with state under --data-dir.
import { join, resolve } from 'node:path';
import { createLogger } from '../../observability/logger.js';
import type { EtcdProcess } from '../../../apiserver/etcd/process.js';
import { str, type Command } from '../command.js';
import { parseDuration } from '../duration.js';
import { API_SERVER_FLAGS, untilStopped } from './apiserver.js';
import { DATA_DIR_FLAG, initClusterPki } from './pki.js';

/** The address clients dial for a listen address (a wildcard host means this machine). */
function dialAddress(listen: string): string {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i);
  return ['0.0.0.0', '::', '[::]', ''].includes(host) ? `127.0.0.1:${listen.slice(i + 1)}` : listen;
}

export const upCommand: Command = {
  name: 'up',
  summary: 'Run a complete local persys (etcd, API server) in the foreground',
  usage: 'persys up [--data-dir DIR] [--etcd-servers URLS] [flags]',
  description: 'State lives under --data-dir; starting again keeps it. Ctrl-C stops everything cleanly.',
  flags: {
    'data-dir': DATA_DIR_FLAG,
    ...API_SERVER_FLAGS,
    'etcd-servers': {
      type: 'string',
      env: 'PERSYS_ETCD_SERVERS',
      valueName: 'URLS',
      description: 'use this etcd instead of starting one',
    },
    'etcd-client-url': {
      type: 'string',
      valueName: 'URL',
      default: 'http://127.0.0.1:23790',
      description: 'client URL of the etcd that up starts',
    },
    'etcd-peer-url': {
      type: 'string',
      valueName: 'URL',
      default: 'http://127.0.0.1:23800',
      description: 'peer URL of the etcd that up starts',
    },
  },
  async run(ctx) {
    // Server code is loaded on use, so client commands start fast.
    const { startApiServer } = await import('../../../apiserver/server.js');
    const { startEtcdProcess } = await import('../../../apiserver/etcd/process.js');
    const dataDir = resolve(str(ctx.flags, 'data-dir')!);
    const listen = str(ctx.flags, 'listen')!;
    const log = createLogger('up', str(ctx.flags, 'log-level'));
    const compactionIntervalMs = parseDuration(str(ctx.flags, 'compaction-interval')!, 'compaction-interval', 'up');
    const { pki, configFile } = await initClusterPki(dataDir, dialAddress(listen));

    let etcd: EtcdProcess | undefined;
    let etcdEndpoints = str(ctx.flags, 'etcd-servers')?.split(',');
    if (!etcdEndpoints) {
      etcd = await startEtcdProcess({
        dataDir: join(dataDir, 'etcd'),
        clientUrl: str(ctx.flags, 'etcd-client-url')!,
        peerUrl: str(ctx.flags, 'etcd-peer-url')!,
        supervise: true,
        logger: log.child({ component: 'etcd' }),
      });
      etcdEndpoints = [etcd.endpoint];
    }

    let server;
    try {
      server = await startApiServer({
        etcdEndpoints,
        etcdPrefix: str(ctx.flags, 'etcd-prefix'),
        listen,
        metricsListen: str(ctx.flags, 'metrics-listen'),
        caCertFile: pki.caCert,
        serverCertFile: pki.serverCert,
        serverKeyFile: pki.serverKey,
        caKeyFile: pki.caKey,
        joinListen: str(ctx.flags, 'join-listen'),
        advertiseAddress: str(ctx.flags, 'advertise-address'),
        compactionIntervalMs,
        logger: createLogger('apiserver', str(ctx.flags, 'log-level')),
      });
    } catch (err) {
      await etcd?.stop();
      throw err;
    }

    const inCwd = resolve('.persys') === dataDir;
    ctx.io.err(
      [
        `persys is up (state in ${dataDir})`,
        `  API server  ${dialAddress(listen).replace(/:\d+$/, '')}:${server.port} (mTLS)`,
        `  join port   ${dialAddress(listen).replace(/:\d+$/, '')}:${server.joinPort} (TLS, for \`persys agent --token\`)`,
        `  metrics     http://${str(ctx.flags, 'metrics-listen')!.replace(/:\d+$/, '')}:${server.metricsPort}/metrics`,
        `  etcd        ${etcdEndpoints.join(',')}${etcd ? ` (pid ${etcd.pid()})` : ''}`,
        '',
        'Use it:',
        ...(inCwd ? [] : [`  export PERSYS_CONFIG=${configFile}`]),
        '  persys apply -f manifests/examples/',
        '  persys get containers',
        '  persys token create        # then run the printed `persys agent …` on each Docker host',
        '',
        'Press Ctrl-C to stop.',
      ].join('\n'),
    );
    const why = await untilStopped(ctx.io.signal);
    log.info({ why }, 'stopping');
    await server.stop();
    await etcd?.stop();
    ctx.io.err('persys stopped');
    return 0;
  },
};
