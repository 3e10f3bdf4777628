// Where an unbound Container should run (kube-scheduler's filter-then-score, as a pure function):
// filters say why each node cannot take it, scores pick the least-allocated, least-crowded node.
import type { ContainerObject, NodeObject } from '../../lib/api/typed.js';
import { parseCpuMillis, parseMemoryBytes } from '../../lib/api/quantity.js';

export interface ScheduleResult {
  /** The chosen node; absent when no node fits. */
  node?: string;
  /** Why no node fits, kube-scheduler style: "0/3 nodes are available: 2 insufficient memory, …". */
  reason?: string;
}

/** Containers already bound to each node (by node name), the container being scheduled may be among them. */
export type ContainersByNode = ReadonlyMap<string, readonly ContainerObject[]> | Readonly<Record<string, readonly ContainerObject[]>>;

/** The Containers bound to each node, read per node as a decision gets to it (the scheduler's informer). */
export interface NodeContainers {
  on(node: string): readonly ContainerObject[];
  /**
   * A number that changes whenever on(node) would return other objects (an informer's index stamp), so
   * per-node sums can be kept across decisions; undefined for a node whose Containers must be read afresh.
   */
  stamp(node: string): number | undefined;
  /**
   * Fixed host ports held on the node by what is not a Container (a ComposeStack's published ports), so
   * a Container never lands where a stack holds its port; none when absent.
   */
  claimedPorts?(node: string): readonly PortClaim[];
}

/** A fixed host port as a ContainerPort states it (hostPort 0 claims nothing: Docker picks a free one). */
export interface PortClaim {
  hostPort?: number;
  hostIp?: string;
  protocol?: string;
}

interface Requests {
  cpuMillis: number;
  memoryBytes: number;
}

interface HostPort {
  ip: string;
  port: number;
  protocol: string;
}

interface Candidate {
  name: string;
  score: number;
  siblings: number;
}

const ANY_IP = '0.0.0.0';
const MAX_SCORE = 100;
const TERMINAL_PHASES = new Set(['Succeeded', 'Failed']);

// How each filter's reason reads after its count in the message.
const NOT_READY = 'node(s) were not ready';
const UNSCHEDULABLE = 'node(s) were unschedulable';
const SELECTOR_MISMATCH = "node(s) didn't match node selector";
const INSUFFICIENT_CPU = 'insufficient cpu';
const INSUFFICIENT_MEMORY = 'insufficient memory';
const NOT_READY_REASONS = [NOT_READY];
const UNSCHEDULABLE_REASONS = [UNSCHEDULABLE];
const SELECTOR_MISMATCH_REASONS = [SELECTOR_MISMATCH];
const portInUse = (p: HostPort) => `node(s) had port ${p.port}/${p.protocol} already in use`;

