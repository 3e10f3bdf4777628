// `persys up`: a complete local persys in the foreground — its own supervised etcd (unless
// --etcd-servers is given), the PKI on first run, the API server, the controllers and a local node
// agent — with state under --data-dir.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { EtcdProcess } from '../apiserver/etcd/process.js';
import { bool, str, type Command } from '../lib/cli/command.js';
import { UsageError } from '../lib/cli/usage-error.js';
import { ApiClient } from '../lib/client/client.js';
import { CONTROLLERS, splitHostPort, startControllers } from './controller.js';
import { parseDuration } from '../lib/cli/duration.js';
import { API_SERVER_FLAGS, auditOptions, nodeCertTtlSeconds, untilStopped } from './apiserver.js';
import { DATA_DIR_FLAG, initClusterPki } from './pki.js';

/** The address clients dial for a listen address (a wildcard host means this machine). */
function dialAddress(listen: string): string {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i);
  return ['0.0.0.0', '::', '[::]', ''].includes(host) ? `127.0.0.1:${listen.slice(i + 1)}` : listen;
}

/** The machine's own node: joined through the join port with a fresh short-lived token, like any other. */
async function startLocalAgent(opts: {
  dataDir: string;
  nodeName: string;
  server: string;
  joinServer: string;
  caCert: string;
  dockerHost: string;
  dnsListen?: string;
  proxyMode?: 'iptables' | 'off';
  serviceClusterIpRange?: string;
  createToken(): Promise<string>;
  logLevel?: string;
}) {
  const { startNodeAgent } = await import('../node-agent/run.js');
  const { loadCredentials } = await import('../node-agent/join.js');
  const { caCertHash } = await import('../lib/pki/index.js');
  const joined = loadCredentials(opts.dataDir) !== undefined;
  return startNodeAgent({
    nodeName: opts.nodeName,
    servers: [opts.server],
    joinServer: opts.joinServer,
    token: joined ? undefined : await opts.createToken(),
    caCertHash: caCertHash(readFileSync(opts.caCert, 'utf8')),
    dataDir: opts.dataDir,
    dockerHost: opts.dockerHost,
    dnsListen: opts.dnsListen,
    proxyMode: opts.proxyMode,
    serviceClusterIpRange: opts.serviceClusterIpRange,
    logger: (await import('../lib/observability/logger.js')).createLogger('agent', opts.logLevel),
  });
}

/** --proxy-mode: iptables or off. */
function proxyMode(text: string | undefined): 'iptables' | 'off' {
  if (text === 'iptables' || text === 'off') return text;
  throw new UsageError(`--proxy-mode: "${text}" is not iptables or off`, 'up');
}

