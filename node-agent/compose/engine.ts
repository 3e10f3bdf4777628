// The Docker calls the compose agent makes, each with a deadline, and each reading or touching only
// objects labelled for a ComposeStack on this node (or the names a project asks for).
import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { ComposeProject } from '../../lib/compose/model.js';
import { engineStatus, type EngineGuard } from '../../lib/docker/engine-guard.js';
import { decodeJsonLines, type DockerEvent } from '../docker/events.js';
import { LABEL_NAME, LABEL_NAMESPACE } from '../docker/labels.js';
import type { ContainerPlan } from './container-spec.js';
import { ownedFilter, stackKey } from './labels.js';
import { toObservedContainer, toObservedObject, type ObservedContainer, type ObservedObject, type ObservedStack } from './observed.js';

const INSPECT_CONCURRENCY = 8;

export class ComposeEngine {
  readonly node: string;

  constructor(
    private readonly docker: Dockerode,
    /** The node's engine guard: deadlines, and the breaker shared with its Containers and swarm calls. */
    private readonly guard: EngineGuard,
  ) {
    this.node = guard.node;
  }

  /** Everything the planner needs about one stack: its containers, networks, volumes and images. */
  async observe(key: { namespace: string; name: string }, project?: ComposeProject): Promise<ObservedStack> {
    const filters = { label: ownedFilter(this.node, key) };
    const [containers, ownedNets, ownedVols] = await Promise.all([
      this.containers(filters.label),
      this.call('listNetworks', (abortSignal) => this.docker.listNetworks(signalled<Dockerode.NetworkListOptions>({ filters }, abortSignal))),
      this.call('listVolumes', (abortSignal) => this.docker.listVolumes(signalled<Dockerode.VolumeListOptions>({ filters }, abortSignal))),
    ]);
    const networks = ownedNets.map((n) => toObservedObject(n.Id, n.Name, n.Labels));
    const volumes = (ownedVols.Volumes ?? []).map((v) => toObservedObject(v.Name, v.Name, v.Labels));
    const images: Record<string, string | null> = {};
    if (project) {
      const named = await Promise.all([
        ...project.networks.filter((n) => !networks.some((o) => o.name === n.name)).map((n) => this.network(n.name)),
        ...project.volumes.filter((v) => !volumes.some((o) => o.name === v.name)).map((v) => this.volume(v.name)),
      ]);
      for (const o of named) if (o) (o.kind === 'network' ? networks : volumes).push(o.object);
      const refs = [...new Set(project.services.map((s) => s.image))];
      const ids = await Promise.all(refs.map((r) => this.imageId(r)));
      refs.forEach((r, i) => (images[r] = ids[i]!));
    }
    return { containers, networks, volumes, images };
  }

  /** NAMESPACE/NAME of every stack with a container, network or volume on this node. */
  async ownedStacks(): Promise<Set<string>> {
    const filters = { label: ownedFilter(this.node) };
    const [cs, ns, vs] = await Promise.all([
      this.call('listContainers', (abortSignal) => this.docker.listContainers({ all: true, filters, abortSignal })),
      this.call('listNetworks', (abortSignal) => this.docker.listNetworks(signalled<Dockerode.NetworkListOptions>({ filters }, abortSignal))),
      this.call('listVolumes', (abortSignal) => this.docker.listVolumes(signalled<Dockerode.VolumeListOptions>({ filters }, abortSignal))),
    ]);
    const keys = new Set<string>();
    for (const labels of [...cs.map((c) => c.Labels), ...ns.map((n) => n.Labels), ...(vs.Volumes ?? []).map((v) => v.Labels)]) {
      const ns_ = labels?.[LABEL_NAMESPACE];
      const name = labels?.[LABEL_NAME];
      if (ns_ !== undefined && name !== undefined) keys.add(stackKey(ns_, name));
    }
    return keys;
  }

  /** A stack's containers (inspected, for health, exit code and exit time). */
  async containers(labelFilter: string[]): Promise<ObservedContainer[]> {
    const listed = await this.call('listContainers', (abortSignal) =>
      this.docker.listContainers({ all: true, filters: { label: labelFilter }, abortSignal }),
    );
    const out: ObservedContainer[] = [];
    for (let i = 0; i < listed.length; i += INSPECT_CONCURRENCY) {
      const batch = await Promise.all(
        listed.slice(i, i + INSPECT_CONCURRENCY).map((c) =>
          this.call('inspectContainer', (abortSignal) => this.docker.getContainer(c.Id).inspect({ abortSignal })).catch((e) => {
            if (engineStatus(e) === 404) return undefined; // removed between list and inspect
            throw e;
          }),
        ),
      );
      for (const info of batch) if (info) out.push(toObservedContainer(info));
    }
    return out;
  }

