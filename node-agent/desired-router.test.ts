// The router hands each kind only to the consumer that runs it, and status sinks to all of them.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../lib/api/resource.js';
import { DesiredRouter, type DesiredStateConsumer, type StatusSink } from './desired-router.js';

class Recorder implements DesiredStateConsumer {
  readonly calls: string[] = [];
  sink?: StatusSink;
  attach(sink: StatusSink) {
    this.sink = sink;
  }
  detach() {
    this.sink = undefined;
  }
  setDesired(objects: Resource[]) {
    this.calls.push(`set ${objects.map((o) => o.metadata.name).join(',')}`);
  }
  applyChange(type: string, obj: Resource) {
    this.calls.push(`${type} ${obj.metadata.name}`);
  }
}

const obj = (kind: string, name: string): Resource => ({ apiVersion: 'persys.dev/v1', kind, metadata: { name } });

describe('DesiredRouter', () => {
  it('splits the snapshot and the changes by kind and attaches every consumer to the sink', () => {
    const containers = new Recorder();
    const stacks = new Recorder();
    const router = new DesiredRouter([
      { kinds: ['Container', 'Secret'], consumer: containers },
      { kinds: ['ComposeStack'], consumer: stacks },
    ]);
    router.setDesired([obj('Container', 'c1'), obj('ComposeStack', 'shop'), obj('Secret', 's1')]);
    router.applyChange('UPSERT', obj('ComposeStack', 'blog'));
    router.applyChange('DELETE', obj('Container', 'c1'));
    expect(containers.calls).toEqual(['set c1,s1', 'DELETE c1']);
    expect(stacks.calls).toEqual(['set shop', 'UPSERT blog']);
    const sink: StatusSink = () => undefined;
    router.attach(sink);
    expect([containers.sink, stacks.sink]).toEqual([sink, sink]);
    router.detach();
    expect([containers.sink, stacks.sink]).toEqual([undefined, undefined]);
  });
});