export const upCommand: Command = {
  name: 'up',
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
    'dns-listen': {
      type: 'string',
      env: 'PERSYS_DNS_LISTEN',
      valueName: 'ADDR',
      default: 'off',
      description: "the local node's DNS server for Service names: bridge (the default bridge gateway, port 53), IP[:PORT] or off (as persys agent)",
    },
    'proxy-mode': {
      type: 'string',
      env: 'PERSYS_PROXY_MODE',
      valueName: 'MODE',
      default: 'off',
      description: "the local node's Service VIPs: iptables (persys's own nat chains, the VIP range routed unreachable) or off (as persys agent)",
    },
    controllers: {
      type: 'boolean',
      default: true,
      description: 'run every controller in this process (--controllers=false to run them elsewhere)',
    },
    'controllers-metrics-listen': {
      type: 'string',
      env: 'PERSYS_CONTROLLERS_METRICS_LISTEN',
      valueName: 'HOST:PORT',
      default: '127.0.0.1:0',
      description: "address of the controllers' /metrics, /healthz and /readyz (port 0 picks one)",
    },
    agent: {
      type: 'boolean',
      default: true,
      description: 'run a node agent for this machine, joined with a token like any other (--agent=false for none)',
    },
    'docker-host': {
      type: 'string',
      env: 'PERSYS_DOCKER_HOST',
      valueName: 'URL',
      default: 'unix:///var/run/docker.sock',
      description: "the local agent's Docker engine",
    },
    'node-name': { type: 'string', env: 'PERSYS_NODE_NAME', valueName: 'NAME', description: 'name of the local node (default: the hostname)' },
    'etcd-peer-url': {
      type: 'string',
      valueName: 'URL',
      default: 'http://127.0.0.1:23800',
      description: 'peer URL of the etcd that up starts',
    },
  },
  async run(ctx) {
    const vipMode = proxyMode(str(ctx.flags, 'proxy-mode'));
    // Server code is loaded on use, so client commands start fast.
    const { startApiServer } = await import('../apiserver/server.js');
    const { startEtcdProcess } = await import('../apiserver/etcd/process.js');
    const { createJoinToken } = await import('../apiserver/agents/tokens.js');
    // Loaded on use like the rest: client commands should not pay for logging and metrics.
    const { createLogger } = await import('../lib/observability/logger.js');
    const { createRegistry } = await import('../lib/observability/metrics.js');
    const dataDir = resolve(str(ctx.flags, 'data-dir')!);
    const listen = str(ctx.flags, 'listen')!;
    const log = createLogger('up', str(ctx.flags, 'log-level'));
    const compactionIntervalMs = parseDuration(str(ctx.flags, 'compaction-interval')!, 'compaction-interval', 'up');
    const [controllersMetricsHost, controllersMetricsPort] = splitHostPort(str(ctx.flags, 'controllers-metrics-listen')!, 'up', 'controllers-metrics-listen');
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
        encryptionKeyFile: str(ctx.flags, 'encryption-key-file'),
        serviceClusterIpRange: str(ctx.flags, 'service-cluster-ip-range'),
        nodeCertTtlSeconds: nodeCertTtlSeconds(ctx.flags, 'up'),
        ...auditOptions(ctx.flags, 'up'),
        logger: createLogger('apiserver', str(ctx.flags, 'log-level')),
      });
    } catch (err) {
      await etcd?.stop();
      throw err;
    }

    const apiAddress = `${dialAddress(listen).replace(/:\d+$/, '')}:${server.port}`;
    let controllersMetricsUrl: string | undefined;
    const stops: (() => Promise<void>)[] = [() => server.stop(), async () => void (await etcd?.stop())];
    try {
      if (bool(ctx.flags, 'controllers')) {
        const client = new ApiClient({ server: apiAddress, caCert: pki.caCert, clientCert: pki.adminCert, clientKey: pki.adminKey, namespace: 'default' });
        const running = await startControllers({
          client,
          names: Object.keys(CONTROLLERS),
          logger: createLogger('controllers', str(ctx.flags, 'log-level')),
          registry: createRegistry(),
          metrics: { host: controllersMetricsHost, port: controllersMetricsPort },
          leaderElectNamespace: 'persys-system',
        });
        controllersMetricsUrl = `http://${controllersMetricsHost}:${running.metricsPort}/metrics`;
        stops.unshift(async () => {
          await running.stop();
          client.close();
        });
      }
      if (bool(ctx.flags, 'agent')) {
        const agent = await startLocalAgent({
          dataDir: join(dataDir, 'agent'),
          nodeName: str(ctx.flags, 'node-name') ?? hostname(),
          server: apiAddress,
          joinServer: `${dialAddress(listen).replace(/:\d+$/, '')}:${server.joinPort}`,
          caCert: pki.caCert,
          dockerHost: str(ctx.flags, 'docker-host')!,
          dnsListen: str(ctx.flags, 'dns-listen'),
          proxyMode: vipMode,
          serviceClusterIpRange: str(ctx.flags, 'service-cluster-ip-range'),
          createToken: async () => (await createJoinToken(server.store, { ttlSeconds: 600, description: 'persys up: local agent' })).token,
          logLevel: str(ctx.flags, 'log-level'),
        });
        stops.unshift(() => agent.stop());
      }
    } catch (err) {
      for (const stop of stops) await stop();
      throw err;
    }

    const inCwd = resolve('.persys') === dataDir;
    ctx.io.err(
      [
        `persys is up (state in ${dataDir})`,
        `  API server  ${dialAddress(listen).replace(/:\d+$/, '')}:${server.port} (mTLS)`,
        `  join port   ${dialAddress(listen).replace(/:\d+$/, '')}:${server.joinPort} (TLS, for \`persys agent --token\`)`,
        `  metrics     http://${str(ctx.flags, 'metrics-listen')!.replace(/:\d+$/, '')}:${server.metricsPort}/metrics`,
        ...(controllersMetricsUrl ? [`  controllers ${controllersMetricsUrl}`] : []),
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
    // No SIGHUP handler here: a closed terminal still stops `up`; a rotated serving certificate is
    // picked up by the API server's own check of its files.
    const why = await untilStopped(ctx.io.signal);
    log.info({ why }, 'stopping');
    // Agent first (its containers keep running), then controllers, the API server and etcd.
    for (const stop of stops) await stop();
    ctx.io.err('persys stopped');
    return 0;
  },
};