export function scheduleContainer(
  container: ContainerObject,
  nodes: readonly NodeObject[],
  containersOnNodes: ContainersByNode | NodeContainers,
  usage: NodeUsageCache = new NodeUsageCache(),
): ScheduleResult {
  const containers = isNodeContainers(containersOnNodes) ? containersOnNodes : fixedNodeContainers(containersOnNodes);
  const request = requestsOf(container);
  const ports = hostPortsOf(container);
  const failures = new Map<string, number>();
  const sibling = siblingTest(container);
  const owners = ownerUids(container);
  const selector = Object.entries(container.spec?.nodeSelector ?? {}) as [string, string][];
  const uid = container.metadata.uid;
  // The kept per-node sums answer for the usual Container: no host ports, one owner (or none and no labels).
  const summed = !!uid && ports.length === 0 && (owners.length === 1 || (owners.length === 0 && !Object.keys(container.metadata.labels ?? {}).length));
  let best: Candidate | undefined;
  usage.beginDecision();
  for (const node of nodes) {
    const name = node.metadata.name;
    if (!name) continue;
    // The node's own filters first: they need none of its Containers.
    let reason = nodeReason(node, selector);
    let free: Requests | undefined;
    let siblings = 0;
    if (!reason) {
      const stamp = summed ? containers.stamp(name) : undefined;
      const u = stamp === undefined ? undefined : usage.of(name, stamp, () => containers.on(name));
      if (u && !u.uids.has(uid!)) {
        const allocatable = allocatableOf(node);
        free = { cpuMillis: allocatable.cpuMillis - u.requested.cpuMillis, memoryBytes: allocatable.memoryBytes - u.requested.memoryBytes };
        siblings = owners.length ? (u.byOwner.get(owners[0]!) ?? 0) : 0;
        reason = fitReason(request, ports, NO_CONTAINERS, free);
      } else {
        const neighbours = containers.on(name).filter((c) => holdsResources(c) && !sameObject(c, container));
        free = freeResources(node, neighbours);
        siblings = neighbours.filter(sibling).length;
        reason = fitReason(request, ports, neighbours, free, ports.length ? containers.claimedPorts?.(name) : undefined);
      }
    }
    if (reason || !free) {
      for (const r of reason ?? []) failures.set(r, (failures.get(r) ?? 0) + 1);
      continue;
    }
    const score = leastAllocatedScore(node, request, free);
    if (!best || better(score, siblings, name, best)) best = { name, score, siblings };
  }
  usage.endDecision();
  if (!best) return { reason: unschedulableMessage(nodes.length, failures) };
  return { node: best.name };
}

const NO_CONTAINERS: ContainerObject[] = [];

function isNodeContainers(c: ContainersByNode | NodeContainers): c is NodeContainers {
  return typeof (c as NodeContainers).on === 'function' && typeof (c as NodeContainers).stamp === 'function';
}

/** A fixed map of node → Containers: read afresh on every decision (nothing to tell when it changed). */
function fixedNodeContainers(byNode: ContainersByNode): NodeContainers {
  return { on: (node) => lookup(byNode, node) ?? [], stamp: () => undefined };
}

/** What the Containers on one node hold, summed. */
interface NodeUsage {
  /** CPU and memory requested by those holding resources (not finished). */
  requested: Requests;
  /** How many of those each owner uid has there. */
  byOwner: Map<string, number>;
  uids: Set<string>;
}

/**
 * Per-node sums across decisions (kube-scheduler's NodeInfo), each kept under the stamp it was summed
 * at; a node whose stamp moved is summed again. Entries of nodes a decision did not visit are dropped.
 */
export class NodeUsageCache {
  private entries = new Map<string, { stamp: number; usage: NodeUsage }>();
  private visited = new Map<string, { stamp: number; usage: NodeUsage }>();

  beginDecision(): void {
    this.visited = new Map();
  }

  endDecision(): void {
    this.entries = this.visited;
  }

  of(node: string, stamp: number, members: () => readonly ContainerObject[]): NodeUsage {
    let e = this.entries.get(node);
    if (!e || e.stamp !== stamp) e = { stamp, usage: sumUsage(members()) };
    this.visited.set(node, e);
    return e.usage;
  }
}

function sumUsage(members: readonly ContainerObject[]): NodeUsage {
  const requested = { cpuMillis: 0, memoryBytes: 0 };
  const byOwner = new Map<string, number>();
  const uids = new Set<string>();
  for (const c of members) {
    if (c.metadata.uid) uids.add(c.metadata.uid);
    if (!holdsResources(c)) continue;
    const r = requestsOf(c);
    requested.cpuMillis += r.cpuMillis;
    requested.memoryBytes += r.memoryBytes;
    for (const owner of new Set(ownerUids(c))) byOwner.set(owner, (byOwner.get(owner) ?? 0) + 1);
  }
  return { requested, byOwner, uids };
}

function ownerUids(c: ContainerObject): string[] {
  return (c.metadata.ownerReferences ?? []).map((r) => r.uid).filter(Boolean);
}

