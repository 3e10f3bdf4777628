// Index functions controllers commonly register on an informer: which objects sit on a node, and
// which objects an owner (by uid) owns.
import type { Resource } from '../../lib/api/resource.js';

/** Values an object is filed under in one index; [] files it nowhere. */
export type IndexFunc = (obj: Resource) => string[];

export const BY_NODE_NAME = 'spec.nodeName';
export const BY_OWNER_UID = 'metadata.ownerReferences.uid';

export const indexByNodeName: IndexFunc = (obj) => (obj.spec?.nodeName ? [String(obj.spec.nodeName)] : []);

export const indexByOwnerUid: IndexFunc = (obj) => (obj.metadata.ownerReferences ?? []).map((r) => r.uid).filter(Boolean);
