// `persys logs`: a Container's output, streamed from its node's agent through the API server; or, with
// -l, the output of every Container the selector matches, a few streams at a time as kubectl does.
import { listAll } from '../../client/pages.js';
import { parseDuration } from '../../api/duration.js';
import { bool, str, type CommandContext, type Command } from '../command.js';
import { UsageError } from '../usage-error.js';
import { LineWriter } from '../lines.js';
import { parseRunningTarget, type RunningKind } from '../target.js';

const COMMAND = 'logs';

interface LogsTarget {
  kind: RunningKind;
  name: string;
}

interface StreamOptions {
  follow: boolean;
  tailLines: number;
  sinceTime: string;
  timestamps: boolean;
  service?: string;
  prefix: boolean;
}

export const logsCommand: Command = {
  name: COMMAND,
  usage:
    'persys logs [-f] [--tail N] [--since 5m | --since-time RFC3339] container/NAME\n' +
    'persys logs [-f] [--tail N] composestack/NAME [--service S]\n' +
    'persys logs -l SELECTOR [-f] [--prefix] [--max-log-requests N]',
  description: "A compose stack's lines are prefixed with their container, as docker compose logs does (web-1 | …).",
  flags: {
    follow: { type: 'boolean', short: 'f', description: 'keep streaming new output' },
    tail: { type: 'string', valueName: 'N', default: '-1', description: 'only the last N lines (-1: all; with -l the default is 10)' },
    since: { type: 'string', valueName: 'DURATION', description: 'only lines newer than this, e.g. 30s, 5m, 1h' },
    'since-time': { type: 'string', valueName: 'RFC3339', description: 'only lines after this time, e.g. 2026-12-06T15:00:00Z' },
    timestamps: { type: 'boolean', description: 'prefix each line with its time' },
    service: { type: 'string', valueName: 'S', description: 'only this compose service (composestack/NAME only)' },
    selector: { type: 'string', short: 'l', valueName: 'SELECTOR', description: 'the logs of every Container matching this label selector' },
    prefix: { type: 'boolean', description: 'prefix each line with its source, container/NAME (always on with -l and several Containers)' },
    'max-log-requests': { type: 'string', valueName: 'N', default: '5', description: 'with -l and -f, how many Containers are followed at once at most' },
  },
  async run(ctx) {
    const selector = str(ctx.flags, 'selector');
    const service = str(ctx.flags, 'service');
    const tailFlag = str(ctx.flags, 'tail')!;
    const tail = Number(tailFlag);
    if (!Number.isInteger(tail) || tail < -1) throw new UsageError(`--tail must be a whole number ≥ -1, got "${tailFlag}"`, COMMAND);
    const opts: StreamOptions = {
      follow: bool(ctx.flags, 'follow'),
      // kubectl: with a selector, 10 lines each unless --tail says otherwise.
      tailLines: tail >= 0 ? tail : selector ? 10 : 0,
      sinceTime: sinceTimeOf(ctx),
      timestamps: bool(ctx.flags, 'timestamps'),
      service,
      prefix: bool(ctx.flags, 'prefix'),
    };
    const targets = selector ? await selected(ctx, selector) : [single(ctx, service)];
    if (selector && targets.length === 0) {
      ctx.io.err(`No resources found in ${ctx.namespace()} namespace.`);
      return 0;
    }
    const maxRequests = Number(str(ctx.flags, 'max-log-requests'));
    if (!Number.isInteger(maxRequests) || maxRequests < 1) throw new UsageError(`--max-log-requests must be a whole number ≥ 1, got "${str(ctx.flags, 'max-log-requests')}"`, COMMAND);
    if (opts.follow && targets.length > maxRequests) {
      throw new UsageError(
        `you are attempting to follow ${targets.length} log streams, but maximum allowed concurrency is ${maxRequests}, use --max-log-requests to increase the limit`,
        COMMAND,
      );
    }
    // Loaded on use: commands that never reach an agent do not pay for the Operations service's code.
    const { OperationsClient } = await import('../../client/operations.js');
    const client = new OperationsClient(ctx.config());
    try {
      const prefix = opts.prefix || targets.length > 1;
      // Followed streams run together; otherwise one after the other, so each Container's lines stay together.
      if (opts.follow) await Promise.all(targets.map((t) => stream(ctx, client, t, { ...opts, prefix })));
      else for (const t of targets) await stream(ctx, client, t, { ...opts, prefix });
      return 0;
    } finally {
      client.close();
    }
  },
};

function single(ctx: CommandContext, service: string | undefined): LogsTarget {
  const { kind, name, consumed } = parseRunningTarget(ctx.args, COMMAND);
  if (service && kind !== 'ComposeStack') throw new UsageError('--service applies to composestack/NAME only', COMMAND);
  if (ctx.args.length > consumed) throw new UsageError(`unexpected argument "${ctx.args[consumed]}"`, COMMAND);
  return { kind, name };
}

async function selected(ctx: CommandContext, selector: string): Promise<LogsTarget[]> {
  if (ctx.args.length > 0) throw new UsageError('only one of a) container/NAME or b) -l SELECTOR can be given', COMMAND);
  if (str(ctx.flags, 'service')) throw new UsageError('--service applies to composestack/NAME only', COMMAND);
  const { items } = await listAll(ctx.client(), 'Container', { namespace: ctx.namespace(), labelSelector: selector });
  return items.map((c) => ({ kind: 'Container' as const, name: c.metadata.name! })).sort((a, b) => a.name.localeCompare(b.name));
}

/** --since or --since-time as the RFC 3339 time the agent filters by ('' for all). */
function sinceTimeOf(ctx: CommandContext): string {
  const since = str(ctx.flags, 'since');
  const sinceTime = str(ctx.flags, 'since-time');
  if (since && sinceTime) throw new UsageError('at most one of --since or --since-time may be given', COMMAND);
  if (since) {
    const ms = parseDuration(since);
    if (ms === undefined || ms <= 0) throw new UsageError(`invalid --since "${since}": use a duration such as 30s, 5m or 1h`, COMMAND);
    return new Date(ctx.now().getTime() - ms).toISOString();
  }
  if (sinceTime) {
    const t = Date.parse(sinceTime);
    if (!/^\d{4}-\d\d-\d\dT/.test(sinceTime) || Number.isNaN(t)) throw new UsageError(`invalid --since-time "${sinceTime}": use RFC 3339, e.g. 2026-12-06T15:00:00Z`, COMMAND);
    return new Date(t).toISOString();
  }
  return '';
}

async function stream(
  ctx: CommandContext,
  client: InstanceType<typeof import('../../client/operations.js').OperationsClient>,
  target: LogsTarget,
  opts: StreamOptions,
): Promise<void> {
  const source = `[${target.kind.toLowerCase()}/${target.name}] `;
  const label = (l: string) => (opts.prefix ? source + l : l);
  const stdout = new LineWriter((l) => ctx.io.out(label(l)));
  const stderr = new LineWriter((l) => ctx.io.err(label(l)));
  try {
    for await (const c of client.logs(target.name, {
      namespace: ctx.namespace(),
      kind: target.kind,
      service: opts.service,
      follow: opts.follow,
      tailLines: opts.tailLines,
      sinceTime: opts.sinceTime || undefined,
      timestamps: opts.timestamps,
      signal: ctx.io.signal,
    })) {
      (c.stream === 'stderr' ? stderr : stdout).push(c.data);
    }
  } finally {
    stdout.flush();
    stderr.flush();
  }
}
