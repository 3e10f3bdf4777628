// The plain-JSON shape of every object (the proto JSON mapping): what manifests, storage,
// `get -o yaml` and controllers handle. The gRPC edge converts it to and from the typed oneof.
import type { Object as WireObject } from '../gen/persys/v1/api.js';
import type { ObjectMeta, OwnerReference } from '../gen/persys/v1/meta.js';
import { findKind, kindByOneofCase, type KindInfo } from './kinds.js';

/** ObjectMeta as JSON: every field may be absent (the proto JSON mapping omits defaults). */
export type Metadata = Partial<Omit<ObjectMeta, 'ownerReferences'>> & {
  ownerReferences?: (Partial<OwnerReference> & { kind: string; name: string; uid: string })[];
};

/** A status condition in its JSON form (Ready, Scheduled, DockerReady …). */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  /** When the condition last reported something new (a ContainerSet's Progressing: the last progress). */
  lastUpdateTime?: string;
}

/**
 * An object of any kind. Spec and Status narrow it to one kind (lib/api/typed.ts names them from the
 * generated proto types); left out, they are `any`, as for code that handles every kind alike.
 */
export interface Resource<Spec = any, Status = any> {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  spec?: Spec;
  status?: Status;
  [field: string]: unknown;
}

/** The key an object is known by: kind, namespace ('' when cluster-scoped) and name. */
export interface ObjectKey {
  kind: string;
  namespace: string;
  name: string;
}

export function keyOf(obj: Resource): ObjectKey {
  return { kind: obj.kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' };
}

export function formatKey(k: ObjectKey): string {
  return k.namespace ? `${k.kind} ${k.namespace}/${k.name}` : `${k.kind} ${k.name}`;
}

/** Typed oneof → plain JSON object. Returns undefined when the oneof is empty. */
export function fromWire(wire: WireObject | undefined): Resource | undefined {
  const o = wire?.object;
  if (!o) return undefined;
  const info = kindByOneofCase(o.$case)!;
  const json = info.codec.toJSON(o.value) as Resource;
  json.kind ||= info.kind;
  json.metadata ??= {};
  return json;
}

/** The kind fromWire(wire) would report, read without converting (and copying) the whole object. */
export function kindOfWire(wire: WireObject | undefined): string {
  const o = wire?.object;
  if (!o) return '';
  return (o.value as { kind?: string }).kind || kindByOneofCase(o.$case)!.kind;
}

/** Plain JSON object → typed oneof. Fields the proto does not know are dropped: validate first. */
export function toWire(obj: Resource, info: KindInfo | undefined = findKind(obj.kind)): WireObject {
  if (!info) throw new Error(`unknown kind ${JSON.stringify(obj.kind)}`);
  return { object: { $case: info.oneofCase, value: info.codec.fromJSON(obj) } as WireObject['object'] };
}
