// Wiring of the ContainerSet controller: ContainerSet, Container, ControllerRevision, ConfigMap and Secret
// informers, and the reconcile that applies one rollout step (rollout.ts) by creating and deleting owned
// Containers and writing status. With spec.rolloutOnConfigChange the content of the ConfigMaps and Secrets
// the template reads is part of the revision (config-hash.ts), so a change of it rolls the set out.
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { CONFIG_HASH_ANNOTATION } from '../../lib/api/annotations.js';
import type { ConfigRef } from '../../lib/api/references.js';
import type { ContainerObject, ContainerSetObject } from '../../lib/api/typed.js';
import { type ApiClient } from '../../lib/client/client.js';
import { ApiError } from '../../lib/client/errors.js';
import { systemClock, type Clock } from '../../lib/queue/clock.js';
import { Controller, type Reconciler } from '../runtime/controller.js';
import { EventRecorder } from '../runtime/events.js';
import { BY_OWNER_UID, indexByOwnerUid } from '../runtime/indexers.js';
import type { Informer } from '../runtime/informer.js';
import { InformerFactory } from '../runtime/informer-factory.js';
import { objectKey, splitKey } from '../runtime/keys.js';
import {
  BY_ROLLOUT_CONFIG_REF,
  configHash,
  ContentDigestCache,
  indexByRolloutConfigRef,
  rolloutConfigRefs,
  setsToRequeue,
  templateWithConfigHash,
  type ConfigObject,
} from './config-hash.js';
import { Expectations } from './expectations.js';
import { planRevisions } from './revisions.js';
import { planRollout, PROGRESS_DEADLINE_EXCEEDED, statusEqual, TEMPLATE_HASH_LABEL } from './rollout.js';
import { slowStartBatch } from './slow-start.js';
import { API_VERSION } from '../../lib/api/kinds.js';

export const CONTAINERSET_CONTROLLER_NAME = 'containerset';

export interface ContainerSetControllerOptions {
  client: Pick<ApiClient, 'list' | 'watch' | 'get' | 'create' | 'update' | 'updateStatus' | 'delete'>;
  logger: Logger;
  registry?: Registry;
  /** @default 4 */
  workers?: number;
  /** @default the EventRecorder of component "containerset-controller" */
  recorder?: Pick<EventRecorder, 'record'>;
  clock?: Clock;
  /** Passed to the informers (tests shorten back-off with it); unused with `informers`. */
  informerDelay?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The process's shared informers (`persys controllers`); without it the controller has its own. */
  informers?: InformerFactory;
}

export interface ContainerSetController {
  controllers: Controller[];
  informers: Informer[];
}

/** The key of the ContainerSet that controls `c`, if one does. */
function controllingSetKey(c: ContainerObject): string | undefined {
  const ref = (c.metadata.ownerReferences ?? []).find((r) => r.kind === 'ContainerSet' && r.controller);
  return ref ? objectKey({ metadata: { namespace: c.metadata.namespace, name: ref.name } }) : undefined;
}

