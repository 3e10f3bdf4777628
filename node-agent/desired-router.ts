// Splits what the API server sends a node by kind: Containers (and the ConfigMaps and Secrets they read) go to
// the Container reconciler, ComposeStacks to the Compose engine; status from both goes back one way.
import type { Resource } from '../lib/api/resource.js';

/** Receives status objects (apiVersion, kind, metadata {namespace, name, uid}, status) that changed. */
export type StatusSink = (objects: Resource[]) => void;

/** What the stream drives: a complete desired state, then changes; status flows back through the sink. */
export interface DesiredStateConsumer {
  attach(sink: StatusSink): void;
  detach(): void;
  setDesired(objects: Resource[]): void;
  applyChange(type: 'UPSERT' | 'DELETE', obj: Resource): void;
}

export interface DesiredRoute {
  kinds: readonly string[];
  consumer: DesiredStateConsumer;
}

export class DesiredRouter implements DesiredStateConsumer {
  constructor(private readonly routes: DesiredRoute[]) {}

  attach(sink: StatusSink): void {
    for (const r of this.routes) r.consumer.attach(sink);
  }

  detach(): void {
    for (const r of this.routes) r.consumer.detach();
  }

  setDesired(objects: Resource[]): void {
    for (const r of this.routes) r.consumer.setDesired(objects.filter((o) => r.kinds.includes(o.kind)));
  }

  applyChange(type: 'UPSERT' | 'DELETE', obj: Resource): void {
    for (const r of this.routes) if (r.kinds.includes(obj.kind)) r.consumer.applyChange(type, obj);
  }
}
