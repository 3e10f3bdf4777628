// Translation of a persys SwarmService into a Docker ServiceSpec: a pure function, so what persys asks
// of the swarm can be read (and tested) without an engine. Names follow `docker stack`: NAMESPACE_NAME.
import { createHash } from 'node:crypto';
import type Dockerode from 'dockerode';
import { parseCpuMillis, parseMemoryBytes } from '../../lib/api/quantity.js';
import type { ResourceList } from '../../lib/gen/persys/v1/meta.js';
import type { DeepPartial, ServiceUpdateConfig, SwarmService, SwarmServiceSpec } from '../../lib/gen/persys/v1/workloads.js';
import { InvalidSwarmServiceError } from './errors.js';
import { KIND_SWARM_NETWORK, KIND_SWARM_SERVICE, LABEL_KIND, LABEL_NAME, LABEL_NAMESPACE, LABEL_OWNER_UID, LABEL_SPEC_HASH } from './labels.js';

type Spec = DeepPartial<SwarmServiceSpec>;

const NS_PER_SECOND = 1e9;

/** What persys wants Docker to run for one SwarmService. */
export interface DesiredService {
  /** The Docker service name, NAMESPACE_NAME. */
  name: string;
  uid: string;
  /** The spec to send, with the spec-hash label among its labels. */
  spec: Dockerode.ServiceSpec;
  specHash: string;
  /** Replica count of a replicated service; undefined for a global one. */
  replicas: number | undefined;
  /** Docker names of the overlay networks the service attaches to, created when missing. */
  networks: SwarmNetwork[];
}

export interface SwarmNetwork {
  name: string;
  labels: Record<string, string>;
}

export function dockerServiceName(namespace: string, name: string): string {
  return `${namespace}_${name}`;
}

/** The overlay network a SwarmService's `spec.networks` entry stands for. */
export function swarmNetworkName(namespace: string, network: string): string {
  return `${namespace}_${network}`;
}

export function desiredService(svc: DeepPartial<SwarmService>): DesiredService {
  const namespace = svc.metadata?.namespace || 'default';
  const objectName = svc.metadata?.name ?? '';
  const uid = svc.metadata?.uid ?? '';
  const key = `${namespace}/${objectName}`;
  if (!objectName) throw new InvalidSwarmServiceError(key, 'metadata.name', 'must not be empty');
  if (!uid) throw new InvalidSwarmServiceError(key, 'metadata.uid', 'must not be empty (send the stored object)');
  const spec: Spec = svc.spec ?? {};
  if (!spec.image) throw new InvalidSwarmServiceError(key, 'spec.image', 'must not be empty');

  const name = dockerServiceName(namespace, objectName);
  const global = spec.mode === 'global';
  const replicas = global ? undefined : (spec.replicas ?? 1);
  const networks = [...new Set((spec.networks ?? []).filter((n): n is string => !!n))].map((n) => ({
    name: swarmNetworkName(namespace, n),
    labels: { [LABEL_KIND]: KIND_SWARM_NETWORK, [LABEL_NAMESPACE]: namespace },
  }));

  const containerSpec: Dockerode.ContainerSpec = { Image: spec.image };
  if (spec.command?.length) containerSpec.Command = spec.command as string[];
  if (spec.args?.length) containerSpec.Args = spec.args as string[];
  const env = envOf(spec, key);
  if (env.length) containerSpec.Env = env;
  // Only the user's labels: task containers must never look like containers an agent owns.
  if (Object.keys(spec.labels ?? {}).length) containerSpec.Labels = { ...(spec.labels as Record<string, string>) };

  const taskTemplate: Dockerode.ContainerTaskSpec = { ContainerSpec: containerSpec };
  const resources = resourcesOf(spec, key);
  if (resources) taskTemplate.Resources = resources;
  if (spec.constraints?.length) taskTemplate.Placement = { Constraints: spec.constraints as string[] };
  if (networks.length) taskTemplate.Networks = networks.map((n) => ({ Target: n.name }));

  const out: Dockerode.ServiceSpec = {
    Name: name,
    Labels: {
      ...(spec.labels as Record<string, string> | undefined),
      [LABEL_KIND]: KIND_SWARM_SERVICE,
      [LABEL_NAMESPACE]: namespace,
      [LABEL_NAME]: objectName,
      [LABEL_OWNER_UID]: uid,
    },
    TaskTemplate: taskTemplate,
    Mode: global ? { Global: {} } : { Replicated: { Replicas: replicas } },
  };
  if (spec.ports?.length) {
    out.EndpointSpec = {
      Ports: spec.ports.map((p) => {
        const port: Dockerode.PortConfig = {
          Protocol: (p.protocol || 'tcp').toLowerCase() as Dockerode.PortConfig['Protocol'],
          TargetPort: p.targetPort ?? 0,
          PublishMode: (p.publishMode || 'ingress') as Dockerode.PortConfig['PublishMode'],
        };
        if (p.publishedPort) port.PublishedPort = p.publishedPort;
        return port;
      }),
    };
  }
  if (spec.updateConfig) out.UpdateConfig = updateConfigOf(spec.updateConfig);
  if (spec.rollbackConfig) out.RollbackConfig = updateConfigOf(spec.rollbackConfig);

  const specHash = hashOf(out);
  out.Labels![LABEL_SPEC_HASH] = specHash;
  return { name, uid, spec: out, specHash, replicas, networks };
}

