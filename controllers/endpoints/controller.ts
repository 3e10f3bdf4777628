// Wiring of the endpoints controller: keeps each Service's EndpointSlice (same name, owned by the
// Service, so the garbage collector deletes it with it) and its status in step with the Containers
// its selector picks and their nodes. Writes only on change; the decision is reconcile.ts.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { API_VERSION } from '../../lib/api/kinds.js';
import type { Resource } from '../../lib/api/resource.js';
import type { ContainerObject, EndpointSliceObject, NodeObject, ServiceObject } from '../../lib/api/typed.js';
import type { ApiClient } from '../../lib/client/client.js';
import { isAlreadyExists } from '../../lib/client/errors.js';
import { systemClock, type Clock } from '../../lib/queue/clock.js';
import { Controller, type ReconcileContext, type Result } from '../runtime/controller.js';
import type { Informer } from '../runtime/informer.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import { objectKey } from '../runtime/keys.js';
import { desiredEndpoints, sameEndpoints, sameStatus, selects, type Endpoint } from './reconcile.js';

export const ENDPOINTS_CONTROLLER_NAME = 'endpoints';
/** Labels a slice with its Service, as Kubernetes' kubernetes.io/service-name. */
export const SERVICE_NAME_LABEL = 'persys.dev/service-name';

export interface EndpointsControllerOptions {
  client: Pick<ApiClient, 'list' | 'watch' | 'create' | 'update' | 'updateStatus'>;
  logger: Logger;
  registry?: Registry;
  clock?: Clock;
  informerDelay?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The process's shared informers (`persys controllers`); without it the controller has its own. */
  informers?: InformerFactory;
  /** Keys reconciled in parallel. @default 2 */
  workers?: number;
}

export interface EndpointsController {
  controllers: Controller[];
  informers: Informer[];
}

export function newEndpointsController(opts: EndpointsControllerOptions): EndpointsController {
  const factory = opts.informers ?? new InformerFactory({ client: opts.client, logger: opts.logger, delay: opts.informerDelay });
  const services = factory.informerFor('Service');
  const slices = factory.informerFor('EndpointSlice');
  const containers = factory.informerFor('Container');
  const nodes = factory.informerFor('Node');
  const clock = opts.clock ?? systemClock;

  async function reconcile(key: string, ctx: ReconcileContext): Promise<Result> {
    const svc: ServiceObject | undefined = services.getByKey(key);
    // A deleted Service's slice goes with it through its ownerReference.
    if (!svc || svc.metadata.deletionTimestamp) return;
    const ns = svc.metadata.namespace!;
    const inNamespace = (containers.list() as ContainerObject[]).filter((c) => c.metadata.namespace === ns);
    const nodeMap = new Map((nodes.list() as NodeObject[]).map((n) => [n.metadata.name!, n]));
    const decision = desiredEndpoints(svc, inNamespace, nodeMap, new Date(clock.now()).toISOString());

    await writeSlice(svc, slices.getByKey(key), decision.endpoints, ctx);
    if (!sameStatus(svc.status, decision.status)) {
      // Compare-and-swap on the cached copy: a newer Service makes this fail and the key is retried.
      await opts.client.updateStatus({ ...svc, status: decision.status } as Resource);
      ctx.log.debug({ ready: decision.status.readyEndpoints, total: decision.status.totalEndpoints }, 'service status');
    }
    return;
  }

  async function writeSlice(svc: ServiceObject, slice: EndpointSliceObject | undefined, endpoints: Endpoint[], ctx: ReconcileContext): Promise<void> {
    const owner = { apiVersion: API_VERSION, kind: 'Service', name: svc.metadata.name!, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true };
    if (!slice) {
      const created: EndpointSliceObject = {
        apiVersion: API_VERSION,
        kind: 'EndpointSlice',
        metadata: { name: svc.metadata.name, namespace: svc.metadata.namespace, labels: { [SERVICE_NAME_LABEL]: svc.metadata.name! }, ownerReferences: [owner] },
        endpoints,
      };
      try {
        await opts.client.create(created as Resource);
        ctx.log.info({ endpoints: endpoints.length }, 'created endpoint slice');
      } catch (err) {
        // The cache has not seen it yet: the informer's event brings the key back.
        if (!isAlreadyExists(err)) throw err;
      }
      return;
    }
    // A Service deleted and created again under the same name takes over the slice left behind.
    const owned = slice.metadata.ownerReferences?.some((r) => r.uid === svc.metadata.uid);
    if (owned && sameEndpoints(slice.endpoints, endpoints)) return;
    await opts.client.update({ ...slice, metadata: { ...slice.metadata, ownerReferences: [owner] }, endpoints } as Resource);
    ctx.log.debug({ endpoints: endpoints.length, ready: endpoints.filter((e) => e.ready).length }, 'updated endpoint slice');
  }

  const controller = new Controller({
    name: ENDPOINTS_CONTROLLER_NAME,
    logger: opts.logger,
    registry: opts.registry,
    clock: opts.clock,
    workers: opts.workers ?? 2,
    reconcile,
  });
  controller.watch(services);
  // A Container maps to the Services selecting it (its old labels are mapped too, by the runtime).
  controller.watch(containers, (c) =>
    (services.list() as ServiceObject[])
      .filter((s) => s.metadata.namespace === c.metadata.namespace && selects(s.spec?.selector, c.metadata.labels))
      .map((s) => objectKey(s)),
  );
  // A node's readiness and address touch the Services with endpoints on it (listed ready or not).
  controller.watch(nodes, (n) =>
    (services.list() as ServiceObject[])
      .filter((s) => (slices.getByKey(objectKey(s)) as EndpointSliceObject | undefined)?.endpoints?.some((e) => e.nodeName === n.metadata.name))
      .map((s) => objectKey(s)),
  );
  // A slice edited or deleted by hand is put back.
  controller.watch(slices, (s) => objectKey(s));
  return { controllers: [controller], informers: [services, slices, containers, nodes] };
}
