// The kinds' objects with their spec and status typed from the generated proto types (proto JSON:
// every field may be absent: ProtoJson). Use these where code handles one kind.
import type { ConfigMap, Event, LeaseSpec, NamespaceSpec, NamespaceStatus, NodeSpec, NodeStatus, Secret } from '../gen/persys/v1/cluster.js';
import type {
  ComposeStackSpec,
  ComposeStackStatus,
  ContainerSetSpec,
  ContainerSetStatus,
  ContainerSpec,
  ContainerStatus,
  ControllerRevision,
  CronJobSpec,
  CronJobStatus,
  SwarmServiceSpec,
  SwarmServiceStatus,
} from '../gen/persys/v1/workloads.js';
import type { EndpointSlice, ServiceSpec, ServiceStatus } from '../gen/persys/v1/services.js';
import type { Resource } from './resource.js';

/**
 * A generated message in its proto JSON form: every field may be absent, as DeepPartial says, but a
 * map's values are present (DeepPartial would make `labels[k]` string | undefined), and bytes are base64 text.
 */
export type ProtoJson<T> = T extends Uint8Array
  ? string
  : T extends readonly (infer U)[]
    ? ProtoJson<U>[]
    : T extends object
      ? string extends keyof T
        ? { [key: string]: ProtoJson<T[string & keyof T]> }
        : { [K in keyof T]?: ProtoJson<T[K]> }
      : T;

/** An object of one kind in its JSON form. */
export type Typed<Spec, Status = Record<string, unknown>> = Resource<ProtoJson<Spec>, ProtoJson<Status>>;

/** Fields of a generated message beside apiVersion, kind and metadata. */
type BodyOf<T> = ProtoJson<Omit<T, 'apiVersion' | 'kind' | 'metadata'>>;

/** An object of a kind without spec and status (Secret, ConfigMap …): its own fields are at the top. */
export type TypedBody<T> = Resource<undefined, undefined> & BodyOf<T>;

export type ContainerObject = Typed<ContainerSpec, ContainerStatus>;
export type ContainerSetObject = Typed<ContainerSetSpec, ContainerSetStatus>;
export type ComposeStackObject = Typed<ComposeStackSpec, ComposeStackStatus>;
export type CronJobObject = Typed<CronJobSpec, CronJobStatus>;
export type SwarmServiceObject = Typed<SwarmServiceSpec, SwarmServiceStatus>;
export type NodeObject = Typed<NodeSpec, NodeStatus>;
export type NamespaceObject = Typed<NamespaceSpec, NamespaceStatus>;
export type LeaseObject = Typed<LeaseSpec>;
export type SecretObject = TypedBody<Secret>;
export type ConfigMapObject = TypedBody<ConfigMap>;
export type ControllerRevisionObject = TypedBody<ControllerRevision>;
export type EventObject = TypedBody<Event>;
export type ServiceObject = Typed<ServiceSpec, ServiceStatus>;
export type EndpointSliceObject = TypedBody<EndpointSlice>;

/** Narrows an object of any kind to a Container by its kind. */
export const isContainer = (obj: Resource): obj is ContainerObject => obj.kind === 'Container';
/** Narrows an object of any kind to a ComposeStack by its kind. */
export const isComposeStack = (obj: Resource): obj is ComposeStackObject => obj.kind === 'ComposeStack';