  async createNetwork(name: string, driver: string | undefined, labels: Record<string, string>): Promise<void> {
    await this.call('createNetwork', (abortSignal) =>
      this.docker.createNetwork(signalled<Dockerode.NetworkCreateOptions>({ Name: name, Driver: driver ?? 'bridge', Labels: labels, CheckDuplicate: true }, abortSignal)),
    );
  }

  async removeNetwork(id: string): Promise<void> {
    await this.call('removeNetwork', (abortSignal) => this.docker.getNetwork(id).remove({ abortSignal })).catch(ignore404);
  }

  async createVolume(name: string, driver: string | undefined, labels: Record<string, string>): Promise<void> {
    await this.call('createVolume', (abortSignal) =>
      this.docker.createVolume(signalled<Dockerode.VolumeCreateOptions>({ Name: name, Driver: driver ?? 'local', Labels: labels }, abortSignal)),
    );
  }

  async removeVolume(name: string): Promise<void> {
    await this.call('removeVolume', (abortSignal) => this.docker.getVolume(name).remove({ abortSignal })).catch(ignore404);
  }

  /** Creates the container, joins its further networks and starts it; returns its id. */
  async createAndStart(plan: ContainerPlan): Promise<string> {
    const created = await this.call('createContainer', (abortSignal) =>
      this.docker.createContainer(signalled<Dockerode.ContainerCreateOptions>({ _query: { name: plan.name }, _body: plan.body }, abortSignal)),
    );
    const id = created.id;
    for (const n of plan.connect) {
      await this.call('connectNetwork', (abortSignal) =>
        this.docker.getNetwork(n.network).connect(signalled<Dockerode.NetworkConnectOptions>({ Container: id, EndpointConfig: { Aliases: n.aliases } }, abortSignal)),
      );
    }
    await this.start(id);
    return id;
  }

  async start(id: string): Promise<void> {
    await this.call('startContainer', (abortSignal) => this.docker.getContainer(id).start({ abortSignal })).catch((e) => {
      if (engineStatus(e) !== 304) throw e; // already started
    });
  }

  async removeContainer(id: string): Promise<void> {
    await this.call('removeContainer', (abortSignal) => this.docker.getContainer(id).remove({ force: true, abortSignal })).catch(ignore404);
  }

  /** Container events of compose projects on this node, until `signal` aborts or the stream ends. */
  async *events(signal: AbortSignal, since?: number): AsyncGenerator<DockerEvent> {
    const filters = { type: ['container'], label: ['com.docker.compose.project', ...ownedFilter(this.node)] };
    const stream = (await this.guard.call(
      'events',
      (abortSignal) => this.docker.getEvents(signalled<Dockerode.GetEventsOptions>({ since, filters }, abortSignal)),
      { signal, stream: true },
    )) as unknown as Readable;
    try {
      for await (const ev of decodeJsonLines(stream)) yield ev;
    } catch (e) {
      if (signal.aborted) return;
      throw e;
    } finally {
      stream.destroy();
    }
  }

  private async network(name: string): Promise<{ kind: 'network'; object: ObservedObject } | undefined> {
    const info = await this.call('inspectNetwork', () => this.docker.getNetwork(name).inspect()).catch(ignore404);
    return info ? { kind: 'network', object: toObservedObject(info.Id, info.Name, info.Labels) } : undefined;
  }

  private async volume(name: string): Promise<{ kind: 'volume'; object: ObservedObject } | undefined> {
    const info = await this.call('inspectVolume', (abortSignal) => this.docker.getVolume(name).inspect({ abortSignal })).catch(ignore404);
    return info ? { kind: 'volume', object: toObservedObject(info.Name, info.Name, info.Labels) } : undefined;
  }

  /** The image's id, or null when the node does not have it (the agent pulls before it plans: see stack-images.ts). */
  private async imageId(ref: string): Promise<string | null> {
    const info = await this.call('inspectImage', () => this.docker.getImage(ref).inspect()).catch(ignore404);
    return info ? info.Id : null;
  }

  private call<T>(operation: string, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.guard.call(operation, attempt);
  }
}

/** dockerode passes abortSignal on to the request (and keeps it out of the body), but its typings omit it. */
function signalled<T>(opts: object, abortSignal: AbortSignal): T {
  return { ...opts, abortSignal } as T;
}

function ignore404(e: unknown): undefined {
  if (engineStatus(e) === 404) return undefined;
  throw e;
}
