// The kinds' objects with their spec and status typed from the generated proto types (proto JSON:
// every field may be absent, so each is DeepPartial). Use these where code handles one kind.
import type { LeaseSpec, NamespaceSpec, NamespaceStatus, NodeSpec, NodeStatus } from '../gen/persys/v1/cluster.js';
import type {
  ComposeStackSpec,
  ComposeStackStatus,
  ContainerSetSpec,
  ContainerSetStatus,
  ContainerSpec,
  ContainerStatus,
  CronJobSpec,
  CronJobStatus,
  DeepPartial,
  SwarmServiceSpec,
  SwarmServiceStatus,
} from '../gen/persys/v1/workloads.js';
import type { Resource } from './resource.js';

/** An object of one kind in its JSON form. */
export type Typed<Spec, Status = Record<string, unknown>> = Resource<DeepPartial<Spec>, DeepPartial<Status>>;

export type ContainerObject = Typed<ContainerSpec, ContainerStatus>;
export type ContainerSetObject = Typed<ContainerSetSpec, ContainerSetStatus>;
export type ComposeStackObject = Typed<ComposeStackSpec, ComposeStackStatus>;
export type CronJobObject = Typed<CronJobSpec, CronJobStatus>;
export type SwarmServiceObject = Typed<SwarmServiceSpec, SwarmServiceStatus>;
export type NodeObject = Typed<NodeSpec, NodeStatus>;
export type NamespaceObject = Typed<NamespaceSpec, NamespaceStatus>;
export type LeaseObject = Typed<LeaseSpec>;
