// What the engine holds for one stack, read from Docker's list/inspect answers: the planner's input.
import type Dockerode from 'dockerode';
import { COMPOSE_LABELS } from '../../lib/compose/model.js';
import { LABEL_KIND, LABEL_NAME, LABEL_NAMESPACE } from '../docker/labels.js';
import { COMPOSE_STACK_KIND, LABEL_STACK_UID, stackKey } from './labels.js';

export interface ObservedContainer {
  id: string;
  name: string;
  project: string;
  service: string;
  number: number;
  configHash: string;
  stackUid: string;
  /** created, running, paused, restarting, removing, exited or dead. */
  state: string;
  /** Docker's health: starting, healthy or unhealthy; absent without a healthcheck. */
  health?: string;
  exitCode: number;
  /** When it last exited (ms since the epoch); absent while it never has. */
  finishedAt?: number;
}

/** A network or volume: by Docker name, with the labels that say whose it is. */
export interface ObservedObject {
  /** Network id, or the volume's name. */
  id: string;
  name: string;
  /** Compose project label, if any. */
  project?: string;
  /** NAMESPACE/NAME of the persys stack that owns it, if any. */
  owner?: string;
  stackUid?: string;
}

export interface ObservedStack {
  /** Containers carrying this stack's persys labels on this node. */
  containers: ObservedContainer[];
  /** Networks labelled for this stack, and those the project names (whoever owns them). */
  networks: ObservedObject[];
  volumes: ObservedObject[];
  /** The project's images: reference → image id, or null when the node does not have it. */
  images: Record<string, string | null>;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

export function toObservedContainer(info: Dockerode.ContainerInspectInfo): ObservedContainer {
  const labels = info.Config?.Labels ?? {};
  const finished = info.State.FinishedAt && info.State.FinishedAt !== ZERO_TIME ? Date.parse(info.State.FinishedAt) : undefined;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    project: labels[COMPOSE_LABELS.project] ?? '',
    service: labels[COMPOSE_LABELS.service] ?? '',
    number: Number(labels[COMPOSE_LABELS.containerNumber] ?? 0),
    configHash: labels[COMPOSE_LABELS.configHash] ?? '',
    stackUid: labels[LABEL_STACK_UID] ?? '',
    state: info.State.Status,
    health: info.State.Health?.Status || undefined,
    exitCode: info.State.ExitCode,
    finishedAt: finished && !Number.isNaN(finished) ? finished : undefined,
  };
}

/** A network's or volume's identity from its name and labels. */
export function toObservedObject(id: string, name: string, labels: Record<string, string> | null | undefined): ObservedObject {
  const l = labels ?? {};
  const ns = l[LABEL_NAMESPACE];
  const n = l[LABEL_NAME];
  return {
    id,
    name,
    project: l[COMPOSE_LABELS.project],
    owner: l[LABEL_KIND] === COMPOSE_STACK_KIND && ns !== undefined && n !== undefined ? stackKey(ns, n) : undefined,
    stackUid: l[LABEL_STACK_UID],
  };
}
