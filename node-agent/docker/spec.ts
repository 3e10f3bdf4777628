// Translation of a Container object into Docker's create options: a pure function, so what persys
// asks of the engine can be read (and tested) without an engine.
import type Dockerode from 'dockerode';
import type { ContainerObject } from '../../lib/api/typed.js';
import type { ContainerSpec, DeepPartial, Healthcheck } from '../../lib/gen/persys/v1/workloads.js';
import { parseCpuMillis, parseMemoryBytes } from '../../lib/api/quantity.js';
import type { ConfigKind } from '../../lib/api/references.js';
import type { ConfigLookup } from '../desired.js';
import { configVolumeSource } from '../volumes/payload.js';
import { MissingConfigError } from './errors.js';
import { searchDomains } from '../dns/names.js';
import { LABEL_SPEC_HASH, labelsFor, specHash, volumeLabelsFor } from './labels.js';

export interface CreateOptionsContext {
  /** The node this agent runs on, recorded on every object it creates. */
  node: string;
  /** The ConfigMaps and Secrets env and envFrom read; without it every such reference is missing. */
  config?: ConfigLookup;
  /**
   * The host path to bind for each ConfigMap/Secret volume, by index in spec.volumes: what
   * ConfigVolumes.prepare wrote (the files are on disk before the container is created).
   */
  projectedVolumes?: ReadonlyMap<number, string>;
  /** The agent's DNS server (IPv4, port 53): containers resolve through it, with their namespace's search list. */
  dnsServer?: string;
}

type Spec = DeepPartial<ContainerSpec>;

const NS_PER_SECOND = 1e9;

/** `persys-<namespace>-<name>-<uid first 8>`: readable in `docker ps`, unique per object incarnation. */
export function containerName(container: ContainerObject): string {
  const { namespace, name, uid } = container.metadata;
  return `persys-${namespace || 'default'}-${name}-${(uid ?? '').slice(0, 8)}`;
}

export function createOptions(container: ContainerObject, ctx: CreateOptionsContext): Dockerode.ContainerCreateOptions {
  const spec: Spec = container.spec ?? {};
  const namespace = container.metadata.namespace || 'default';
  const ports = publishedPorts(spec);
  const opts: Dockerode.ContainerCreateOptions = {
    name: containerName(container),
    Image: spec.image,
    Env: env(spec, namespace, ctx),
    Labels: { ...labelsFor(container, ctx.node), [LABEL_SPEC_HASH]: specHash(container.spec) },
    HostConfig: {
      // The agent restarts containers itself, with back-off, and reports each restart.
      RestartPolicy: { Name: 'no' },
      Mounts: mounts(spec, volumeLabelsFor(container, ctx.node), ctx.projectedVolumes),
      PortBindings: ports.bindings,
      ...resources(spec),
    },
  };
  if (spec.command?.length) opts.Entrypoint = spec.command as string[];
  if (spec.args?.length) opts.Cmd = spec.args as string[];
  if (Object.keys(ports.exposed).length) opts.ExposedPorts = ports.exposed;
  if (spec.workingDir) opts.WorkingDir = spec.workingDir;
  if (spec.user) opts.User = spec.user;
  if (spec.healthcheck) opts.Healthcheck = healthcheck(spec.healthcheck);
  if (ctx.dnsServer) {
    // As Kubernetes' ClusterFirst: `web` and `web.shop` go through the search list before being tried as they are.
    opts.HostConfig!.Dns = [ctx.dnsServer];
    opts.HostConfig!.DnsSearch = searchDomains(namespace);
    opts.HostConfig!.DnsOptions = ['ndots:5'];
  }
  return opts;
}

/** Kubernetes' (and the API's) rule for variable names; envFrom skips keys that break it. */
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * Kubernetes' order: envFrom sources in turn (a later one overrides an earlier one), then env entries,
 * which override envFrom. A missing non-optional object or key throws; an optional one sets nothing.
 */