/** The higher score wins, then fewer replicas of the same thing, then the name (so ties are stable). */
function better(score: number, siblings: number, name: string, than: Candidate): boolean {
  return score !== than.score ? score > than.score : siblings !== than.siblings ? siblings < than.siblings : name < than.name;
}

/** "0/3 nodes are available: 2 insufficient memory, 1 node(s) were unschedulable." */
export function unschedulableMessage(total: number, failures: ReadonlyMap<string, number>): string {
  if (total === 0) return '0/0 nodes are available: no nodes are registered.';
  const parts = [...failures]
    .sort(([ra, na], [rb, nb]) => nb - na || (ra < rb ? -1 : ra > rb ? 1 : 0))
    .map(([reason, n]) => `${n} ${reason}`);
  return `0/${total} nodes are available: ${parts.join(', ')}.`;
}

// Filters in kube-scheduler's order; the first failing one decides, except that CPU and memory are
// reported together, as NodeResourcesFit does.
/** Why the node itself cannot take the Container (one reason), or undefined. */
function nodeReason(node: NodeObject, selector: readonly [string, string][]): string[] | undefined {
  if (!isReady(node)) return NOT_READY_REASONS;
  if (node.spec?.unschedulable) return UNSCHEDULABLE_REASONS;
  const labels = node.metadata.labels;
  for (const [k, v] of selector) if (labels?.[k] !== v) return SELECTOR_MISMATCH_REASONS;
  return undefined;
}

/** Why the node's free room or ports do not fit the Container, or undefined when they do. */
function fitReason(
  request: Requests,
  ports: HostPort[],
  neighbours: readonly ContainerObject[],
  free: Requests,
  claimed: readonly PortClaim[] = [],
): string[] | undefined {
  if (ports.length > 0) {
    const taken = [...neighbours.flatMap(hostPortsOf), ...fixedPorts(claimed)];
    const clash = ports.find((p) => taken.some((t) => portsConflict(p, t)));
    if (clash) return [portInUse(clash)];
  }
  const cpu = request.cpuMillis > free.cpuMillis;
  const memory = request.memoryBytes > free.memoryBytes;
  if (!cpu && !memory) return undefined;
  return cpu && memory ? [INSUFFICIENT_CPU, INSUFFICIENT_MEMORY] : [cpu ? INSUFFICIENT_CPU : INSUFFICIENT_MEMORY];
}

