// `persys get`: list or fetch objects of one or several kinds as tables, yaml/json/name, a JSONPath
// template or custom columns, optionally watching one kind for changes (-w) from the listed revision.
// Lists are read and printed a page at a time, unless --sort-by needs the whole list first.
import { readFileSync } from 'node:fs';
import { status as Status } from '@grpc/grpc-js';
import type { KindInfo } from '../../api/kinds.js';
import type { Resource } from '../../api/resource.js';
import { ApiError } from '../../client/errors.js';
import { DEFAULT_PAGE_SIZE, listAll, listPages } from '../../client/pages.js';
import type { CliClient, Command, CommandContext } from '../command.js';
import { bool, str } from '../command.js';
import { formatError } from '../errors.js';
import { UsageError } from '../usage-error.js';
import { ALL_KINDS, parseGetTargets } from '../get-targets.js';
import { GET_FORMATS, parseGetOutput } from '../printers/get-output.js';
import { getPrinter } from '../printers/get-printer.js';
import { resourceName, toJson, toYaml } from '../printers/output.js';
import { sortByPath } from '../printers/sort.js';
import type { TableOptions } from '../printers/table.js';
import { untilAborted } from '../watch.js';

export const getCommand: Command = {
  name: 'get',
  usage:
    'persys get KIND[,KIND...] [NAME...] [-o FORMAT] [-l SELECTOR] [-n NS | -A] [-w] [--sort-by PATH]\n' +
    'persys get KIND/NAME... [flags]\n' +
    'persys get all [flags]',
  description: [
    'KIND is a kind, its plural or a short name (see `persys api-resources`); `all` means the workload',
    `kinds (${ALL_KINDS.join(', ')}).`,
    'With several kinds, each gets its own table, its rows named kind/name.',
    '',
    'JSONPath (-o jsonpath=, custom-columns=, --sort-by) is kubectl\'s: {.a.b}, [0], [-1], [1:3], [*], ..name,',
    '[?(@.x=="y")], {range .items[*]}...{end}, {"\\n"}. A list is the template\'s {kind: List, items: [...]}.',
    '',
    'Examples:',
    "  persys get cs -o jsonpath='{range .items[*]}{.metadata.name}{\"\\t\"}{.spec.replicas}{\"\\n\"}{end}'",
    '  persys get ct -o custom-columns=NAME:.metadata.name,IMAGE:.spec.image,NODE:.spec.nodeName --sort-by .spec.nodeName',
    '  persys get cs,ct -l app=web',
  ].join('\n'),
  flags: {
    output: { type: 'string', short: 'o', valueName: 'FORMAT', description: `${GET_FORMATS} (default: a table)` },
    selector: { type: 'string', short: 'l', valueName: 'SELECTOR', description: 'label selector, e.g. app=web,tier!=db' },
    'field-selector': {
      type: 'string',
      valueName: 'SELECTOR',
      description: 'field selector on metadata.name, metadata.namespace, spec.nodeName, status.phase',
    },
    'all-namespaces': { type: 'boolean', short: 'A', description: 'list across all namespaces' },
    watch: { type: 'boolean', short: 'w', description: 'after listing, print changes until interrupted' },
    'show-labels': { type: 'boolean', description: 'add a LABELS column' },
    'no-headers': { type: 'boolean', description: 'print tables and custom columns without their header line' },
    'sort-by': {
      type: 'string',
      valueName: 'JSONPATH',
      description: 'sort by this field, e.g. .metadata.creationTimestamp (numbers by value); reads the whole list first',
    },
    'allow-missing-template-keys': {
      type: 'boolean',
      default: true,
      description: 'a jsonpath field that is missing prints nothing; false makes it an error',
    },
    'chunk-size': {
      type: 'string',
      valueName: 'N',
      default: String(DEFAULT_PAGE_SIZE),
      description: 'list N objects per request and print them as they arrive; 0 lists in one request',
    },
  },
  async run(ctx) {
    const targets = parseGetTargets(ctx.args);
    const output = parseGetOutput(str(ctx.flags, 'output'), (path) => readFileSync(path, 'utf8'));
    if (!output) throw new UsageError(`unknown output format "${str(ctx.flags, 'output')}": use ${GET_FORMATS}`, 'get');
    const sortBy = str(ctx.flags, 'sort-by');
    if (sortBy) sortByPath([], sortBy); // a bad path fails before anything is read
    const watch = bool(ctx.flags, 'watch');
    if (watch && targets.groups.length > 1) throw new UsageError('watch is only supported on one kind at a time', 'get');
    if (watch && sortBy) throw new UsageError('--sort-by cannot be used with --watch', 'get');
    const chunkSize = parseChunkSize(str(ctx.flags, 'chunk-size'));
    const all = bool(ctx.flags, 'all-namespaces');
    const tableOpts: TableOptions = {
      now: ctx.now(),
      wide: output.format === 'wide',
      withNamespace: all && targets.groups.some((g) => g.info.namespaced),
      showLabels: bool(ctx.flags, 'show-labels'),
      withKind: targets.multipleKinds,
      noHeaders: bool(ctx.flags, 'no-headers'),
    };
    const allowMissingKeys = ctx.flags['allow-missing-template-keys'] !== false;
    const printer = getPrinter(output, ctx.io, { table: tableOpts, single: targets.single && !watch, allowMissingKeys, perObject: watch });
    const client = ctx.client();
    let fieldSelector = str(ctx.flags, 'field-selector');
    const labelSelector = str(ctx.flags, 'selector');
    const sorted = (objs: Resource[]) => (sortBy ? sortByPath(objs, sortBy) : objs);

    let resourceVersion = '';
    let failed = false;
    // What was printed per object (key → resourceVersion), so a re-list during -w prints only changes.
    const listed = new Map<string, string>();
    let namespace = '';
    for (const { info, names } of targets.groups) {
      namespace = info.namespaced && !all ? ctx.namespace() : '';
      const decorate = info.kind === 'Node' && output.format === 'wide' ? withLiveUsage(ctx) : undefined;
      printer.kind(info.kind);
      if (names.length) {
        if (watch && names.length > 1) throw new UsageError('watch is only supported on a single object or a list', 'get');
        let objects: Resource[] = [];
        for (const name of names) {
          try {
            objects.push(await client.get(info.kind, name, namespace));
          } catch (err) {
            failed = true;
            ctx.io.err(formatError(err, ctx.config().server));
          }
        }
        if (watch) {
          fieldSelector = [fieldSelector, `metadata.name=${names[0]}`].filter(Boolean).join(',');
          resourceVersion = objects[0]?.metadata.resourceVersion ?? '';
        }
        if (decorate) objects = await decorate(objects);
        for (const o of objects) listed.set(objectKey(o), o.metadata.resourceVersion ?? '');
        printer.page(sorted(objects));
      } else if (sortBy) {
        // Sorting needs every object: read all pages, then print.
        const whole = await listAll(client, info.kind, { namespace, labelSelector, fieldSelector }, chunkSize);
        printer.page(sorted(decorate ? await decorate(whole.items) : whole.items));
      } else {
        for await (const page of listPages(client, info.kind, { namespace, labelSelector, fieldSelector }, chunkSize)) {
          const items = decorate ? await decorate(page.items) : page.items;
          printer.page(items);
          resourceVersion = page.resourceVersion;
          if (watch) for (const o of items) listed.set(objectKey(o), o.metadata.resourceVersion ?? '');
          await ctx.io.drain?.();
        }
      }
    }
    const listing = targets.groups.every((g) => !g.names.length);
    if (listing && !printer.printed() && ['table', 'wide', 'name', 'custom-columns'].includes(output.format)) {
      ctx.io.err(namespace ? `No resources found in ${namespace} namespace.` : 'No resources found');
    }
    printer.end();
    if (!watch) return failed ? 1 : 0;

    const info = targets.groups[0]!.info;
    const printEvent = (obj: Resource) => {
      if (output.format === 'yaml') ctx.io.out('---\n' + toYaml(obj));
      else if (output.format === 'json') ctx.io.out(toJson(obj));
      else if (output.format === 'name') ctx.io.out(resourceName(obj));
      else {
        // Tables, custom columns and jsonpath print each event as the list's objects were printed.
        tableOpts.now = ctx.now();
        printer.page([obj]);
      }
    };
    await watchAndPrint(ctx, client, info, { namespace, labelSelector, fieldSelector }, resourceVersion, listed, printEvent);
    return failed ? 1 : 0;
  },
};