function envOf(spec: Spec, key: string): string[] {
  return (spec.env ?? []).map((e, i) => {
    if (e.valueFrom?.secretKeyRef) {
      throw new InvalidSwarmServiceError(key, `spec.env[${i}]`, `${e.name}: valueFrom is not supported for a SwarmService; give a value`);
    }
    return `${e.name}=${e.value ?? ''}`;
  });
}

/** Limits cap a task; requests become reservations, which the swarm scheduler places by. */
function resourcesOf(spec: Spec, key: string): Dockerode.ResourceRequirements | undefined {
  const limits = quantities(spec.resources?.limits, 'spec.resources.limits', key);
  const reservations = quantities(spec.resources?.requests, 'spec.resources.requests', key);
  if (!limits && !reservations) return undefined;
  const out: Dockerode.ResourceRequirements = {};
  if (limits) out.Limits = limits;
  if (reservations) out.Reservations = reservations;
  return out;
}

function quantities(list: DeepPartial<ResourceList> | undefined, path: string, key: string): { NanoCPUs?: number; MemoryBytes?: number } | undefined {
  const out: { NanoCPUs?: number; MemoryBytes?: number } = {};
  try {
    if (list?.cpu) out.NanoCPUs = parseCpuMillis(list.cpu) * 1e6;
  } catch (e) {
    throw new InvalidSwarmServiceError(key, `${path}.cpu`, (e as Error).message);
  }
  try {
    if (list?.memory) out.MemoryBytes = parseMemoryBytes(list.memory);
  } catch (e) {
    throw new InvalidSwarmServiceError(key, `${path}.memory`, (e as Error).message);
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * Docker's own meaning throughout: parallelism 0 replaces all tasks at once, and unset is 1 as with
 * `docker service create`. Zero durations and empty strings are left out, so the engine's defaults
 * (monitor 5 s, failure action pause, stop-first) apply.
 */
function updateConfigOf(c: DeepPartial<ServiceUpdateConfig>): Dockerode.UpdateConfig {
  const out = { Parallelism: c.parallelism ?? 1 } as Dockerode.UpdateConfig;
  if (c.delaySeconds) out.Delay = c.delaySeconds * NS_PER_SECOND;
  if (c.failureAction) out.FailureAction = c.failureAction;
  if (c.monitorSeconds) out.Monitor = c.monitorSeconds * NS_PER_SECOND;
  if (c.maxFailureRatio) out.MaxFailureRatio = c.maxFailureRatio;
  if (c.order) out.Order = c.order;
  return out;
}

/** SHA-256 of the spec's JSON with object keys sorted, so equal specs hash alike whatever their key order. */
function hashOf(spec: Dockerode.ServiceSpec): string {
  const stable = JSON.stringify(spec, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  );
  return createHash('sha256').update(stable).digest('hex');
}
