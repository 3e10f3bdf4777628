// `persys events`: the Events of a namespace (or all, -A), oldest first by when they were last seen,
// as `kubectl events` prints them; --for narrows to one object, --types to Normal or Warning, and -w
// keeps printing new ones as they are recorded.
import type { Resource } from '../../api/resource.js';
import { listPages } from '../../client/pages.js';
import { bool, str, type Command, type CommandContext } from '../command.js';
import { parseObjectRefs } from '../object-refs.js';
import { eventLastSeen } from '../printers/columns.js';
import { columnWidths, formatRow, renderTable, tableHeader, tableRow, type TableOptions } from '../printers/table.js';
import { UsageError } from '../usage-error.js';
import { untilAborted } from '../watch.js';

const COMMAND = 'events';
const TYPES = ['Normal', 'Warning'];


export const eventsCommand: Command = {
  name: COMMAND,
  usage: 'persys events [-n NS | -A] [--for KIND/NAME] [--types Normal,Warning] [-w] [--no-headers]',
  description: 'Oldest first. With -w, new Events are printed as they are recorded, after the current ones.',
  flags: {
    'all-namespaces': { type: 'boolean', short: 'A', description: 'events of every namespace' },
    for: { type: 'string', valueName: 'KIND/NAME', description: 'only the events about this object' },
    types: { type: 'string', valueName: 'TYPES', description: 'only these comma-separated types: Normal, Warning' },
    watch: { type: 'boolean', short: 'w', description: 'after listing, print new events until interrupted' },
    'no-headers': { type: 'boolean', description: 'no header line' },
  },
  async run(ctx) {
    if (ctx.args.length) throw new UsageError(`unexpected argument "${ctx.args[0]}": use --for KIND/NAME for one object's events`, COMMAND);
    const all = bool(ctx.flags, 'all-namespaces');
    const namespace = all ? '' : ctx.namespace();
    const wanted = matcher(ctx);
    const opts: TableOptions = { now: ctx.now(), withNamespace: all, noHeaders: bool(ctx.flags, 'no-headers') };
    const client = ctx.client();
    const events: Resource[] = [];
    let resourceVersion = '';
    for await (const page of listPages(client, 'Event', { namespace })) {
      events.push(...page.items.filter(wanted));
      resourceVersion = page.resourceVersion;
    }
    events.sort((a, b) => Date.parse(eventLastSeen(a)) - Date.parse(eventLastSeen(b)));
    if (events.length) for (const line of renderTable('Event', events, opts)) ctx.io.out(line);
    else if (!bool(ctx.flags, 'watch')) ctx.io.err(all ? 'No events found.' : `No events found in ${namespace} namespace.`);
    if (!bool(ctx.flags, 'watch')) return 0;
    // New rows keep the widths of the listed table (or of the header), as kubectl's watch output does.
    const widths = columnWidths([tableHeader('Event', opts), ...events.map((e) => tableRow('Event', e, opts))]);
    if (!events.length && !opts.noHeaders) ctx.io.out(formatRow(tableHeader('Event', opts), widths));
    for await (const ev of untilAborted(client.watch('Event', { namespace, resourceVersion }), ctx.io.signal)) {
      if ((ev.type === 'ADDED' || ev.type === 'MODIFIED') && ev.object && wanted(ev.object)) {
        ctx.io.out(formatRow(tableRow('Event', ev.object, { ...opts, now: ctx.now() }), widths));
      }
    }
    return 0;
  },
};

/** --for and --types as one test of an Event. */
function matcher(ctx: CommandContext): (e: Resource) => boolean {
  const forText = str(ctx.flags, 'for');
  let about: { kind: string; name: string } | undefined;
  if (forText) {
    const { refs } = parseObjectRefs([forText], COMMAND);
    if (refs.length !== 1 || !forText.includes('/')) throw new UsageError(`--for takes KIND/NAME, e.g. containerset/web; got "${forText}"`, COMMAND);
    about = { kind: refs[0]!.info.kind, name: refs[0]!.name };
  }
  const typesText = str(ctx.flags, 'types');
  const types = typesText?.split(',').map((t) => t.trim());
  for (const t of types ?? []) {
    if (!TYPES.some((k) => k.toLowerCase() === t.toLowerCase())) throw new UsageError(`valid --types are Normal and Warning, not "${t}"`, COMMAND);
  }
  return (e) => {
    const ref = (e.involvedObject ?? {}) as { kind?: string; name?: string };
    if (about && (ref.kind !== about.kind || ref.name !== about.name)) return false;
    return !types || types.some((t) => t.toLowerCase() === String(e.type ?? '').toLowerCase());
  };
}
