// SwarmOperations through the API server: the call goes down the named node's real agent stream (a test
// agent answering over mTLS) and its one answer comes back, also when another API server of the cluster
// holds that stream; failures name the node and say why.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { status as Code } from '@grpc/grpc-js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ApiError } from '../../lib/client/errors.js';
import { SwarmClient } from '../../lib/client/swarm.js';
import type { AgentRequest } from '../../lib/gen/persys/v1/agent.js';
import { SwarmService } from '../../lib/gen/persys/v1/workloads.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { joinAsNode, TestAgent } from './test-agent.js';

const NODE = 'swarm-relay-node';
const PREFIX = `/test-swarm-relay-${process.pid}`;
let api: TestApiServer;
/** A second API server of the same cluster (same etcd prefix and PKI) that does not hold the node's stream. */
let peer: TestApiServer;
let swarm: SwarmClient;
let agent: TestAgent;
const requests: AgentRequest[] = [];
/** Everything both API servers log, at debug level: no registry credentials may appear in it. */
const logLines: string[] = [];
const logger = () => pino({ level: 'debug' }, new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) }));
const REGISTRY_AUTH = Buffer.from(JSON.stringify({ username: 'u', password: 'relay-secret-pw', serveraddress: 'r.example:5000' })).toString('base64');

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'), { etcdPrefix: PREFIX, logger: logger() });
  peer = await startTestApiServer(inject('etcdEndpoint'), { etcdPrefix: PREFIX, pki: api.pki, logger: logger() });
  swarm = new SwarmClient(api.config, { deadlineMs: 10_000 });
  agent = new TestAgent(api, await joinAsNode(api, readFileSync(api.pki.caCert, 'utf8'), NODE));
  agent.answer = (req, send) => {
    requests.push(req);
    const r = req.request;
    if (r?.$case !== 'swarm') return send({ error: 'not a swarm request' });
    const op = r.value.operation;
    if (op?.$case === 'inspect') {
      return send({
        end: true,
        swarm: {
          state: { localNodeState: 'active', nodeId: 'n0d3', nodeAddr: '10.0.0.9', controlAvailable: true, clusterId: 'c1', error: '', remoteManagers: ['10.0.0.9:2377'], members: [] },
          removedServices: [],
        },
      });
    }
    if (op?.$case === 'join') return send({ error: 'Error response from daemon: This node is already part of a swarm' });
    if (op?.$case === 'applyService') return send({ end: true, swarm: { removedServices: [] } });
    // Never answers anything else: the relay's deadline must end the call.
  };
  agent.hello();
  await agent.desired();
  agent.heartbeat();
});

afterAll(async () => {
  swarm?.close();
  agent?.close();
  await peer?.stop();
  await api?.stop();
});

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: ApiError) => e);

/** Retries while the answer is UNAVAILABLE (the Lease may not name the stream's server yet). */
async function waitForAnswer<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await call();
    } catch (e) {
      if ((e as ApiError).code !== Code.UNAVAILABLE || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('SwarmOperations.Call', () => {
  it("relays the operation to the node's agent and returns its answer", async () => {
    const res = await swarm.call(NODE, { $case: 'inspect', value: {} });
    expect(res.state).toMatchObject({ localNodeState: 'active', nodeId: 'n0d3', controlAvailable: true, remoteManagers: ['10.0.0.9:2377'] });
    const req = requests.at(-1)!;
    expect(req.request).toMatchObject({ $case: 'swarm', value: { node: NODE, operation: { $case: 'inspect' } } });
  });

  it('is relayed by another API server of the cluster to the one holding the node stream', async () => {
    const viaPeer = new SwarmClient(peer.config, { deadlineMs: 10_000 });
    try {
      // The session records where it is on the node's Lease with its first heartbeat.
      const res = await waitForAnswer(() => viaPeer.call(NODE, { $case: 'inspect', value: {} }));
      expect(res.state).toMatchObject({ localNodeState: 'active', nodeId: 'n0d3' });
      expect(requests.at(-1)!.request).toMatchObject({ $case: 'swarm', value: { node: NODE, operation: { $case: 'inspect' } } });
      // The node's own error comes back through both servers with its code.
      const err = await failure(viaPeer.call(NODE, { $case: 'join', value: { remoteAddrs: ['10.0.0.1:2377'], joinToken: 'SWMTKN-x', advertiseAddr: '' } }));
      expect(err?.code).toBe(Code.FAILED_PRECONDITION);
      expect(err?.message).toContain(`node "${NODE}": Error response from daemon`);
    } finally {
      viaPeer.close();
    }
  });

  it('relays registryAuth unchanged, directly and through a peer, and logs it nowhere', async () => {
    const value = SwarmService.fromJSON({ apiVersion: 'persys.dev/v1', kind: 'SwarmService', metadata: { name: 'web', namespace: 'default' }, spec: { image: 'r.example:5000/web:1' } });
    const apply = { $case: 'applyService' as const, value };
    await swarm.call(NODE, apply, { registryAuth: REGISTRY_AUTH });
    expect(requests.at(-1)!.request).toMatchObject({ $case: 'swarm', value: { operation: { $case: 'applyService' }, registryAuth: REGISTRY_AUTH } });
    const viaPeer = new SwarmClient(peer.config, { deadlineMs: 10_000 });
    try {
      await waitForAnswer(() => viaPeer.call(NODE, apply, { registryAuth: REGISTRY_AUTH }));
      expect(requests.at(-1)!.request).toMatchObject({ $case: 'swarm', value: { operation: { $case: 'applyService' }, registryAuth: REGISTRY_AUTH } });
    } finally {
      viaPeer.close();
    }
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((l) => l.includes(REGISTRY_AUTH) || l.includes('relay-secret-pw'))).toEqual([]);
  });

  it("passes the agent's error on as FAILED_PRECONDITION, naming the node", async () => {
    const err = await failure(swarm.call(NODE, { $case: 'join', value: { remoteAddrs: ['10.0.0.1:2377'], joinToken: 'SWMTKN-x', advertiseAddr: '10.0.0.2' } }));
    expect(err).toBeInstanceOf(ApiError);
    expect(err?.code).toBe(Code.FAILED_PRECONDITION);
    expect(err?.message).toContain(`node "${NODE}": Error response from daemon: This node is already part of a swarm`);
  });

  it('answers UNAVAILABLE for a node not connected here and INVALID_ARGUMENT without a node or operation', async () => {
    const ghost = await failure(swarm.call('ghost', { $case: 'inspect', value: {} }));
    expect(ghost?.code).toBe(Code.UNAVAILABLE);
    expect(ghost?.message).toContain('node "ghost" is not connected to this API server');
    expect((await failure(swarm.call('', { $case: 'inspect', value: {} })))?.code).toBe(Code.INVALID_ARGUMENT);
  });

  it('ends a call the agent never answers with the caller deadline, and cancels it on the node', async () => {
    const before = agent.cancels.length;
    const err = await failure(swarm.call(NODE, { $case: 'leave', value: { force: false } }, { deadlineMs: 1_000 }));
    expect(err?.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(requests.at(-1)?.request).toMatchObject({ $case: 'swarm', value: { operation: { $case: 'leave' } } });
    const id = requests.at(-1)!.requestId;
    await agent.waitFor(() => (agent.cancels.includes(id) ? true : undefined));
    expect(agent.cancels.length).toBe(before + 1);
  });
});
