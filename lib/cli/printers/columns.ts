// The `persys get` table of each kind: which columns it shows (and which only with -o wide),
// modelled on kubectl's printers for the nearest Kubernetes kind.
import type { Resource } from '../../api/resource.js';
import { age, humanDuration } from './age.js';

export interface Column {
  header: string;
  /** Shown only with -o wide. */
  wide?: boolean;
  value(obj: Resource, now: Date): string;
}

export interface KindTable {
  /** False for kinds whose rows are not identified by name (Event, like kubectl). */
  showName: boolean;
  columns: Column[];
}

const NONE = '<none>';
const orNone = (v: unknown): string => (v === undefined || v === null || v === '' ? NONE : String(v));
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0);

/** When an Event was last seen: lastTimestamp, else firstTimestamp, else its creation. */
export const eventLastSeen = (e: Resource): string =>
  (e.lastTimestamp as string) || (e.firstTimestamp as string) || e.metadata.creationTimestamp || '';

const AGE: Column = { header: 'AGE', value: (o, now) => age(o.metadata.creationTimestamp, now) };

function containerStatus(o: Resource): string {
  if (o.metadata.deletionTimestamp) return 'Terminating';
  const s = o.status ?? {};
  if (s.reason === 'Pulling') return `Pulling${pullPercent(s.imagePull)}`;
  if ((s.phase === 'Failed' || s.phase === 'Pending') && s.reason) return s.reason;
  return s.phase || 'Pending';
}

/** " (37%)" of an image pull whose size the registry has announced, else "". */
function pullPercent(p: { downloadedBytes?: unknown; totalBytes?: unknown } | undefined): string {
  const total = num(p?.totalBytes);
  if (!total) return '';
  return ` (${Math.min(100, Math.floor((num(p?.downloadedBytes) / total) * 100))}%)`;
}

/** "8080:80/tcp" for a fixed host port; a port Docker picks shows the one it picked (status.ports), or "*" until known. */
function containerPorts(ports: any[] | undefined, bound: any[] | undefined): string {
  if (!ports?.length) return NONE;
  return ports
    .map((p) => {
      const proto = (p.protocol || 'TCP').toLowerCase();
      if (p.hostPort) return `${p.hostPort}:${p.containerPort}/${proto}`;
      if (!p.publish) return `${p.containerPort}/${proto}`;
      const picked = bound?.find((b) => b.containerPort === p.containerPort && (b.protocol || 'TCP').toLowerCase() === proto && (!p.name || b.name === p.name));
      return `${picked?.hostPort || '*'}:${p.containerPort}/${proto}`;
    })
    .join(',');
}

function servicePorts(ports: any[] | undefined): string {
  if (!ports?.length) return NONE;
  return ports
    .map((p) => {
      const proto = (p.protocol || 'tcp').toLowerCase();
      return p.publishedPort ? `*:${p.publishedPort}->${p.targetPort}/${proto}` : `${p.targetPort}/${proto}`;
    })
    .join(',');
}

/** A Service's ports as kubectl prints them: 80/TCP,443/TCP. */
function serviceSpecPorts(ports: any[] | undefined): string {
  if (!ports?.length) return NONE;
  return ports.map((p) => `${p.port}/${p.protocol || 'TCP'}`).join(',');
}

function selectorText(selector: Record<string, string> | undefined): string {
  const pairs = Object.entries(selector ?? {});
  return pairs.length ? pairs.map(([k, v]) => `${k}=${v}`).join(',') : NONE;
}

/** How many endpoints kubectl prints before "+ N more...". */
const SHOWN_ENDPOINTS = 3;

/**
 * The ready endpoints of a slice as ip:port, the first three then "+ N more..." as kubectl does; the
 * container's address, or with `onNode` the node's address and published port.
 */
export function endpointList(o: Resource, onNode = false): string {
  const all: string[] = [];
  for (const e of (o['endpoints'] as any[] | undefined) ?? []) {
    if (!e.ready) continue;
    const ip = onNode ? e.nodeAddress : e.containerIp;
    if (!ip) continue;
    const ports = ((e.ports as any[] | undefined) ?? []).map((p) => (onNode ? p.hostPort : p.port)).filter(Boolean);
    if (!ports.length) all.push(ip);
    for (const port of ports) all.push(`${ip}:${port}`);
  }
  if (!all.length) return NONE;
  const shown = all.slice(0, SHOWN_ENDPOINTS).join(',');
  return all.length > SHOWN_ENDPOINTS ? `${shown} + ${all.length - SHOWN_ENDPOINTS} more...` : shown;
}

function condition(o: Resource, type: string): any | undefined {
  return (o.status?.conditions as any[] | undefined)?.find((c) => c.type === type);
}

function nodeStatus(o: Resource): string {
  const ready = condition(o, 'Ready');
  const state = ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
  return o.spec?.unschedulable ? `${state},SchedulingDisabled` : state;
}

