// `persys run NAME --image IMAGE`: kubectl run for one Container. Without -i it creates a Container that runs
// the command (or the image's own). With -i (and -t) it is a debugging session: the Container idles in a
// shell loop, the command (default sh) runs in it through exec with this terminal, and --rm deletes the
// Container afterwards: `persys run dbg --rm -it --image busybox -- nslookup web.shop`.
import { API_VERSION } from '../../api/kinds.js';
import type { Resource } from '../../api/resource.js';
import { parseDuration } from '../duration.js';
import { bool, list, str, type Command, type CommandContext } from '../command.js';
import { UsageError } from '../usage-error.js';
import { execIn } from './exec.js';

/** What an interactive run's Container runs until it is deleted: any image with a POSIX sh. */
export const IDLE_COMMAND = ['sh', '-c', "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"];
const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];

/** "K=V" pairs of a repeated flag; a UsageError names the first malformed one. */
function pairs(values: string[], flag: string): { key: string; value: string }[] {
  return values.map((p) => {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag}: "${p}" is not KEY=VALUE`, 'run');
    return { key: p.slice(0, eq), value: p.slice(eq + 1) };
  });
}

/** The Container `persys run` creates, from its flags and the words after `--`. */
export function runContainer(
  name: string,
  namespace: string,
  opts: { image: string; command: string[]; interactive: boolean; env: string[]; labels: string[]; restart?: string },
): Resource {
  const labels = Object.fromEntries(pairs(opts.labels, 'labels').map((p) => [p.key, p.value]));
  return {
    apiVersion: API_VERSION,
    kind: 'Container',
    metadata: { name, namespace, labels: { run: name, ...labels } },
    spec: {
      image: opts.image,
      ...(opts.interactive ? { command: IDLE_COMMAND } : opts.command.length ? { command: opts.command } : {}),
      ...(opts.env.length ? { env: pairs(opts.env, 'env').map((p) => ({ name: p.key, value: p.value })) } : {}),
      ...(opts.restart ? { restartPolicy: opts.restart } : {}),
    },
  };
}

export const runCommand: Command = {
  name: 'run',
  usage: 'persys run NAME --image IMAGE [--rm] [-i] [-t] [--env K=V]... [--labels K=V,...] [-- COMMAND [ARGS...]]',
  description: [
    'Without -i: creates a Container running COMMAND (or the image\'s own command) and prints its name.',
    'With -i: waits until the Container runs (idling in a shell loop: the image needs sh), runs COMMAND',
    '(default sh) in it with standard input attached, on this terminal with -t, and exits with its exit',
    'code. --rm then deletes the Container: `persys run dbg --rm -it --image busybox -- nslookup web.shop`.',
  ].join('\n'),
  flags: {
    image: { type: 'string', valueName: 'IMAGE', description: 'the image to run (required)' },
    rm: { type: 'boolean', description: 'delete the Container when the command ends (with -i)' },
    stdin: { type: 'boolean', short: 'i', description: 'run COMMAND with standard input attached, then exit with its code' },
    tty: { type: 'boolean', short: 't', description: 'run COMMAND on a terminal (with -i)' },
    env: { type: 'string', multiple: true, valueName: 'K=V', description: 'an environment variable of the Container' },
    labels: { type: 'string', short: 'l', valueName: 'K=V,…', description: 'labels of the Container (run=NAME is always set)' },
    restart: { type: 'string', valueName: 'POLICY', description: 'Always, OnFailure or Never (default: Always)' },
    'pod-running-timeout': { type: 'string', valueName: 'DURATION', default: '1m', description: 'how long -i waits for the Container to run' },
  },
  async run(ctx) {
    // The words after `--` are positionals too: the command and its arguments.
    const [name, ...command] = ctx.args;
    if (!name) throw new UsageError('NAME is required', 'run');
    const image = str(ctx.flags, 'image');
    if (!image) throw new UsageError('--image is required', 'run');
    const interactive = bool(ctx.flags, 'stdin');
    if (bool(ctx.flags, 'rm') && !interactive) throw new UsageError('--rm should only be used for attached containers: add -i (or -it)', 'run');
    const restart = str(ctx.flags, 'restart');
    if (restart && !RESTART_POLICIES.includes(restart)) throw new UsageError(`--restart: "${restart}" is not one of ${RESTART_POLICIES.join(', ')}`, 'run');
    const labels = (str(ctx.flags, 'labels') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const timeoutMs = parseDuration(str(ctx.flags, 'pod-running-timeout')!, 'pod-running-timeout', 'run');
    const container = runContainer(name, ctx.namespace(), { image, command, interactive, env: list(ctx.flags, 'env'), labels, restart });
    const client = ctx.client();
    await client.create(container);
    if (!interactive) {
      ctx.io.out(`container/${name} created`);
      return 0;
    }
    try {
      await untilRunning(ctx, name, timeoutMs);
      return await execIn(ctx, { kind: 'Container', name }, command.length ? command : ['sh'], { stdin: true, tty: bool(ctx.flags, 'tty') });
    } finally {
      if (bool(ctx.flags, 'rm')) {
        await client.delete('Container', name, ctx.namespace());
        ctx.io.err(`container "${name}" deleted`);
      }
    }
  },
};

/** Polls the Container until it runs; a failure or the timeout is an error naming its state. */
async function untilRunning(ctx: CommandContext, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let said = '';
  for (;;) {
    const c = await ctx.client().get('Container', name, ctx.namespace());
    const phase = String(c.status?.phase ?? 'Pending');
    if (phase === 'Running') return;
    const state = [phase, c.status?.reason, c.status?.message].filter(Boolean).join(': ');
    if (phase === 'Failed' || phase === 'Succeeded') throw new Error(`container/${name} did not keep running (${state}): its image needs sh for -i`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for container/${name} to run (${state})`);
    if (state !== said) ctx.io.err(`waiting for container/${name} to run: ${state}`);
    said = state;
    await new Promise((r) => setTimeout(r, 250));
  }
}