function isReady(node: NodeObject): boolean {
  const conditions = (node.status?.conditions ?? []) as { type?: string; status?: string }[];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Two bindings clash on the same port and protocol when their addresses overlap (0.0.0.0 overlaps all). */
function portsConflict(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && a.protocol === b.protocol && (a.ip === b.ip || a.ip === ANY_IP || b.ip === ANY_IP);
}

function hostPortsOf(c: ContainerObject): HostPort[] {
  return fixedPorts((c.spec?.ports ?? []) as PortClaim[]);
}

/** The fixed host ports among `ports`; a port Docker picks (hostPort 0, publish) never clashes. */
function fixedPorts(ports: readonly PortClaim[]): HostPort[] {
  return ports
    .filter((p) => (p.hostPort ?? 0) > 0)
    .map((p) => ({ ip: wildcardAsAny(p.hostIp), port: p.hostPort!, protocol: (p.protocol || 'TCP').toUpperCase() }));
}

// Docker binds both families for an empty address; "::" is the IPv6 way of saying every address.
function wildcardAsAny(ip: string | undefined): string {
  return !ip || ip === '::' ? ANY_IP : ip;
}

function freeResources(node: NodeObject, neighbours: ContainerObject[]): Requests {
  const allocatable = allocatableOf(node);
  let cpuMillis = allocatable.cpuMillis;
  let memoryBytes = allocatable.memoryBytes;
  for (const c of neighbours) {
    const r = requestsOf(c);
    cpuMillis -= r.cpuMillis;
    memoryBytes -= r.memoryBytes;
  }
  return { cpuMillis, memoryBytes };
}

// kube-scheduler's LeastAllocated: per resource, integer share left free after placing; their mean.
// Integer scores make near-equal nodes tie, so the spread tiebreak gets a say.
function leastAllocatedScore(node: NodeObject, request: Requests, free: Requests): number {
  const allocatable = allocatableOf(node);
  const share = (left: number, total: number) => (total > 0 ? Math.floor((Math.max(0, left) * MAX_SCORE) / total) : 0);
  const cpu = share(free.cpuMillis - request.cpuMillis, allocatable.cpuMillis);
  const memory = share(free.memoryBytes - request.memoryBytes, allocatable.memoryBytes);
  return Math.floor((cpu + memory) / 2);
}

/**
 * Whether another Container is a sibling of `container`: the same controller owner, or (without owners)
 * the same labels; replicas of one thing, to be spread.
 */
function siblingTest(container: ContainerObject): (other: ContainerObject) => boolean {
  const owners = ownerUids(container);
  if (owners.length > 0) return (other) => (other.metadata.ownerReferences ?? []).some((r) => owners.includes(r.uid));
  const labels = Object.entries(container.metadata.labels ?? {});
  return (other) => labels.length > 0 && labels.every(([k, v]) => other.metadata.labels?.[k] === v);
}

// Parsed quantities per object. Informer objects are replaced, never changed, on update, so an entry
// is right for as long as its object lives; a decision over 1,000 nodes × 30 Containers then parses
// only what changed since the last one.
const requestsCache = new WeakMap<ContainerObject, Requests>();
const allocatableCache = new WeakMap<NodeObject, Requests>();

/** What a container reserves: its requests, else its limits (Kubernetes defaults requests to limits), else 0. */
function requestsOf(c: ContainerObject): Requests {
  let r = requestsCache.get(c);
  if (!r) {
    const { requests, limits } = (c.spec?.resources ?? {}) as { requests?: Quantities; limits?: Quantities };
    r = {
      cpuMillis: quantity(requests?.cpu || limits?.cpu, parseCpuMillis),
      memoryBytes: quantity(requests?.memory || limits?.memory, parseMemoryBytes),
    };
    requestsCache.set(c, r);
  }
  return r;
}

function allocatableOf(node: NodeObject): Requests {
  let r = allocatableCache.get(node);
  if (!r) {
    const a = (node.status?.allocatable ?? {}) as Quantities;
    r = { cpuMillis: quantity(a.cpu, parseCpuMillis), memoryBytes: quantity(a.memory, parseMemoryBytes) };
    allocatableCache.set(node, r);
  }
  return r;
}

type Quantities = { cpu?: string; memory?: string };

// The API server rejects malformed quantities, so a bad one here is a stored relic: counting it as 0
// keeps one bad object from stopping scheduling for everyone.
function quantity(q: string | undefined, parse: (q: string) => number): number {
  if (!q) return 0;
  try {
    return parse(q);
  } catch {
    return 0;
  }
}

/** Finished containers free their node's CPU, memory and ports. */
function holdsResources(c: ContainerObject): boolean {
  return !TERMINAL_PHASES.has(c.status?.phase ?? '');
}

function sameObject(a: ContainerObject, b: ContainerObject): boolean {
  if (a.metadata.uid && b.metadata.uid) return a.metadata.uid === b.metadata.uid;
  return a.metadata.name === b.metadata.name && (a.metadata.namespace ?? '') === (b.metadata.namespace ?? '');
}

function lookup(byNode: ContainersByNode, name: string): readonly ContainerObject[] | undefined {
  return byNode instanceof Map ? byNode.get(name) : (byNode as Readonly<Record<string, readonly ContainerObject[]>>)[name];
}
