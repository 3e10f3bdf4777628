// The Docker create request for one numbered replica of a Compose service, as `docker compose up`
// would build it: pure, so what the agent sends is testable without an engine.
import type { ComposeProject, ComposeService } from '../../lib/compose/model.js';
import { searchDomains } from '../dns/names.js';
import { containerLabels, type StackIdentity } from './labels.js';

const MS_TO_NS = 1_000_000;

/** What the agent sends: the create body, plus the networks to connect before start (API < 1.44 takes one at create). */
export interface ContainerPlan {
  name: string;
  body: Record<string, unknown>;
  /** Further networks: Docker name → endpoint config. */
  connect: { network: string; aliases: string[] }[];
}

export function containerName(project: string, service: string, num: number): string {
  return `${project}-${service}-${num}`;
}

/** Docker's RestartPolicy for Compose's `restart:` (no, always, on-failure[:N], unless-stopped). */
export function restartPolicy(restart: string): { Name: string; MaximumRetryCount?: number } {
  const [name, max] = (restart || 'no').split(':');
  if (name === 'on-failure') return max ? { Name: 'on-failure', MaximumRetryCount: Number(max) } : { Name: 'on-failure' };
  return { Name: name === 'no' ? '' : name! };
}

export function containerPlan(
  project: ComposeProject,
  service: ComposeService,
  num: number,
  id: StackIdentity,
  imageId: string,
  /** Host paths of the service's config and secret files, by target (from StackFiles.sync). */
  files: ReadonlyMap<string, string> = new Map(),
  /**
   * The agent's DNS server (IPv4, port 53). On a project network Docker's embedded DNS still answers the
   * stack's own service names, and sends every other name here: Service names resolve as in Containers.
   */
  dnsServer?: string,
): ContainerPlan {
  const name = containerName(project.name, service.name, num);
  const networks = service.networks.map((n) => {
    const net = project.networks.find((x) => x.key === n.key);
    if (!net) throw new Error(`service ${service.name} uses network ${n.key}, which the project does not declare`);
    return { network: net.name, aliases: [service.name, ...n.aliases] };
  });
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of service.ports) {
    const port = `${p.target}/${p.protocol}`;
    exposed[port] = {};
    (bindings[port] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: p.published === undefined ? '' : String(p.published) });
  }
  const mounts = service.volumes.map((m) => {
    if (m.type === 'volume') {
      const vol = m.source === undefined ? undefined : project.volumes.find((v) => v.key === m.source);
      if (m.source !== undefined && !vol) throw new Error(`service ${service.name} mounts volume ${m.source}, which the project does not declare`);
      return { Type: 'volume', Target: m.target, ReadOnly: m.readOnly, ...(vol ? { Source: vol.name } : {}) };
    }
    if (m.type === 'bind') return { Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readOnly };
    return { Type: 'tmpfs', Target: m.target };
  });
  for (const f of service.fileMounts) {
    const source = files.get(f.target);
    if (!source) throw new Error(`service ${service.name}: the file for ${f.origin} (${f.target}) has not been written`);
    mounts.push({ Type: 'bind', Source: source, Target: f.target, ReadOnly: true });
  }
  const hc = service.healthcheck;
  const hostConfig: Record<string, unknown> = {
    PortBindings: bindings,
    Mounts: mounts,
    RestartPolicy: restartPolicy(service.restart),
    ...(service.resources.nanoCpus ? { NanoCpus: service.resources.nanoCpus } : {}),
    ...(service.resources.memoryBytes ? { Memory: service.resources.memoryBytes } : {}),
    ...(service.resources.memoryReservationBytes ? { MemoryReservation: service.resources.memoryReservationBytes } : {}),
    ...(networks[0] ? { NetworkMode: networks[0].network } : {}),
    ...(dnsServer ? { Dns: [dnsServer], DnsSearch: searchDomains(id.namespace), DnsOptions: ['ndots:5'] } : {}),
  };
  const body: Record<string, unknown> = {
    Image: service.image,
    Env: Object.entries(service.environment).map(([k, v]) => `${k}=${v}`),
    Labels: containerLabels(project, service, num, id, imageId),
    ExposedPorts: exposed,
    HostConfig: hostConfig,
    ...(service.entrypoint ? { Entrypoint: service.entrypoint } : {}),
    ...(service.command ? { Cmd: service.command } : {}),
    ...(service.workingDir ? { WorkingDir: service.workingDir } : {}),
    ...(service.user ? { User: service.user } : {}),
    ...(service.hostname ? { Hostname: service.hostname } : {}),
    ...(hc
      ? {
          Healthcheck: {
            Test: hc.test,
            ...(hc.intervalMs !== undefined ? { Interval: hc.intervalMs * MS_TO_NS } : {}),
            ...(hc.timeoutMs !== undefined ? { Timeout: hc.timeoutMs * MS_TO_NS } : {}),
            ...(hc.retries !== undefined ? { Retries: hc.retries } : {}),
            ...(hc.startPeriodMs !== undefined ? { StartPeriod: hc.startPeriodMs * MS_TO_NS } : {}),
          },
        }
      : {}),
    ...(networks[0] ? { NetworkingConfig: { EndpointsConfig: { [networks[0].network]: { Aliases: networks[0].aliases } } } } : {}),
  };
  return { name, body, connect: networks.slice(1) };
}