function nodeRoles(o: Resource): string {
  const role = o.status?.swarm?.role || o.spec?.swarm?.role;
  return role && role !== 'none' ? role : NONE;
}

/** Bytes in binary units, as kubectl prints memory quantities: 512Mi, 1.5Gi. */
export function formatBytes(bytes: number): string {
  const units = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const rounded = v >= 10 || i === 0 ? Math.round(v).toString() : (Math.round(v * 10) / 10).toString();
  return `${rounded}${units[i]}`;
}

function nodeMemory(o: Resource): string {
  const used = o.status?.usage?.memoryBytes;
  if (used === undefined) return NONE;
  const cap = o.status?.capacity?.memory;
  return cap ? `${formatBytes(num(used))}/${cap}` : formatBytes(num(used));
}

function internalIp(o: Resource): string {
  return orNone((o.status?.addresses as any[] | undefined)?.find((a) => a.type === 'InternalIP')?.address);
}

function sinceOrNone(ts: string | undefined, now: Date): string {
  return ts ? age(ts, now) : NONE;
}

function untilOrNone(ts: string | undefined, now: Date): string {
  if (!ts) return NONE;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? NONE : `in ${humanDuration(Math.max(0, t - now.getTime()))}`;
}

function involvedObject(o: Resource): string {
  const ref = (o as any).involvedObject ?? {};
  return `${String(ref.kind ?? '').toLowerCase()}/${ref.name ?? ''}`;
}

interface ComposeServiceStatus {
  name: string;
  desired?: number;
  running?: number;
  reason?: string;
}

const composeServices = (o: Resource): ComposeServiceStatus[] => (o.status?.services ?? []) as ComposeServiceStatus[];
// A service is ready when all its replicas run and the agent has nothing to say against it (unhealthy, waiting).
const serviceReady = (s: ComposeServiceStatus) => num(s.running) >= num(s.desired) && !s.reason;

function controllerOf(o: Resource): string {
  const ref = o.metadata.ownerReferences?.find((r) => r.controller);
  return ref ? `${ref.kind.toLowerCase()}/${ref.name}` : NONE;
}

// "1-5 cpu 80%/50%": the bounds and, per metric target, the current figure over the target (like kubectl get hpa).
function autoscaleSummary(o: Resource): string {
  const a = o.spec?.autoscale;
  if (!a) return NONE;
  const cur = o.status?.autoscale ?? {};
  const figures: string[] = [];
  if (a.targetCpuUtilizationPercent) figures.push(`cpu ${num(cur.currentCpuUtilizationPercent)}%/${a.targetCpuUtilizationPercent}%`);
  if (a.targetMemoryUtilizationPercent) figures.push(`memory ${num(cur.currentMemoryUtilizationPercent)}%/${a.targetMemoryUtilizationPercent}%`);
  if (Number(a.targetNetworkBytesPerSecond ?? 0)) figures.push(`net ${num(cur.currentNetworkBytesPerSecond)}/${a.targetNetworkBytesPerSecond}B/s`);
  if (a.targetResponseTimeMs) figures.push(`rt ${num(cur.currentResponseTimeMs)}/${a.targetResponseTimeMs}ms`);
  return `${a.minReplicas ?? 1}-${a.maxReplicas} ${figures.join(' ')}`.trim();
}

