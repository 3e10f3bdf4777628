// `persys hollow-nodes`: many simulated nodes in one process for scale tests (kubemark's hollow kubelet):
// each joins with the token and a CSR and runs the real agent code over an in-memory engine.
import { resolve } from 'node:path';
import { parseDuration } from '../lib/cli/duration.js';
import { str, type Command, type FlagValues } from '../lib/cli/command.js';
import { JOIN_FLAGS } from '../lib/cli/join-flags.js';
import { UsageError } from '../lib/cli/usage-error.js';
import { parseLabels } from './agent.js';
import { untilStopped } from './apiserver.js';
import { clientVersion } from '../lib/cli/commands/version.js';

const COMMAND = 'hollow-nodes';
/** Far above the 1,000 the scale benchmark runs; a typo of a few zeros should not exhaust the machine. */
const MAX_COUNT = 10_000;

/** The command line, checked: everything startHollowFleet needs but the logger. */
export interface HollowNodesSettings {
  count: number;
  servers: string[];
  joinServer?: string;
  token?: string;
  caCertHash?: string;
  namePrefix: string;
  dataDir: string;
  startDelayMs: number;
  failureRate: number;
  heartbeatIntervalMs: number;
  metricsListen?: string;
  labels: Record<string, string>;
}

function usage(message: string): UsageError {
  return new UsageError(message, COMMAND);
}

function positiveDuration(flags: FlagValues, name: string, allowZero: boolean): number {
  const ms = parseDuration(str(flags, name)!, name, COMMAND);
  if (ms < 0 || (!allowZero && ms === 0)) throw usage(`--${name} must be ${allowZero ? 'zero or more' : 'more than zero'}, got ${str(flags, name)}`);
  return ms;
}

/** Checks every flag; UsageError (exit 1) before anything starts. */
export async function hollowNodesSettings(flags: FlagValues): Promise<HollowNodesSettings> {
  const countText = str(flags, 'count');
  if (countText === undefined) throw usage('--count is required');
  const count = /^\d+$/.test(countText.trim()) ? Number(countText) : NaN;
  if (!Number.isSafeInteger(count) || count < 1) throw usage(`--count must be a positive integer, got ${countText}`);
  if (count > MAX_COUNT) throw usage(`--count must be at most ${MAX_COUNT}, got ${countText}`);

  const { parseServerList, splitHostPort } = await import('../node-agent/address.js');
  let servers: string[];
  try {
    servers = parseServerList(str(flags, 'server') ?? '');
  } catch (e) {
    throw usage(`--server: ${(e as Error).message}`);
  }
  const address = (name: string): string | undefined => {
    const v = str(flags, name);
    if (v === undefined || v === '') return undefined;
    try {
      splitHostPort(v);
    } catch (e) {
      throw usage(`--${name}: ${(e as Error).message}`);
    }
    return v;
  };

  const rateText = str(flags, 'failure-rate')!;
  const failureRate = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(rateText) ? Number(rateText) : NaN;
  if (!(failureRate >= 0 && failureRate <= 1)) throw usage(`--failure-rate must be a number from 0 to 1, got ${rateText}`);

  const namePrefix = str(flags, 'name-prefix')!;
  // The node name is the prefix and digits: it must stay a valid name (RFC 1123 label).
  if (!/^[a-z0-9]([-a-z0-9]*)?$/.test(namePrefix) || namePrefix.length > 50) {
    throw usage(`--name-prefix must be lower-case letters, digits and '-', starting with a letter or digit (at most 50), got "${namePrefix}"`);
  }
  const caCertHash = str(flags, 'ca-cert-hash') || undefined;
  if (caCertHash && !/^sha256:[0-9a-f]{64}$/i.test(caCertHash)) throw usage(`--ca-cert-hash must be sha256:<64 hex digits>, got ${caCertHash}`);

  return {
    count,
    servers,
    joinServer: address('join-server'),
    token: str(flags, 'token') || undefined,
    caCertHash,
    namePrefix,
    dataDir: resolve(str(flags, 'data-dir')!),
    startDelayMs: positiveDuration(flags, 'start-delay', true),
    failureRate,
    heartbeatIntervalMs: positiveDuration(flags, 'heartbeat-interval', false),
    metricsListen: address('metrics-listen'),
    labels: parseLabels(str(flags, 'labels'), COMMAND),
  };
}

