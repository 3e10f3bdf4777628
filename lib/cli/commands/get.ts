// `persys get`: list or fetch objects of one kind as a table or yaml/json/name, optionally
// watching for changes (-w) from the listed revision.
import { status as Status } from '@grpc/grpc-js';
import type { KindInfo } from '../../api/kinds.js';
import type { Resource } from '../../api/resource.js';
import { ApiError } from '../../client/client.js';
import type { CliClient, Command, CommandContext } from '../command.js';
import { bool, str } from '../command.js';
import { formatError, UsageError } from '../errors.js';
import { formatObjects, parseOutputFormat, resourceName, toJson, toYaml, type OutputFormat } from '../printers/output.js';
import { columnWidths, formatRow, renderTable, tableHeader, tableRow, type TableOptions } from '../printers/table.js';
import { resolveKind } from '../resolve-kind.js';
import { untilAborted } from '../watch.js';

export const getCommand: Command = {
  name: 'get',
  summary: 'Display one or many objects',
  usage: 'persys get KIND [NAME...] [-o yaml|json|wide|name] [-l SELECTOR] [-n NS | -A] [-w]',
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
  },
  async run(ctx) {
    const info = resolveKind(ctx.args[0], 'get');
    const names = ctx.args.slice(1);
    const format = parseOutputFormat(str(ctx.flags, 'output'));
    if (!format) throw new UsageError(`unknown output format "${str(ctx.flags, 'output')}": use yaml, json, wide or name`, 'get');
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

    let objects: Resource[] = [];
    let resourceVersion = '';
    let failed = false;
    if (names.length) {
      if (watch && names.length > 1) throw new UsageError('watch is only supported on a single object or a list', 'get');
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
    } else {
      const res = await client.list(info.kind, { namespace, labelSelector, fieldSelector });
      objects = res.items;
      resourceVersion = res.resourceVersion;
      if (!objects.length && (format === 'table' || format === 'wide' || format === 'name')) {
        ctx.io.err(namespace ? `No resources found in ${namespace} namespace.` : 'No resources found');
      }
    }

    if (info.kind === 'Node' && format === 'wide') objects = await withLiveUsage(ctx, objects);

    let widths: number[] = [];
    if (objects.length || (!names.length && (format === 'yaml' || format === 'json'))) {
      if (format === 'table' || format === 'wide') {
        const lines = renderTable(info.kind, objects, tableOpts);
        widths = columnWidths([tableHeader(info.kind, tableOpts), ...objects.map((o) => tableRow(info.kind, o, tableOpts))]);
        ctx.io.out(lines.join('\n'));
      } else {
        ctx.io.out(formatObjects(format, objects, names.length === 1 && !watch));
      }
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
    await watchAndPrint(ctx, client, info, { namespace, labelSelector, fieldSelector }, resourceVersion, objects, printEvent);
    return failed ? 1 : 0;
  },
};

async function watchAndPrint(
  ctx: CommandContext,
  client: CliClient,
  info: KindInfo,
  selectors: { namespace: string; labelSelector?: string; fieldSelector?: string },
  fromVersion: string,
  listed: Resource[],
  print: (obj: Resource) => void,
): Promise<void> {
  const signal = ctx.io.signal;
  // What was last printed per object, so a re-list after "too old" prints only what changed.
  const seen = new Map(listed.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o.metadata.resourceVersion]));
  let rv = fromVersion;
  while (!signal?.aborted) {
    try {
      const events = client.watch(info.kind, { ...selectors, resourceVersion: rv, allowBookmarks: true, signal });
      for await (const ev of untilAborted(events, signal)) {
        if (ev.resourceVersion) rv = ev.resourceVersion;
        if (ev.type === 'BOOKMARK' || !ev.object) continue;
        rv = ev.object.metadata.resourceVersion || rv;
        const key = `${ev.object.metadata.namespace}/${ev.object.metadata.name}`;
        if (ev.type === 'DELETED') seen.delete(key);
        else seen.set(key, ev.object.metadata.resourceVersion);
        print(ev.object);
      }
    } catch (err) {
      if (!(err instanceof ApiError && err.code === Status.OUT_OF_RANGE)) throw err;
      const res = await client.list(info.kind, selectors);
      for (const o of res.items) {
        const key = `${o.metadata.namespace}/${o.metadata.name}`;
        if (seen.get(key) !== o.metadata.resourceVersion) print(o);
        seen.set(key, o.metadata.resourceVersion);
      }
      rv = res.resourceVersion;
    }
    // A watch the server ended resumes from the last revision seen, after a pause so a server that
    // keeps ending streams is not hammered.
    if (!signal?.aborted) await ctx.sleep(250);
  }
}

/**
 * Node usage lives in the API server's memory (agents report it at every heartbeat; writing it to
 * etcd would cost a write per node per heartbeat), so `get nodes -o wide` asks for it separately.
 */
async function withLiveUsage(ctx: CommandContext, nodes: Resource[]): Promise<Resource[]> {
  const { OperationsClient } = await import('../../client/operations.js');
  const { NodeUsage } = await import('../../gen/persys/v1/cluster.js');
  const ops = new OperationsClient(ctx.config());
  try {
    const top = await ops.top('nodes');
    const usage = new Map(top.nodes.map((n) => [n.name, n.usage]));
    return nodes.map((n) => {
      const u = usage.get(n.metadata.name ?? '');
      return u ? { ...n, status: { ...n.status, usage: NodeUsage.toJSON(u) } } : n;
    });
  } catch {
    return nodes; // usage is a nicety: the table still prints without it
  } finally {
    ops.close();
  }
}