const TABLES: Record<string, KindTable> = {
  Container: {
    showName: true,
    columns: [
      { header: 'IMAGE', value: (o) => orNone(o.spec?.image) },
      { header: 'NODE', value: (o) => orNone(o.spec?.nodeName) },
      { header: 'STATUS', value: containerStatus },
      { header: 'RESTARTS', value: (o) => String(num(o.status?.restartCount)) },
      AGE,
      { header: 'CONTAINER-ID', wide: true, value: (o) => orNone(o.status?.containerId?.slice(0, 12)) },
      { header: 'PORTS', wide: true, value: (o) => containerPorts(o.spec?.ports, o.status?.ports) },
    ],
  },
  ContainerSet: {
    showName: true,
    columns: [
      { header: 'READY', value: (o) => `${num(o.status?.readyReplicas)}/${o.spec?.replicas ?? 1}` },
      { header: 'UP-TO-DATE', value: (o) => String(num(o.status?.updatedReplicas)) },
      { header: 'AVAILABLE', value: (o) => String(num(o.status?.availableReplicas)) },
      AGE,
      { header: 'IMAGE', wide: true, value: (o) => orNone(o.spec?.template?.spec?.image) },
      { header: 'AUTOSCALE', wide: true, value: autoscaleSummary },
    ],
  },
  ComposeStack: {
    showName: true,
    columns: [
      { header: 'READY', value: (o) => `${composeServices(o).filter(serviceReady).length}/${composeServices(o).length}` },
      { header: 'STATUS', value: (o) => (o.metadata.deletionTimestamp ? 'Terminating' : o.status?.phase || 'Pending') },
      { header: 'NODE', value: (o) => orNone(o.spec?.nodeName) },
      AGE,
      { header: 'PROJECT', wide: true, value: (o) => o.spec?.projectName || o.metadata.name || NONE },
      { header: 'SERVICES', wide: true, value: (o) => composeServices(o).map((x) => `${x.name} ${num(x.running)}/${num(x.desired)}`).join(', ') || NONE },
    ],
  },
  ControllerRevision: {
    showName: true,
    columns: [
      { header: 'CONTROLLER', value: controllerOf },
      { header: 'REVISION', value: (o) => String(num(o['revision'])) },
      AGE,
    ],
  },
  CronJob: {
    showName: true,
    columns: [
      { header: 'SCHEDULE', value: (o) => orNone(o.spec?.schedule) },
      { header: 'TIMEZONE', value: (o) => orNone(o.spec?.timeZone) },
      { header: 'SUSPEND', value: (o) => (o.spec?.suspend ? 'True' : 'False') },
      { header: 'ACTIVE', value: (o) => String((o.status?.active as unknown[] | undefined)?.length ?? 0) },
      { header: 'LAST SCHEDULE', value: (o, now) => sinceOrNone(o.status?.lastScheduleTime, now) },
      { header: 'NEXT', value: (o, now) => untilOrNone(o.status?.nextScheduleTime, now) },
      AGE,
      { header: 'IMAGE', wide: true, value: (o) => orNone(o.spec?.jobTemplate?.spec?.image) },
    ],
  },
  Node: {
    showName: true,
    columns: [
      { header: 'STATUS', value: nodeStatus },
      { header: 'ROLES', value: nodeRoles },
      AGE,
      { header: 'VERSION', value: (o) => orNone(o.status?.dockerVersion) },
      { header: 'INTERNAL-IP', wide: true, value: internalIp },
      {
        header: 'CPU%',
        wide: true,
        value: (o) => (o.status?.usage?.cpuPercent === undefined ? NONE : `${Math.round(num(o.status.usage.cpuPercent))}%`),
      },
      { header: 'MEMORY', wide: true, value: nodeMemory },
    ],
  },
  SwarmService: {
    showName: true,
    columns: [
      { header: 'MODE', value: (o) => o.spec?.mode || 'replicated' },
      {
        header: 'REPLICAS',
        value: (o) =>
          `${num(o.status?.runningTasks)}/${o.status?.desiredTasks ?? (o.spec?.mode === 'global' ? 0 : (o.spec?.replicas ?? 1))}`,
      },
      { header: 'IMAGE', value: (o) => orNone(o.spec?.image) },
      { header: 'PORTS', value: (o) => servicePorts(o.spec?.ports) },
      AGE,
    ],
  },
  Service: {
    showName: true,
    columns: [
      { header: 'CLUSTER-IP', value: (o) => orNone(o.spec?.clusterIp) },
      { header: 'PORTS', value: (o) => serviceSpecPorts(o.spec?.ports) },
      { header: 'ENDPOINTS', value: (o) => `${num(o.status?.readyEndpoints)}/${num(o.status?.totalEndpoints)}` },
      AGE,
      { header: 'SELECTOR', wide: true, value: (o) => selectorText(o.spec?.selector) },
    ],
  },
  EndpointSlice: {
    showName: true,
    columns: [
      { header: 'ENDPOINTS', value: (o) => endpointList(o) },
      AGE,
      { header: 'NODE-ENDPOINTS', wide: true, value: (o) => endpointList(o, true) },
    ],
  },
  Secret: {
    showName: true,
    columns: [
      { header: 'TYPE', value: (o) => String(o.type || 'Opaque') },
      { header: 'DATA', value: (o) => String(Object.keys((o.data as object | undefined) ?? {}).length) },
      AGE,
    ],
  },
  ConfigMap: {
    showName: true,
    columns: [
      // kubectl counts the keys of data and binaryData together.
      {
        header: 'DATA',
        value: (o) => String(Object.keys((o.data as object | undefined) ?? {}).length + Object.keys((o.binaryData as object | undefined) ?? {}).length),
      },
      AGE,
    ],
  },
  Event: {
    showName: false,
    columns: [
      {
        header: 'LAST SEEN',
        value: (o, now) => age(eventLastSeen(o), now),
      },
      { header: 'TYPE', value: (o) => orNone(o.type) },
      { header: 'REASON', value: (o) => orNone(o.reason) },
      { header: 'OBJECT', value: involvedObject },
      { header: 'MESSAGE', value: (o) => orNone(o.message) },
    ],
  },
  Namespace: {
    showName: true,
    columns: [{ header: 'STATUS', value: (o) => o.status?.phase || 'Active' }, AGE],
  },
  Lease: {
    showName: true,
    columns: [{ header: 'HOLDER', value: (o) => orNone(o.spec?.holderIdentity) }, AGE],
  },
};

/** The table of `kind`; NAME and AGE for kinds without their own. */
export function tableFor(kind: string): KindTable {
  return TABLES[kind] ?? { showName: true, columns: [AGE] };
}
