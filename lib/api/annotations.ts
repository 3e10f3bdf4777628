// Well-known annotations, labels and finalizers of persys.dev.

/** The manifest last applied with `persys apply`; lets apply remove fields dropped from the manifest. */
export const LAST_APPLIED_ANNOTATION = 'persys.dev/last-applied-configuration';

/** Held by every Namespace until the API server has deleted everything in it. */
export const NAMESPACE_FINALIZER = 'persys.dev/namespace';

/** Set on a Container by `persys drain` (value: the node): its ContainerSet moves it elsewhere like an
 * outdated replica, within the set's rolling-update budget. */
export const DRAIN_ANNOTATION = 'persys.dev/drain-requested';

/** Set on a ContainerSet's template by `persys rollout restart`: a new value rolls every replica. */
export const RESTARTED_AT_ANNOTATION = 'persys.dev/restartedAt';

/**
 * On a node's Lease: the API server (host:port) holding the node's agent stream. Another API server
 * relays a request for the node there.
 */
export const AGENT_STREAM_SERVER_ANNOTATION = 'persys.dev/agent-stream-server';

/**
 * On the replicas (and ControllerRevisions) of a ContainerSet with spec.rolloutOnConfigChange: a hash of
 * the content of the ConfigMaps and Secrets its template reads. A new value rolls the set out.
 */
export const CONFIG_HASH_ANNOTATION = 'persys.dev/config-hash';

/**
 * On a node's Lease: when (RFC 3339) an API server saw the agent's stream break from the agent's side
 * (its process or host gone, or the link silent past keepalive). Cleared by the next renewal. The node
 * controller gives such a node a short grace to reconnect instead of waiting for the lease to expire.
 */
export const AGENT_STREAM_LOST_ANNOTATION = 'persys.dev/agent-stream-lost';
