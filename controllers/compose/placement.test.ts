// Table tests of ComposeStack placement: a stack's published ports against the fixed host ports of
// Containers and of other stacks on each node; ports Docker picks never collide.
import { describe, expect, it } from 'vitest';
import type { ComposeStackObject, ContainerObject, NodeObject } from '../../lib/api/typed.js';
import { placementProbe, placeStack, projectOf, stackPortClaims } from './placement.js';

function node(name: string): NodeObject {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Node',
    metadata: { name },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { cpu: '4', memory: '8Gi' } },
  };
}

function stack(name: string, ports: string[], nodeName?: string): ComposeStackObject {
  const list = ports.map((p) => `      - "${p}"`).join('\n');
  const compose = `services:\n  web:\n    image: persys/busybox:test\n${ports.length ? `    ports:\n${list}\n` : ''}`;
  return { apiVersion: 'persys.dev/v1', kind: 'ComposeStack', metadata: { name, namespace: 'default', uid: `uid-${name}` }, spec: { compose, nodeName } };
}

function container(name: string, ports: { hostPort: number; protocol?: string; hostIp?: string; publish?: boolean }[]): ContainerObject {
  return {
    apiVersion: 'persys.dev/v1',
    kind: 'Container',
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: { image: 'busybox', ports: ports.map((p) => ({ containerPort: 80, protocol: 'TCP', ...p })) },
  };
}

/** What the compose controller hands placeStack: each node's Containers and the probes of its other stacks. */
function occupants(byNode: Record<string, (ContainerObject | ComposeStackObject)[]>): Record<string, ContainerObject[]> {
  const out: Record<string, ContainerObject[]> = {};
  for (const [n, objs] of Object.entries(byNode)) {
    out[n] = objs.map((o) => (o.kind === 'ComposeStack' ? placementProbe(o as ComposeStackObject, projectOf(o as ComposeStackObject)) : (o as ContainerObject)));
  }
  return out;
}

describe('placeStack', () => {
  it.each<{ name: string; stack: ComposeStackObject; nodes: string[]; on?: Record<string, (ContainerObject | ComposeStackObject)[]>; want: { node?: string; reason?: string } }>([
    {
      name: "avoids a node where a Container holds one of the stack's published ports",
      stack: stack('shop', ['8080:80']),
      nodes: ['a', 'b'],
      on: { a: [container('x', [{ hostPort: 8080 }])] },
      want: { node: 'b' },
    },
    {
      name: 'avoids a node where another stack publishes the same port',
      stack: stack('green', ['8088:80']),
      nodes: ['a', 'b'],
      on: { a: [stack('blue', ['8088:80'], 'a')] },
      want: { node: 'b' },
    },
    {
      name: 'stays pending, naming the port, when every node holds it',
      stack: stack('green', ['127.0.0.1:9090:80', '8088:80']),
      nodes: ['a', 'b'],
      on: { a: [stack('blue', ['8088:80'], 'a')], b: [container('x', [{ hostPort: 8088 }])] },
      want: { reason: '0/2 nodes are available: 2 node(s) had port 8088/TCP already in use.' },
    },
    {
      name: 'lets the same port over UDP through',
      stack: stack('dns', ['53:53/udp']),
      nodes: ['a'],
      on: { a: [container('x', [{ hostPort: 53 }])] },
      want: { node: 'a' },
    },
    {
      name: 'never collides on a port Docker picks, on either side',
      stack: stack('shop', ['80']),
      nodes: ['a'],
      on: { a: [container('x', [{ hostPort: 0, publish: true }]), stack('blue', ['80'], 'a')] },
      want: { node: 'a' },
    },
    {
      name: 'lets two distinct host addresses share a port',
      stack: stack('shop', ['127.0.0.1:8080:80']),
      nodes: ['a'],
      on: { a: [container('x', [{ hostPort: 8080, hostIp: '127.0.0.2' }])] },
      want: { node: 'a' },
    },
  ])('$name', (c) => {
    const s = c.stack;
    expect(placeStack(s, projectOf(s), c.nodes.map(node), occupants(c.on ?? {}))).toEqual(c.want);
  });
});

describe('stackPortClaims', () => {
  it('lists only the fixed ports, with protocol and address, and parses a stack version once', () => {
    const s = stack('shop', ['127.0.0.1:8080:80', '53:53/udp', '9000']);
    const claims = stackPortClaims(s);
    expect(claims).toEqual([
      { containerPort: 80, hostPort: 8080, protocol: 'TCP', hostIp: '127.0.0.1' },
      { containerPort: 53, hostPort: 53, protocol: 'UDP', hostIp: undefined },
    ]);
    expect(stackPortClaims(s)).toBe(claims);
  });
});
