// `persys describe`: one object for humans — metadata, spec and status as indented YAML, its
// conditions, and the Events recorded about it.
import type { Resource } from '../../api/resource.js';
import { isNotFound } from '../../client/errors.js';
import { listPages } from '../../client/pages.js';
import type { Command, CommandContext } from '../command.js';
import { formatError } from '../errors.js';
import { UsageError } from '../usage-error.js';
import { age } from '../printers/age.js';
import { eventLastSeen } from '../printers/columns.js';
import { columnWidths, formatRow } from '../printers/table.js';
import { toYaml } from '../printers/output.js';
import { resolveKind } from '../resolve-kind.js';
import { LAST_APPLIED_ANNOTATION } from './apply.js';

export const describeCommand: Command = {
  name: 'describe',
  usage: 'persys describe KIND NAME [NAME...]',
  async run(ctx) {
    const info = resolveKind(ctx.args[0], 'describe');
    const names = ctx.args.slice(1);
    if (!names.length) throw new UsageError('you must specify the NAME of the object to describe', 'describe');
    const namespace = info.namespaced ? ctx.namespace() : '';
    const client = ctx.client();
    let failed = false;
    for (const [i, name] of names.entries()) {
      try {
        const obj = await client.get(info.kind, name, namespace);
        const events = info.kind === 'Event' ? undefined : await eventsFor(ctx, obj);
        const slice = info.kind === 'Service' ? await endpointSliceOf(ctx, obj) : undefined;
        if (i > 0) ctx.io.out('');
        ctx.io.out(describeObject(obj, events, ctx.now(), slice));
      } catch (err) {
        failed = true;
        ctx.io.err(formatError(err, ctx.config().server));
      }
    }
    return failed ? 1 : 0;
  },
};

async function eventsFor(ctx: CommandContext, obj: Resource): Promise<Resource[]> {
  try {
    // Only this object's events are kept as the namespace's pages go by, however many it holds.
    const about: Resource[] = [];
    for await (const page of listPages(ctx.client(), 'Event', { namespace: obj.metadata.namespace ?? '' })) {
      for (const e of page.items) if (isAbout(e, obj)) about.push(e);
    }
    return about;
  } catch (err) {
    ctx.io.err(`warning: events not shown: ${formatError(err)}`);
    return [];
  }
}

/** A Service's EndpointSlice (same name); undefined while the endpoints controller has not written it. */
async function endpointSliceOf(ctx: CommandContext, svc: Resource): Promise<Resource | undefined> {
  try {
    return await ctx.client().get('EndpointSlice', svc.metadata.name!, svc.metadata.namespace ?? '');
  } catch (err) {
    if (!isNotFound(err)) ctx.io.err(`warning: endpoints not shown: ${formatError(err)}`);
    return undefined;
  }
}

/** Whether Event `e` is about `obj`: by uid, or by kind, namespace and name when the event has no uid. */
export function isAbout(e: Resource, obj: Resource): boolean {
  const ref = (e as any).involvedObject ?? {};
  if (ref.uid && obj.metadata.uid) return ref.uid === obj.metadata.uid;
  return ref.kind === obj.kind && ref.name === obj.metadata.name && (ref.namespace ?? '') === (obj.metadata.namespace ?? '');
}

const LABEL_WIDTH = 14;
const field = (label: string, value: string) => `${(label + ':').padEnd(LABEL_WIDTH)}${value}`;

function mapLines(label: string, map: Record<string, string> | undefined, sep: string): string[] {
  const entries = Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  if (!entries.length) return [field(label, '<none>')];
  return entries.map(([k, v], i) => (i === 0 ? field(label, `${k}${sep}${v}`) : ' '.repeat(LABEL_WIDTH) + `${k}${sep}${v}`));
}

function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

function section(label: string, value: unknown): string[] {
  if (value === undefined || value === null || (typeof value === 'object' && !Object.keys(value).length)) {
    return [field(label, '<none>')];
  }
  if (typeof value !== 'object') return [field(label, String(value))];
  return [`${label}:`, indent(toYaml(value))];
}

function table(rows: string[][], prefix = '  '): string[] {
  const header = rows[0]!;
  const all = [header, header.map((h) => '-'.repeat(h.length)), ...rows.slice(1)];
  const widths = columnWidths(all);
  return all.map((r) => prefix + formatRow(r, widths));
}

/**
 * The describe text of `obj`; `events` undefined leaves the Events section out. A Service's
 * `endpointSlice` lists its endpoints.
 */
