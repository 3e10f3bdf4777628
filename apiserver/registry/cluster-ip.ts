// Cluster IPs for Services: one etcd key per allocated address (Kubernetes' IPAddress objects), taken
// with a create-only write, so two API servers can never hand out the same address. The range is only
// allocated here, never routed: node agents are to blackhole it, so a packet to an address no rule
// catches never leaves the machine.
import { randomInt } from 'node:crypto';
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { API_VERSION, findKind } from '../../lib/api/kinds.js';
import type { Resource } from '../../lib/api/resource.js';
import { ApiStatusError } from '../api/status.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../storage/errors.js';
import type { Storage } from '../storage/interface.js';
import { ValidationError } from '../validation/errors.js';
import { HEADLESS_CLUSTER_IP } from '../validation/service.js';
import { objectKey } from './keys.js';
import { Ipv4Range } from '../../lib/api/ipv4-range.js';

export { DEFAULT_SERVICE_CLUSTER_IP_RANGE, Ipv4Range } from '../../lib/api/ipv4-range.js';

const ALLOCATIONS_PREFIX = 'serviceipallocations/';
/** Not a kind: the value stored under an allocation key, naming the Service that holds the address. */
const ALLOCATION_KIND = 'ClusterIPAllocation';

interface AllocationRecord {
  service: string;
  uid: string;
  /** When it was taken (ms since the epoch): a fresh one's Service may simply not be stored yet. */
  allocatedAt?: number;
}

/**
 * How long an address whose Service does not exist stays allocated before it may be reclaimed: the
 * address is taken before the Service is stored, so another API server must not mistake a create in
 * progress for a leftover of a failed one (which would hand one address to two Services).
 */
const ORPHAN_GRACE_MS = 60_000;

export class ClusterIpAllocator {
  constructor(
    private readonly storage: Storage,
    readonly range: Ipv4Range,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly orphanGraceMs = ORPHAN_GRACE_MS,
  ) {}

  /**
   * Gives the new Service `svc` (uid already set) its address: the one it asks for when that is in
   * the range and free, else a free one. Headless Services get none. Dry runs check without taking.
   */
  async allocate(svc: Resource, dryRun = false): Promise<void> {
    const spec = (svc.spec ??= {}) as { clusterIp?: string };
    const requested = spec.clusterIp;
    if (requested === HEADLESS_CLUSTER_IP) return;
    if (requested) {
      if (!this.range.contains(requested)) throw invalidIp(svc, `${requested} is not in the service cluster IP range ${this.range.cidr}`);
      if (dryRun) return;
      if (await this.take(requested, svc)) return;
      const holder = await this.holder(requested);
      throw invalidIp(svc, `${requested} is already allocated${holder ? ` to Service ${holder}` : ''}`);
    }
    if (dryRun) return;
    spec.clusterIp = await this.takeAny(svc);
  }

  /** Frees the address of a deleted Service, if that Service still holds it. */
  async release(svc: Resource): Promise<void> {
    const ip = (svc.spec as { clusterIp?: string } | undefined)?.clusterIp;
    if (!ip || ip === HEADLESS_CLUSTER_IP || !this.range.contains(ip)) return;
    const cur = await this.storage.get(ALLOCATIONS_PREFIX + ip);
    if (!cur || (cur.value.spec as AllocationRecord | undefined)?.uid !== svc.metadata.uid) return;
    await this.storage.delete(cur.key, cur.revision).catch((err) => {
      if (!(err instanceof ConflictError || err instanceof NotFoundError)) throw err;
    });
  }

  private async takeAny(svc: Resource): Promise<string> {
    const taken = new Set((await this.storage.list(ALLOCATIONS_PREFIX)).items.map((i) => i.key.slice(ALLOCATIONS_PREFIX.length)));
    // A random start keeps two API servers from racing for the same next address.
    const start = randomInt(this.range.size);
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < this.range.size; i++) {
        const ip = this.range.at((start + i) % this.range.size);
        if (taken.has(ip)) continue;
        if (await this.take(ip, svc)) return ip;
        taken.add(ip);
      }
      // Full: addresses of Services deleted without releasing (a crash between the two writes) come back.
      if (pass === 0 && (await this.reclaimOrphans()) === 0) break;
      taken.clear();
      for (const i of (await this.storage.list(ALLOCATIONS_PREFIX)).items) taken.add(i.key.slice(ALLOCATIONS_PREFIX.length));
    }
    throw new ApiStatusError(
      Code.RESOURCE_EXHAUSTED,
      `Service "${svc.metadata.name}" is invalid: spec.clusterIp: the service cluster IP range ${this.range.cidr} is exhausted (all ${this.range.size} addresses are allocated)`,
    );
  }

  /** Create-only: false when another Service holds the address (after reclaiming it if that Service is gone). */
  private async take(ip: string, svc: Resource): Promise<boolean> {
    const record: Resource = {
      apiVersion: API_VERSION,
      kind: ALLOCATION_KIND,
      metadata: { name: ip },
      spec: { service: `${svc.metadata.namespace}/${svc.metadata.name}`, uid: svc.metadata.uid ?? '', allocatedAt: this.now() } satisfies AllocationRecord,
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.storage.create(ALLOCATIONS_PREFIX + ip, record);
        return true;
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
        if (attempt > 0 || !(await this.reclaimIfOrphan(ip))) return false;
      }
    }
    return false;
  }

  private async holder(ip: string): Promise<string | undefined> {
    return ((await this.storage.get(ALLOCATIONS_PREFIX + ip))?.value.spec as AllocationRecord | undefined)?.service;
  }

  private async reclaimOrphans(): Promise<number> {
    let n = 0;
    for (const item of (await this.storage.list(ALLOCATIONS_PREFIX)).items) {
      if (await this.reclaimIfOrphan(item.key.slice(ALLOCATIONS_PREFIX.length))) n++;
    }
    return n;
  }

  /** Deletes the allocation of an address whose Service no longer exists (compare-and-swap on the record). */
  private async reclaimIfOrphan(ip: string): Promise<boolean> {
    const cur = await this.storage.get(ALLOCATIONS_PREFIX + ip);
    if (!cur) return true;
    const rec = cur.value.spec as AllocationRecord;
    if (rec.allocatedAt !== undefined && this.now() - rec.allocatedAt < this.orphanGraceMs) return false;
    const [ns, name] = rec.service.split('/');
    const svc = await this.storage.get(objectKey(findKind('Service')!, ns ?? '', name ?? ''));
    if (svc && svc.value.metadata.uid === rec.uid) return false;
    try {
      await this.storage.delete(cur.key, cur.revision);
      this.log.info({ ip, service: rec.service }, 'reclaimed the cluster IP of a deleted Service');
      return true;
    } catch (err) {
      if (err instanceof ConflictError) return false;
      if (err instanceof NotFoundError) return true;
      throw err;
    }
  }
}

function invalidIp(svc: Resource, message: string): ValidationError {
  return new ValidationError('Service', svc.metadata.name ?? '', [{ path: 'spec.clusterIp', message }]);
}