export function newContainerSetController(opts: ContainerSetControllerOptions): ContainerSetController {
  const clock = opts.clock ?? systemClock;
  const factory = opts.informers ?? new InformerFactory({ client: opts.client, logger: opts.logger, delay: opts.informerDelay });
  const sets = factory.informerFor('ContainerSet', { indexers: { [BY_ROLLOUT_CONFIG_REF]: indexByRolloutConfigRef } });
  const containers = factory.informerFor('Container', { indexers: { [BY_OWNER_UID]: indexByOwnerUid } });
  const revisions = factory.informerFor('ControllerRevision', { indexers: { [BY_OWNER_UID]: indexByOwnerUid } });
  // Only their content is read, and only for sets with rolloutOnConfigChange. Secret values stay in the
  // cache: never logged, only hashed.
  const configMaps = factory.informerFor('ConfigMap');
  const secrets = factory.informerFor('Secret');
  const recorder =
    opts.recorder ?? new EventRecorder({ client: opts.client, component: 'containerset-controller', logger: opts.logger, clock: opts.clock });
  const expectations = new Expectations(clock);
  const digests = new ContentDigestCache();

  const controller = new Controller({
    name: CONTAINERSET_CONTROLLER_NAME,
    workers: opts.workers ?? 4,
    logger: opts.logger,
    registry: opts.registry,
    clock: opts.clock,
    reconcile: newContainerSetReconciler({ client: opts.client, sets, containers, revisions, configMaps, secrets, digests, recorder, clock, expectations }),
  });
  controller.watch(sets);
  controller.watch(containers, (c) => controllingSetKey(c));
  containers.addEventHandler({
    onAdd: (c) => {
      const key = controllingSetKey(c);
      if (key) expectations.observedAdd(key);
    },
    onUpdate: (_old, c) => {
      const key = controllingSetKey(c);
      if (key && c.metadata.deletionTimestamp) expectations.observedDelete(key, c.metadata.name!);
    },
    onDelete: (c) => {
      const key = controllingSetKey(c);
      if (key) expectations.observedDelete(key, c.metadata.name!);
    },
  });
  sets.addEventHandler({ onDelete: (s) => expectations.forget(objectKey(s)) });
  // A config event requeues, through the index, only the opted-in sets that read the object: no scan.
  // Every set is reconciled when the controller starts, so config objects need no replay then.
  const requeue = (obj: ConfigObject, old?: ConfigObject) => {
    for (const key of setsToRequeue(obj, old, (k) => sets.byIndex(BY_ROLLOUT_CONFIG_REF, k))) controller.enqueue(key);
  };
  for (const informer of [configMaps, secrets]) {
    informer.addEventHandler({
      onAdd: (o) => requeue(o),
      onUpdate: (old, o) => requeue(o, old),
      onDelete: (o) => {
        digests.forget(o);
        requeue(o);
      },
    });
  }
  return { controllers: [controller], informers: [sets, containers, revisions, configMaps, secrets] };
}

interface ReconcilerDeps {
  client: ContainerSetControllerOptions['client'];
  sets: Informer;
  containers: Informer;
  revisions: Informer;
  configMaps: Informer;
  secrets: Informer;
  digests: ContentDigestCache;
  recorder: Pick<EventRecorder, 'record'>;
  clock: Clock;
  expectations: Expectations;
}

const isNotFound = (err: unknown) => err instanceof ApiError && err.code === Code.NOT_FOUND;

function newContainerSetReconciler(deps: ReconcilerDeps): Reconciler {
  return async (key, ctx) => {
    const set: ContainerSetObject | undefined = deps.sets.getByKey(key);
    // A deleted set's Containers go with it through the garbage collector (ownerReferences).
    if (!set || set.metadata.deletionTimestamp) return;
    if (!deps.expectations.satisfied(key)) return { requeueAfterMs: 1000 };
    const { namespace } = splitKey(key);
    const uid = set.metadata.uid!;
    const owned = deps.containers
      .byIndex(BY_OWNER_UID, uid)
      .filter((c) => c.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller));
    // With rolloutOnConfigChange the replicas' template carries the config hash, so it is part of the
    // template hash: a config change is a new revision, rolled out like a template change.
    const hash = set.spec?.rolloutOnConfigChange ? currentConfigHash(deps, set) : undefined;
    const template = templateWithConfigHash(set.spec?.template, hash) ?? {};
    const plan = planRollout({ ...set, spec: { ...set.spec, template } }, owned, deps.clock.now());

    if (plan.create > 0 || plan.delete.length > 0) deps.expectations.expect(key, plan.create, plan.delete);
    let firstError: unknown;
    // In parallel batches of 1, 2, 4 …; after a failed batch the rest would fail the same way (quota,
    // invalid template): they are not attempted, and the set retries with back-off.
    const { succeeded: created, error } = await slowStartBatch(plan.create, () =>
      deps.client.create({
        apiVersion: API_VERSION,
        kind: 'Container',
        metadata: {
          generateName: `${set.metadata.name}-`,
          namespace,
          labels: { ...(template.metadata?.labels ?? {}), [TEMPLATE_HASH_LABEL]: plan.hash },
          annotations: template.metadata?.annotations,
          ownerReferences: [
            { apiVersion: set.apiVersion, kind: 'ContainerSet', name: set.metadata.name!, uid, controller: true, blockOwnerDeletion: true },
          ],
        },
        spec: template.spec ?? {},
      }),
    );
    if (error !== undefined) {
      deps.expectations.lowerAdds(key, plan.create - created);
      firstError = error;
    }
    let deleted = 0;
    for (const name of plan.delete) {
      const c = owned.find((x) => x.metadata.name === name)!;
      try {
        await deps.client.delete('Container', name, namespace, { uid: c.metadata.uid });
        deleted++;
      } catch (err) {
        deps.expectations.observedDelete(key, name);
        if (!isNotFound(err)) firstError ??= err;
      }
    }
    if (created > 0) {
      const reason = plan.status.updatedReplicas < plan.status.replicas ? 'RollingUpdate' : 'ScalingUp';
      void deps.recorder.record(set, 'Normal', reason, `Created ${created} Container(s) of revision ${plan.hash}`);
    }
    if (deleted > 0) {
      const reasons = new Set(plan.delete.map((n) => plan.deleteReasons[n]));
      const reason = reasons.has('Rollout') ? 'RollingUpdate' : reasons.has('ScaleDown') ? 'ScalingDown' : 'ReplacingFailed';
      void deps.recorder.record(set, 'Normal', reason, `Deleted ${deleted} Container(s): ${plan.delete.join(', ')}`);
    }

    try {
      await syncRevisions(deps, set, plan.hash, hash);
    } catch (err) {
      if (!isNotFound(err)) firstError ??= err;
    }

    if (!statusEqual(set.status, plan.status)) {
      try {
        await deps.client.updateStatus({ ...set, status: { ...(set.status ?? {}), ...plan.status } });
        const was = (set.status?.conditions ?? []).find((c) => c.type === 'Progressing');
        const now = plan.status.conditions.find((c) => c.type === 'Progressing')!;
        if (now.reason === PROGRESS_DEADLINE_EXCEEDED && was?.reason !== PROGRESS_DEADLINE_EXCEEDED) {
          void deps.recorder.record(set, 'Warning', PROGRESS_DEADLINE_EXCEEDED, now.message ?? 'the rollout has timed out progressing');
        }
      } catch (err) {
        if (!isNotFound(err)) firstError ??= err;
      }
    }
    if (firstError) throw firstError;
    // Availability after minReadySeconds and the progress deadline depend on time alone: look again then.
    const waits: number[] = [];
    const minReady = Number(set.spec?.minReadySeconds ?? 0);
    if (minReady > 0 && plan.status.availableReplicas < plan.status.readyReplicas) waits.push(minReady * 1000);
    if (plan.progressDeadlineAtMs !== undefined) waits.push(Math.max(1000, plan.progressDeadlineAtMs - deps.clock.now() + 100));
    return waits.length ? { requeueAfterMs: Math.min(...waits) } : undefined;
  };
}

