// `persys get`: list or fetch objects of one kind as a table or yaml/json/name, optionally
// watching for changes (-w) from the listed revision. Lists are read and printed a page at a time.
import { status as Status } from '@grpc/grpc-js';
import type { KindInfo } from '../../api/kinds.js';
import type { Resource } from '../../api/resource.js';
import { ApiError } from '../../client/errors.js';
import { DEFAULT_PAGE_SIZE, listPages } from '../../client/pages.js';
import type { CliClient, Command, CommandContext } from '../command.js';
import { bool, str } from '../command.js';
import { formatError } from '../errors.js';
import { UsageError } from '../usage-error.js';
import { formatObjects, parseOutputFormat, resourceName, toJson, toYaml, type OutputFormat } from '../printers/output.js';
import { listWriter } from '../printers/list-writer.js';
import { columnWidths, formatRow, renderTable, tableHeader, tableRow, type TableOptions } from '../printers/table.js';
import { resolveKind } from '../resolve-kind.js';
import { untilAborted } from '../watch.js';

export const getCommand: Command = {
  name: 'get',
  usage: 'persys get KIND [NAME...] [-o yaml|json|wide|name] [-l SELECTOR] [-n NS | -A] [-w] [--chunk-size N]',
  description: 'KIND is a kind, its plural or a short name (see `persys api-resources`).',
  flags: {
    output: { type: 'string', short: 'o', valueName: 'FORMAT', description: 'yaml, json, wide or name (default: a table)' },
    selector: { type: 'string', short: 'l', valueName: 'SELECTOR', description: 'label selector, e.g. app=web,tier!=db' },
    'field-selector': {
      type: 'string',
      valueName: 'SELECTOR',
      description: 'field selector on metadata.name, metadata.namespace, spec.nodeName, status.phase',
    },
    'all-namespaces': { type: 'boolean', short: 'A', description: 'list across all namespaces' },
    watch: { type: 'boolean', short: 'w', description: 'after listing, print changes until interrupted' },
    'show-labels': { type: 'boolean', description: 'add a LABELS column' },
    'chunk-size': {
      type: 'string',
      valueName: 'N',
      default: String(DEFAULT_PAGE_SIZE),
      description: 'list N objects per request and print them as they arrive; 0 lists in one request',
    },
  },
  async run(ctx) {
    const info = resolveKind(ctx.args[0], 'get');
    const names = ctx.args.slice(1);
    const format = parseOutputFormat(str(ctx.flags, 'output'));
    if (!format) throw new UsageError(`unknown output format "${str(ctx.flags, 'output')}": use yaml, json, wide or name`, 'get');
    const chunkSize = parseChunkSize(str(ctx.flags, 'chunk-size'));
    const all = bool(ctx.flags, 'all-namespaces');
    const namespace = info.namespaced && !all ? ctx.namespace() : '';
    const tableOpts: TableOptions = {
      now: ctx.now(),
      wide: format === 'wide',
      withNamespace: all && info.namespaced,
      showLabels: bool(ctx.flags, 'show-labels'),
    };
    const client = ctx.client();
    const watch = bool(ctx.flags, 'watch');
    let fieldSelector = str(ctx.flags, 'field-selector');
    const labelSelector = str(ctx.flags, 'selector');

    let resourceVersion = '';
    let failed = false;
    let widths: number[] = [];
    // What was printed per object (key → resourceVersion), so a re-list during -w prints only changes.
    const listed = new Map<string, string>();
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
      if (info.kind === 'Node' && format === 'wide') objects = await withLiveUsage(ctx)(objects);
      for (const o of objects) listed.set(objectKey(o), o.metadata.resourceVersion ?? '');
      if (objects.length) {
        if (format === 'table' || format === 'wide') {
          widths = columnWidths([tableHeader(info.kind, tableOpts), ...objects.map((o) => tableRow(info.kind, o, tableOpts))]);
          ctx.io.out(renderTable(info.kind, objects, tableOpts).join('\n'));
        } else {
          ctx.io.out(formatObjects(format, objects, names.length === 1 && !watch));
        }
      }
    } else {
      const writer = listWriter(format, ctx.io.out, { kind: info.kind, opts: tableOpts });
      const decorate = info.kind === 'Node' && format === 'wide' ? withLiveUsage(ctx) : undefined;
      let count = 0;
      for await (const page of listPages(client, info.kind, { namespace, labelSelector, fieldSelector }, chunkSize)) {
        const items = decorate ? await decorate(page.items) : page.items;
        writer.page(items);
        count += items.length;
        resourceVersion = page.resourceVersion;
        if (watch) for (const o of items) listed.set(objectKey(o), o.metadata.resourceVersion ?? '');
        await ctx.io.drain?.();
      }
      if (!count && (format === 'table' || format === 'wide' || format === 'name')) {
        ctx.io.err(namespace ? `No resources found in ${namespace} namespace.` : 'No resources found');
      }
      writer.end();
      widths = writer.widths();
    }
    if (!watch) return failed ? 1 : 0;

    const printEvent = (obj: Resource) => {
      if (format === 'table' || format === 'wide') {
        const opts = { ...tableOpts, now: ctx.now() };
        if (!widths.length) {
          const header = tableHeader(info.kind, opts);
          widths = columnWidths([header]);
          ctx.io.out(formatRow(header, widths));
        }
        const row = tableRow(info.kind, obj, opts);
        widths = columnWidths([widths.map((w) => ' '.repeat(w)), row]);
        ctx.io.out(formatRow(row, widths));
      } else if (format === 'yaml') {
        ctx.io.out('---\n' + toYaml(obj));
      } else if (format === 'json') {
        ctx.io.out(toJson(obj));
      } else {
        ctx.io.out(resourceName(obj));
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
