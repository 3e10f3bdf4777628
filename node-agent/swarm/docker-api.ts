// The parts of the Docker Engine API answers the swarm engine reads, where dockerode's typings say
// `any`; and the calls whose typings omit the options (with the abort signal) that dockerode accepts.
import type Dockerode from 'dockerode';
import { engineStatus } from '../../lib/docker/engine-guard.js';

/** Deadline of one swarm call: init and join wait on the raft and on other managers. */
export const SWARM_CALL_TIMEOUT_MS = 60_000;

/**
 * Rethrows `err`; a 503 is marked as saying nothing about the engine's health (Docker answers 503 for
 * "not a swarm manager", "not part of a swarm" and a lost quorum), so it never opens the node's breaker.
 */
export function swarmStateIsNotEngineHealth(err: unknown): never {
  if (engineStatus(err) === 503 && err !== null && typeof err === 'object') Object.assign(err, { notAnEngineFailure: true });
  throw err;
}

/** `GET /info`'s Swarm section. */
export interface SwarmInfo {
  NodeID?: string;
  NodeAddr?: string;
  /** inactive, pending, active, error or locked */
  LocalNodeState?: string;
  ControlAvailable?: boolean;
  Error?: string;
  RemoteManagers?: { NodeID?: string; Addr?: string }[] | null;
  Cluster?: { ID?: string };
}

/** An entry of `GET /nodes`. */
export interface SwarmNode {
  ID: string;
  Version?: { Index?: number };
  Spec?: { Name?: string; Labels?: Record<string, string>; Role?: string; Availability?: string };
  Description?: { Hostname?: string };
  Status?: { State?: string; Message?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string };
}

/** An entry of `GET /tasks`. */
export interface SwarmTask {
  ID: string;
  ServiceID?: string;
  NodeID?: string;
  Slot?: number;
  CreatedAt?: string;
  DesiredState?: string;
  Status?: { Timestamp?: string; State?: string; Message?: string; Err?: string };
}

export function swarmInfo(docker: Dockerode, abortSignal: AbortSignal): Promise<SwarmInfo> {
  const info = (docker as unknown as { info(o: object): Promise<{ Swarm?: SwarmInfo }> }).info({ abortSignal });
  return info.then((i) => i.Swarm ?? {});
}

export function swarmJoinTokens(docker: Dockerode, abortSignal: AbortSignal): Promise<{ Worker?: string; Manager?: string }> {
  const swarm = (docker as unknown as { swarmInspect(o: object): Promise<Dockerode.Swarm> }).swarmInspect({ abortSignal });
  return swarm.then((s) => s.JoinTokens ?? {});
}

export function listSwarmNodes(docker: Dockerode, abortSignal: AbortSignal): Promise<SwarmNode[]> {
  return docker.listNodes({ abortSignal } as Dockerode.NodeListOptions) as Promise<SwarmNode[]>;
}

export function listServiceTasks(docker: Dockerode, serviceId: string, abortSignal: AbortSignal): Promise<SwarmTask[]> {
  return docker.listTasks({ filters: { service: [serviceId] }, abortSignal }) as Promise<SwarmTask[]>;
}

/**
 * `POST /services/create`, with X-Registry-Auth when `registryAuth` is given (dockerode sends an
 * authconfig's `key` as the header as it is); the typings lack the auth-less two-argument form.
 */
export function createSwarmService(docker: Dockerode, registryAuth: string | undefined, spec: object): Promise<Dockerode.Service> {
  const create = docker.createService.bind(docker) as unknown as (auth: Dockerode.AuthConfigKey | undefined, opts: object) => Promise<Dockerode.Service>;
  return create(registryAuth ? { key: registryAuth } : undefined, spec);
}

/** `POST /services/ID/update`, with X-Registry-Auth as createSwarmService; typings omit the auth argument. */
export function updateSwarmService(service: Dockerode.Service, registryAuth: string | undefined, opts: object): Promise<unknown> {
  const update = service.update.bind(service) as unknown as (auth: Dockerode.AuthConfigKey | undefined, opts: object) => Promise<unknown>;
  return update(registryAuth ? { key: registryAuth } : undefined, opts);
}