export const hollowNodesCommand: Command = {
  name: COMMAND,
  usage: 'persys hollow-nodes --count N --server HOST:PORT[,HOST:PORT…] --token TOKEN --ca-cert-hash sha256:HEX [flags]',
  description:
    'Each hollow node joins like `persys agent` (token and CSR on first run; the certificate is kept under\n' +
    '--data-dir/NAME), holds its own mTLS stream, renews its Lease and reports status, running the agent\'s own\n' +
    'code over an in-memory engine: containers "start" after --start-delay and use no resources. Only\n' +
    'Containers run there (with their ConfigMaps and Secrets); no ComposeStacks, swarm, logs or exec.\n' +
    'Node i uses the --server list rotated by i. Every address must answer before anything starts.\n' +
    'Prints one line once every node is connected, then runs until SIGINT or SIGTERM.',
  flags: {
    count: { type: 'string', env: 'PERSYS_HOLLOW_COUNT', valueName: 'N', description: `how many hollow nodes (1 to ${MAX_COUNT})` },
    server: {
      type: 'string',
      env: 'PERSYS_SERVER',
      valueName: 'HOST:PORT[,…]',
      default: '127.0.0.1:7443',
      description: 'API servers (mTLS port), comma-separated; nodes spread over them and fail over in order',
    },
    'join-server': {
      type: 'string',
      env: 'PERSYS_JOIN_SERVER',
      valueName: 'HOST:PORT',
      description: "join port (default: each node's first --server port + 1)",
    },
    ...JOIN_FLAGS,
    'name-prefix': {
      type: 'string',
      env: 'PERSYS_HOLLOW_NAME_PREFIX',
      valueName: 'PREFIX',
      default: 'hollow-',
      description: 'node names are PREFIX and a zero-padded index (hollow-0000, …)',
    },
    'data-dir': {
      type: 'string',
      env: 'PERSYS_HOLLOW_DATA_DIR',
      valueName: 'DIR',
      default: './.persys-hollow',
      description: "where each node's certificate is kept (DIR/NAME)",
    },
    'start-delay': {
      type: 'string',
      env: 'PERSYS_HOLLOW_START_DELAY',
      valueName: 'DURATION',
      default: '500ms',
      description: 'how long a simulated container takes to start (±50% jitter)',
    },
    'failure-rate': {
      type: 'string',
      env: 'PERSYS_HOLLOW_FAILURE_RATE',
      valueName: '0..1',
      default: '0',
      description: 'fraction of starts that fail: half refused, half exit with code 1 a little later',
    },
    'heartbeat-interval': {
      type: 'string',
      env: 'PERSYS_HEARTBEAT_INTERVAL',
      valueName: 'DURATION',
      default: '10s',
      description: 'how often each node sends usage and liveness',
    },
    'metrics-listen': {
      type: 'string',
      env: 'PERSYS_METRICS_LISTEN',
      valueName: 'HOST:PORT',
      default: '127.0.0.1:0',
      description: 'address of /metrics (persys_hollow_nodes_connected, …), /healthz and /readyz',
    },
    labels: { type: 'string', env: 'PERSYS_LABELS', valueName: 'K=V,…', description: 'labels of every hollow Node' },
    'log-level': { type: 'string', env: 'PERSYS_LOG_LEVEL', valueName: 'LEVEL', default: 'warn', description: 'pino log level' },
  },
  async run(ctx) {
    const settings = await hollowNodesSettings(ctx.flags);
    const { createLogger } = await import('../lib/observability/logger.js');
    const logger = createLogger(COMMAND, str(ctx.flags, 'log-level'));
    // Loaded on use, as `persys agent` loads the agent, so client commands start fast.
    const { startHollowFleet } = await import('../node-agent/hollow/fleet.js');
    const fleet = await startHollowFleet({ ...settings, agentVersion: clientVersion(), logger });
    const stopped = untilStopped(ctx.io.signal);
    let done = false;
    void fleet.allConnected().then(() => {
      if (done) return;
      const n = fleet.servers.length;
      ctx.io.out(`${settings.count} hollow nodes connected to ${n} server${n === 1 ? '' : 's'}`);
    });
    const why = await stopped;
    done = true;
    logger.info({ signal: why }, 'stopping');
    await fleet.stop();
    return 0;
  },
};