async function watchAndPrint(
  ctx: CommandContext,
  client: CliClient,
  info: KindInfo,
  selectors: { namespace: string; labelSelector?: string; fieldSelector?: string },
  fromVersion: string,
  seen: Map<string, string>,
  print: (obj: Resource) => void,
): Promise<void> {
  const signal = ctx.io.signal;
  let rv = fromVersion;
  while (!signal?.aborted) {
    try {
      const events = client.watch(info.kind, { ...selectors, resourceVersion: rv, allowBookmarks: true, signal });
      for await (const ev of untilAborted(events, signal)) {
        if (ev.resourceVersion) rv = ev.resourceVersion;
        if (ev.type === 'BOOKMARK' || !ev.object) continue;
        rv = ev.object.metadata.resourceVersion || rv;
        const key = objectKey(ev.object);
        if (ev.type === 'DELETED') seen.delete(key);
        else seen.set(key, ev.object.metadata.resourceVersion ?? '');
        print(ev.object);
      }
    } catch (err) {
      if (!(err instanceof ApiError && err.code === Status.OUT_OF_RANGE)) throw err;
      for await (const page of listPages(client, info.kind, selectors)) {
        for (const o of page.items) {
          const key = objectKey(o);
          if (seen.get(key) !== o.metadata.resourceVersion) print(o);
          seen.set(key, o.metadata.resourceVersion ?? '');
        }
        rv = page.resourceVersion;
      }
    }
    // A watch the server ended resumes from the last revision seen, after a pause so a server that
    // keeps ending streams is not hammered.
    if (!signal?.aborted) await ctx.sleep(250);
  }
}