export function describeObject(obj: Resource, events: Resource[] | undefined, now: Date, endpointSlice?: Resource): string {
  const m = obj.metadata;
  const annotations = { ...(m.annotations ?? {}) };
  delete annotations[LAST_APPLIED_ANNOTATION];
  const lines = [field('Name', m.name ?? '')];
  if (m.namespace) lines.push(field('Namespace', m.namespace));
  lines.push(field('Kind', obj.kind));
  lines.push(...mapLines('Labels', m.labels, '='));
  lines.push(...mapLines('Annotations', annotations, ': '));
  lines.push(field('Created', m.creationTimestamp ? `${m.creationTimestamp} (${age(m.creationTimestamp, now)} ago)` : '<unknown>'));
  if (m.deletionTimestamp) lines.push(field('Deleting', `since ${m.deletionTimestamp}`));
  const owner = m.ownerReferences?.find((o) => o.controller) ?? m.ownerReferences?.[0];
  if (owner) lines.push(field('Controlled By', `${owner.kind}/${owner.name}`));
  if (m.finalizers?.length) lines.push(field('Finalizers', m.finalizers.join(', ')));

  if (obj.kind === 'Secret') {
    lines.push(field('Type', String(obj.type || 'Opaque')));
    const data = (obj.data ?? {}) as Record<string, string>;
    const keys = Object.keys(data).sort();
    lines.push('Data:');
    lines.push(...(keys.length ? keys.map((k) => `  ${k}: ${Buffer.from(data[k]!, 'base64').length} bytes`) : ['  <none>']));
  } else if (obj.kind === 'ConfigMap') {
    lines.push(...configMapData(obj));
  } else if (obj.kind === 'Service') {
    lines.push(...serviceLines(obj, endpointSlice, now));
  } else {
    const rest = Object.fromEntries(
      Object.entries(obj).filter(([k]) => !['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k)),
    );
    for (const [k, v] of Object.entries(rest)) lines.push(...section(k[0]!.toUpperCase() + k.slice(1), v));
    if ('spec' in obj || obj.kind !== 'Event') lines.push(...section('Spec', obj.spec));
    const { conditions, ...status } = (obj.status ?? {}) as Record<string, any>;
    if (obj.status !== undefined || ['Container', 'ContainerSet', 'Node'].includes(obj.kind)) {
      lines.push(...section('Status', status));
    }
    if (Array.isArray(conditions)) lines.push(...conditionLines(conditions, now));
  }
  if (events) lines.push(...eventsSection(events, now));
  return lines.join('\n');
}

function conditionLines(conditions: any[], now: Date): string[] {
  if (!conditions.length) return [];
  return [
    'Conditions:',
    ...table([
      ['Type', 'Status', 'Reason', 'Last Transition', 'Message'],
      ...conditions.map((c) => [
        c.type ?? '',
        c.status ?? '',
        c.reason || '-',
        c.lastTransitionTime ? `${age(c.lastTransitionTime, now)} ago` : '-',
        c.message || '',
      ]),
    ]),
  ];
}

/** Selector, cluster IP, ports, endpoints (from the slice) and the EndpointsReady condition. */
function serviceLines(obj: Resource, slice: Resource | undefined, now: Date): string[] {
  const spec = (obj.spec ?? {}) as { selector?: Record<string, string>; clusterIp?: string; ports?: any[] };
  const lines = [...mapLines('Selector', spec.selector, '=')];
  lines.push(field('Cluster IP', spec.clusterIp || '<none>'));
  lines.push('Ports:');
  lines.push(
    ...table([
      ['Name', 'Port', 'TargetPort', 'Protocol'],
      ...(spec.ports ?? []).map((p) => [p.name || '<unset>', String(p.port ?? ''), String(p.targetPort || p.port || ''), p.protocol || 'TCP']),
    ]),
  );
  const status = (obj.status ?? {}) as { readyEndpoints?: number; totalEndpoints?: number; conditions?: any[] };
  lines.push(field('Endpoints', `${status.readyEndpoints ?? 0} ready of ${status.totalEndpoints ?? 0}`));
  const endpoints = ((slice?.['endpoints'] as any[] | undefined) ?? []);
  if (endpoints.length) {
    lines.push(
      ...table([
        ['Container', 'Node', 'Node Address', 'Container IP', 'Ports', 'Ready'],
        ...endpoints.map((e) => [
          e.containerName ?? '',
          e.nodeName || '-',
          e.nodeAddress || '-',
          e.containerIp || '-',
          ((e.ports as any[] | undefined) ?? []).map((p) => (p.hostPort ? `${p.port} (host ${p.hostPort})` : String(p.port))).join(',') || '-',
          e.ready ? 'True' : 'False',
        ]),
      ]),
    );
  }
  lines.push(...conditionLines(status.conditions ?? [], now));
  return lines;
}

/** kubectl's layout: each text key, a rule, then its value; binary keys by size only. */
function configMapData(obj: Resource): string[] {
  const data = (obj.data ?? {}) as Record<string, string>;
  const binary = (obj.binaryData ?? {}) as Record<string, string>;
  const sorted = (m: Record<string, string>) => Object.keys(m).sort();
  const lines = ['', 'Data', '===='];
  for (const k of sorted(data)) lines.push(`${k}:`, '----', data[k]!.replace(/\n$/, ''), '');
  if (!Object.keys(data).length) lines.push('<none>', '');
  lines.push('BinaryData', '====');
  for (const k of sorted(binary)) lines.push(`${k}: ${Buffer.from(binary[k]!, 'base64').length} bytes`);
  if (!Object.keys(binary).length) lines.push('<none>');
  if (obj.immutable) lines.push('', field('Immutable', 'true'));
  lines.push('');
  return lines;
}

const lastSeen = eventLastSeen;

function eventsSection(events: Resource[], now: Date): string[] {
  if (!events.length) return [field('Events', '<none>')];
  const sorted = [...events].sort((a, b) => Date.parse(lastSeen(a)) - Date.parse(lastSeen(b)));
  const rows = sorted.map((e) => {
    const count = Number(e.count ?? 1);
    const last = age(lastSeen(e), now);
    const when = count > 1 ? `${last} (x${count} over ${age((e.firstTimestamp as string) || lastSeen(e), now)})` : last;
    const src = (e.source ?? {}) as { component?: string; host?: string };
    const from = [src.component, src.host].filter(Boolean).join(', ') || '-';
    return [String(e.type ?? ''), String(e.reason ?? ''), when, from, String(e.message ?? '')];
  });
  return ['Events:', ...table([['Type', 'Reason', 'Age', 'From', 'Message'], ...rows])];
}
