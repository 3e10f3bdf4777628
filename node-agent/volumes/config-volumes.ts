// The ConfigMap and Secret volumes of this node's Containers on disk, `<root>/<uid>/<index>-<kind>-<name>`:
// projected before a container is created, re-projected when their objects change, removed with it.
import { cp, readdir, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { ContainerObject } from '../../lib/api/typed.js';
import type { DeepPartial, VolumeMount } from '../../lib/gen/persys/v1/workloads.js';
import type { ConfigLookup } from '../desired.js';
import { configVolumeSource, payloadHash, volumeDirName, volumePayload, type ConfigVolumeSource } from './payload.js';
import { hasProjection, resolveProjected, writeProjection, type ProjectedFile } from './projection.js';

export interface ConfigVolumesOptions {
  /** One directory per container uid below it (the agent's `<dataDir>/volumes`). */
  root: string;
  /** The ConfigMaps and Secrets desired on this node. */
  config: ConfigLookup;
}

interface PlannedVolume {
  index: number;
  mount: DeepPartial<VolumeMount>;
  source: ConfigVolumeSource;
  dir: string;
  /** What the volume must hold, or why that cannot be known (a missing object or key, a bad path). */
  files: ProjectedFile[] | Error;
}

/** Suffix of a subPath mount's snapshot beside its volume directory. */
const SUBPATH_SUFFIX = '.subpath';
const UID = /^[A-Za-z0-9][-A-Za-z0-9_.]*$/;

/** Whether the container reads a ConfigMap or Secret as files. */
export function mountsConfig(container: ContainerObject): boolean {
  return (container.spec?.volumes ?? []).some((v) => !!configVolumeSource(v));
}

export class ConfigVolumes {
  readonly root: string;
  private readonly config: ConfigLookup;
  /** Payload hash last committed, per volume directory: an unchanged object is not written again. */
  private readonly written = new Map<string, string>();

  constructor(opts: ConfigVolumesOptions) {
    // Docker needs an absolute bind source.
    this.root = resolve(opts.root);
    this.config = opts.config;
  }

  /** The directory of one container's volumes. */
  dirOf(uid: string): string {
    // The uid becomes a path: never one that climbs out of the root.
    if (!validUid(uid)) throw new Error(`uid ${JSON.stringify(uid)} cannot name a volume directory`);
    return join(this.root, uid);
  }

  /**
   * Projects every ConfigMap and Secret volume of `container` before it is created, and returns the host
   * path to bind for each, by index in spec.volumes: the volume directory, or for a subPath a snapshot of
   * that one file or directory (so that a later swap, which removes the old version, cannot break a
   * restart of the container). Nothing is written when any object or key is missing (ContainerConfigError).
   */
  async prepare(container: ContainerObject): Promise<Map<number, string>> {
    const uidDir = this.dirOf(container.metadata.uid ?? '');
    const planned = this.plan(container);
    const failed = planned.find((p) => p.files instanceof Error);
    if (failed) throw failed.files;
    const sources = new Map<number, string>();
    const keep = new Set<string>();
    for (const p of planned) {
      await this.project(p);
      const name = p.dir.slice(uidDir.length + 1);
      keep.add(name);
      if (!p.mount.subPath) {
        sources.set(p.index, p.dir);
        continue;
      }
      const real = await resolveProjected(p.dir, p.mount.subPath);
      const snapshot = p.dir + SUBPATH_SUFFIX;
      keep.add(name + SUBPATH_SUFFIX);
      await rm(snapshot, { recursive: true, force: true });
      await cp(real, snapshot, { recursive: true });
      sources.set(p.index, snapshot);
    }
    // Volumes of an earlier spec of the same uid (its container is gone: create and recreate come after a remove).
    for (const entry of await readdirOrEmpty(uidDir)) {
      if (!keep.has(entry)) await this.removePath(join(uidDir, entry));
    }
    return sources;
  }

  /**
   * Brings the volume directories of a created container up to date with its objects, leaving the
   * container alone; subPath mounts do not follow (as in Kubernetes). Returns how many were rewritten.
   * A non-optional object that disappeared throws and keeps the last files.
   */
  async refresh(container: ContainerObject): Promise<number> {
    let rewritten = 0;
    let failure: unknown;
    for (const p of this.plan(container)) {
      if (p.mount.subPath) continue;
      try {
        if (await this.project(p)) rewritten++;
      } catch (e) {
        // The other volumes still get their update.
        failure ??= e;
      }
    }
    if (failure) throw failure;
    return rewritten;
  }

  /** Removes a container's volumes (after its container is gone). */
  async remove(uid: string): Promise<void> {
    // A uid that cannot name a directory (a hand-made label) never had one.
    if (!validUid(uid)) return;
    await this.removePath(this.dirOf(uid));
  }

  /**
   * Removes the directories of uids `keep` refuses (containers removed while the agent was away); returns
   * those uids. `keep` is asked at the moment of each removal, so a uid that became desired meanwhile stays.
   */
  async sweep(keep: (uid: string) => boolean): Promise<string[]> {
    const removed: string[] = [];
    for (const uid of await readdirOrEmpty(this.root)) {
      if (keep(uid)) continue;
      await this.removePath(join(this.root, uid));
      removed.push(uid);
    }
    return removed;
  }

  /** Every ConfigMap/Secret volume of the container with its files (or why they cannot be had). */
  private plan(container: ContainerObject): PlannedVolume[] {
    const uidDir = this.dirOf(container.metadata.uid ?? '');
    const namespace = container.metadata.namespace || 'default';
    const out: PlannedVolume[] = [];
    (container.spec?.volumes ?? []).forEach((mount, index) => {
      const source = configVolumeSource(mount);
      if (!source) return;
      let files: ProjectedFile[] | Error;
      try {
        files = volumePayload(source, namespace, this.config, `volume ${mount.mountPath || index}`);
      } catch (e) {
        files = e instanceof Error ? e : new Error(String(e));
      }
      out.push({ index, mount, source, dir: join(uidDir, volumeDirName(index, source)), files });
    });
    return out;
  }

  /** Writes the volume unless the same content is already committed there; true when it wrote. */
  private async project(p: PlannedVolume): Promise<boolean> {
    if (p.files instanceof Error) throw p.files;
    const hash = payloadHash(p.files);
    if (this.written.get(p.dir) === hash && (await hasProjection(p.dir))) return false;
    await writeProjection(p.dir, p.files);
    this.written.set(p.dir, hash);
    return true;
  }

  private async removePath(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
    for (const dir of this.written.keys()) if (dir === path || dir.startsWith(path + sep)) this.written.delete(dir);
  }
}

function validUid(uid: string): boolean {
  return UID.test(uid) && !uid.includes('..');
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  return readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
}
