// `persys wait`: blocks until objects are deleted, have a condition, or have a field value, as
// `kubectl wait` does: each object is read, then watched from that read until it qualifies or the
// timeout passes (exit 1, "timed out waiting for the condition on …").
import type { Resource } from '../../api/resource.js';
import { isNotFound } from '../../client/errors.js';
import { str, type Command, type CommandContext } from '../command.js';
import { parseDuration } from '../../api/duration.js';
import { formatError } from '../errors.js';
import { refName, resolveObjectRefs, SELECT_FLAGS, type ObjectRef } from '../object-refs.js';
import { UsageError } from '../usage-error.js';
import { untilAborted } from '../watch.js';
import { parseWaitFor, waitMet, WaitForError, type WaitFor } from '../wait-for.js';

const COMMAND = 'wait';

export const waitCommand: Command = {
  name: COMMAND,
  usage:
    'persys wait KIND NAME... --for=CONDITION [--timeout 30s]\npersys wait KIND/NAME... --for=CONDITION\npersys wait KIND (-l SELECTOR | --all) --for=CONDITION',
  description: [
    'CONDITION is one of:',
    '  delete                               until the object is gone',
    '  condition=NAME[=VALUE]               until status.conditions has NAME with status VALUE (default True)',
    "  jsonpath='{PATH}'[=VALUE]            until PATH exists (and equals VALUE)",
    '',
    'Examples:',
    '  persys wait --for=condition=Available cs/web --timeout 2m',
    "  persys wait --for=jsonpath='{.status.phase}'=Running ct -l app=web",
    '  persys wait --for=delete ct/web',
  ].join('\n'),
  flags: {
    for: { type: 'string', valueName: 'CONDITION', description: 'delete, condition=NAME[=VALUE] or jsonpath={PATH}[=VALUE]' },
    timeout: { type: 'string', valueName: 'DURATION', default: '30s', description: 'how long to wait for each object; 0 checks once' },
    ...SELECT_FLAGS,
  },
  async run(ctx) {
    const forText = str(ctx.flags, 'for');
    if (!forText) throw new UsageError('--for is required: delete, condition=NAME[=VALUE] or jsonpath={PATH}[=VALUE]', COMMAND);
    let want: WaitFor;
    try {
      want = parseWaitFor(forText);
    } catch (err) {
      if (err instanceof WaitForError) throw new UsageError(err.message, COMMAND);
      throw err;
    }
    const timeoutText = str(ctx.flags, 'timeout')!;
    const timeoutMs = parseDuration(timeoutText);
    if (timeoutMs === undefined) throw new UsageError(`invalid --timeout "${timeoutText}": use a duration such as 30s or 2m`, COMMAND);
    const targets = await resolveObjectRefs(ctx, ctx.args, COMMAND);
    const deadline = ctx.now().getTime() + timeoutMs;
    let failed = false;
    for (const target of targets) {
      const ref = refName(target.info, target.name);
      try {
        if (await waitForOne(ctx, target, want, deadline)) ctx.io.out(`${ref} condition met`);
        else {
          ctx.io.err(`error: timed out waiting for the condition on ${ref}`);
          failed = true;
        }
      } catch (err) {
        ctx.io.err(formatError(err));
        failed = true;
      }
    }
    return failed ? 1 : 0;
  },
};

/** True once `target` qualifies, false at the deadline; a missing object is an error unless waiting for its deletion. */
async function waitForOne(ctx: CommandContext, target: ObjectRef, want: WaitFor, deadline: number): Promise<boolean> {
  const client = ctx.client();
  const kind = target.info.kind;
  const namespace = target.info.namespaced ? ctx.namespace() : '';
  let current: Resource | undefined;
  try {
    current = await client.get(kind, target.name, namespace);
  } catch (err) {
    if (!isNotFound(err) || want.type !== 'delete') throw err;
  }
  if (waitMet(want, current)) return true;
  const remaining = deadline - ctx.now().getTime();
  if (remaining <= 0) return false;
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), remaining);
  const onCliAbort = () => stop.abort();
  ctx.io.signal?.addEventListener('abort', onCliAbort, { once: true });
  try {
    const events = client.watch(kind, {
      namespace,
      fieldSelector: `metadata.name=${target.name}`,
      resourceVersion: current?.metadata.resourceVersion ?? '',
      signal: stop.signal,
    });
    for await (const ev of untilAborted(events, stop.signal)) {
      if (ev.type === 'DELETED') {
        if (want.type === 'delete') return true;
        throw new Error(`${refName(target.info, target.name)} was deleted while waiting for the condition`);
      }
      if (ev.object && waitMet(want, ev.object)) return true;
    }
    return false;
  } finally {
    clearTimeout(timer);
    ctx.io.signal?.removeEventListener('abort', onCliAbort);
  }
}