const objectKey = (o: Resource) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

/** --chunk-size: objects per list call, 0 for one unpaged call (kubectl's flag and default). */
export function parseChunkSize(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PAGE_SIZE;
  if (!/^\d+$/.test(value)) throw new UsageError(`invalid --chunk-size "${value}": want a whole number of objects, 0 for no paging`, 'get');
  return Number(value);
}

/**
 * Node usage lives in the API server's memory (agents report it at every heartbeat; writing it to
 * etcd would cost a write per node per heartbeat), so `get nodes -o wide` asks for it separately,
 * once, and adds it to each page of nodes.
 */
function withLiveUsage(ctx: CommandContext): (nodes: Resource[]) => Promise<Resource[]> {
  let usage: Promise<Map<string, unknown>> | undefined;
  const fetchUsage = async (): Promise<Map<string, unknown>> => {
    const { OperationsClient } = await import('../../client/operations.js');
    const { NodeUsage } = await import('../../gen/persys/v1/cluster.js');
    const ops = new OperationsClient(ctx.config());
    try {
      const top = await ops.top('nodes');
      return new Map(top.nodes.filter((n) => n.usage).map((n) => [n.name, NodeUsage.toJSON(n.usage!)]));
    } catch {
      return new Map(); // usage is a nicety: the table still prints without it
    } finally {
      ops.close();
    }
  };
  return async (nodes) => {
    const byName = await (usage ??= fetchUsage());
    return nodes.map((n) => {
      const u = byName.get(n.metadata.name ?? '');
      return u ? { ...n, status: { ...n.status, usage: u } } : n;
    });
  };
}
