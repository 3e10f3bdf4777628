// The controller runtime every persys controller stands on: informers (list+watch caches), the work
// queue, the Controller reconcile loop, leader election and runControllers. Import from here.
export { systemClock, type Clock, type TimerHandle } from '../../lib/queue/clock.js';
export { Controller, type ControllerOptions, type MapFunc, type ReconcileContext, type Reconciler, type Result } from './controller.js';
export { diffList, type Delta } from './delta.js';
export { TerminalError } from './errors.js';
export { BY_NODE_NAME, BY_OWNER_UID, indexByNodeName, indexByOwnerUid, type IndexFunc } from './indexers.js';
export { IndexConflictError, InformerFactory, type InformerFactoryOptions } from './informer-factory.js';
export { Informer, isTooOld, type EventHandler, type InformerOptions, type ListWatcher } from './informer.js';
export { objectKey, splitKey } from './keys.js';
export { LeaderElector, leaseExpired, type LeaderCallbacks, type LeaderElectorOptions, type LeaseClient } from './leader.js';
export { runControllers, type RunControllersOptions, type RunningControllers } from './manager.js';
export { BucketRateLimiter, defaultControllerRateLimiter, ItemExponentialRateLimiter, MaxOfRateLimiter, type RateLimiter } from '../../lib/queue/ratelimit.js';
export { WorkQueue, type WorkQueueOptions } from '../../lib/queue/workqueue.js';