function env(spec: Spec, namespace: string, ctx: CreateOptionsContext): string[] {
  const lookup = (kind: ConfigKind, name: string) => ctx.config?.(kind, namespace, name);
  const vars = new Map<string, string>();
  (spec.envFrom ?? []).forEach((from, i) => {
    const ref = from.configMapRef?.name
      ? { kind: 'ConfigMap' as const, name: from.configMapRef.name, optional: !!from.configMapRef.optional }
      : { kind: 'Secret' as const, name: from.secretRef?.name ?? '', optional: !!from.secretRef?.optional };
    const data = lookup(ref.kind, ref.name);
    if (!data) {
      if (ref.optional) return;
      throw new MissingConfigError(ref.kind, namespace, ref.name, undefined, `envFrom[${i}]`);
    }
    for (const key of [...data.keys()].sort()) {
      const name = `${from.prefix ?? ''}${key}`;
      if (ENV_VAR_NAME.test(name)) vars.set(name, data.get(key)!.toString('utf8'));
    }
  });
  for (const e of spec.env ?? []) {
    const name = e.name ?? '';
    const from = e.valueFrom?.secretKeyRef
      ? { kind: 'Secret' as const, ...e.valueFrom.secretKeyRef }
      : e.valueFrom?.configMapKeyRef
        ? { kind: 'ConfigMap' as const, ...e.valueFrom.configMapKeyRef }
        : undefined;
    if (!from) {
      vars.set(name, e.value ?? '');
      continue;
    }
    const data = lookup(from.kind, from.name ?? '');
    const value = data?.get(from.key ?? '');
    if (value !== undefined) vars.set(name, value.toString('utf8'));
    else if (!from.optional) throw new MissingConfigError(from.kind, namespace, from.name ?? '', data ? (from.key ?? '') : undefined, `env ${name}`);
  }
  return [...vars].map(([k, v]) => `${k}=${v}`);
}

function publishedPorts(spec: Spec) {
  const exposed: Record<string, {}> = {};
  const bindings: Record<string, { HostPort: string; HostIp: string }[]> = {};
  for (const p of spec.ports ?? []) {
    const key = `${p.containerPort}/${(p.protocol || 'TCP').toLowerCase()}`;
    exposed[key] = {};
    // An empty HostPort makes Docker pick a free port; the agent reports it in status.ports.
    if (p.hostPort || p.publish) (bindings[key] ??= []).push({ HostPort: p.hostPort ? String(p.hostPort) : '', HostIp: p.hostIp ?? '' });
  }
  return { exposed, bindings };
}

function mounts(
  spec: Spec,
  volumeLabels: Record<string, string>,
  projected: ReadonlyMap<number, string> | undefined,
): Dockerode.MountSettings[] {
  return (spec.volumes ?? []).map((v, i): Dockerode.MountSettings => {
    const target = v.mountPath ?? '';
    const readOnly = !!v.readOnly;
    if (configVolumeSource(v)) {
      const source = projected?.get(i);
      if (!source) throw new Error(`volume ${i} (${target}): its ConfigMap/Secret files were not written before create`);
      // Always read-only: the agent owns these files, and a write would be lost at the next update anyway.
      return { Type: 'bind', Source: source, Target: target, ReadOnly: true };
    }
    if (!v.volumeName) return { Type: 'bind', Source: v.hostPath ?? '', Target: target, ReadOnly: readOnly };
    return {
      Type: 'volume',
      Source: v.volumeName,
      Target: target,
      ReadOnly: readOnly,
      // Applied when the engine creates the volume on first use; the typings wrongly require a driver.
      VolumeOptions: { Labels: volumeLabels } as Dockerode.MountSettings['VolumeOptions'],
    };
  });
}

/** Limits become hard Docker limits; requests are the scheduler's business and set nothing here. */
function resources(spec: Spec): Pick<Dockerode.HostConfig, 'NanoCpus' | 'Memory'> {
  const limits = spec.resources?.limits;
  const out: Pick<Dockerode.HostConfig, 'NanoCpus' | 'Memory'> = {};
  if (limits?.cpu) out.NanoCpus = parseCpuMillis(limits.cpu) * 1e6;
  if (limits?.memory) out.Memory = parseMemoryBytes(limits.memory);
  return out;
}

/**
 * Docker runs healthchecks inside the container, so probes use tools the image likely has. Debian's
 * busybox nc has no -z, hence the fallback that connects and hands the socket to `true`.
 */
export function healthcheck(h: DeepPartial<Healthcheck>): Dockerode.HealthConfig {
  let test: string[];
  if (h.exec) test = ['CMD', ...((h.exec.command ?? []) as string[])];
  else if (h.httpGet) {
    const path = h.httpGet.path ? (h.httpGet.path.startsWith('/') ? h.httpGet.path : `/${h.httpGet.path}`) : '/';
    test = ['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${h.httpGet.port}${path}`];
  } else if (h.tcpSocket) {
    const port = Number(h.tcpSocket.port);
    test = ['CMD-SHELL', `nc -z 127.0.0.1 ${port} 2>/dev/null || nc -w 2 127.0.0.1 ${port} -e true`];
  } else {
    throw new Error('healthcheck needs one of exec, httpGet or tcpSocket');
  }
  const out: Dockerode.HealthConfig = { Test: test };
  if (h.intervalSeconds) out.Interval = h.intervalSeconds * NS_PER_SECOND;
  if (h.timeoutSeconds) out.Timeout = h.timeoutSeconds * NS_PER_SECOND;
  if (h.retries) out.Retries = h.retries;
  if (h.startPeriodSeconds) out.StartPeriod = h.startPeriodSeconds * NS_PER_SECOND;
  return out;
}