function currentConfigHash(deps: ReconcilerDeps, set: ContainerSetObject): string {
  const digestOf = (ref: ConfigRef) => {
    const obj = (ref.kind === 'Secret' ? deps.secrets : deps.configMaps).get(ref.namespace, ref.name);
    return obj && deps.digests.digest(obj);
  };
  return configHash(rolloutConfigRefs(set), digestOf);
}

/**
 * Records the set's current template as a ControllerRevision and trims the old ones (revisions.ts). The
 * revision keeps the set's own template, so `rollout undo` puts back what the user wrote; the config hash
 * it was rolled out with is an annotation of the revision, for `rollout history`.
 */
async function syncRevisions(deps: ReconcilerDeps, set: ContainerSetObject, hash: string, configHashValue: string | undefined): Promise<void> {
  const uid = set.metadata.uid!;
  const owned = deps.revisions.byIndex(BY_OWNER_UID, uid);
  const plan = planRevisions(set, owned, hash);
  const namespace = set.metadata.namespace!;
  if (plan.upsert?.existing) {
    await deps.client.update({ ...plan.upsert.existing, revision: String(plan.upsert.revision) });
  } else if (plan.upsert) {
    await deps.client.create({
      apiVersion: API_VERSION,
      kind: 'ControllerRevision',
      metadata: {
        name: plan.upsert.name,
        namespace,
        labels: set.spec?.template?.metadata?.labels,
        annotations: configHashValue === undefined ? undefined : { [CONFIG_HASH_ANNOTATION]: configHashValue },
        ownerReferences: [
          { apiVersion: set.apiVersion, kind: 'ContainerSet', name: set.metadata.name!, uid, controller: true, blockOwnerDeletion: true },
        ],
      },
      template: set.spec?.template ?? {},
      revision: String(plan.upsert.revision),
    }).catch((err) => {
      if (!(err instanceof ApiError && err.code === Code.ALREADY_EXISTS)) throw err;
    });
  }
  for (const name of plan.delete) {
    const r = owned.find((x) => x.metadata.name === name)!;
    await deps.client.delete('ControllerRevision', name, namespace, { uid: r.metadata.uid }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
  }
}
