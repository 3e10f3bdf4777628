// A Docker Swarm of second Docker engines (each a dockerd in its own network namespace) for benchmarks:
// lets the namespaces reach each other through this machine, forms the swarm, and undoes both.
import type Dockerode from 'dockerode';
import type { SecondDocker } from '../../e2e/harness/docker.js';
import { allowForwarding } from '../../e2e/harness/forwarding.js';
import { until } from './until.js';

/** Overlay subnets away from 10.0.0.0/8's low ranges and the veth /30s (10.231/16) and bridges (10.233/16). */
const ADDR_POOL = '10.240.0.0/16';

export interface SwarmMember {
  engine: SecondDocker;
  nodeId: string;
  role: 'manager' | 'worker';
}

export interface SwarmCluster {
  manager: SwarmMember;
  members: SwarmMember[];
  /** Removes the forwarding rules this cluster added and makes every engine leave the swarm. */
  dismantle(): Promise<void>;
}

/** Node id → `ready`/`down`/…, as the manager sees it. */
export async function nodeStates(manager: Dockerode): Promise<Map<string, string>> {
  const nodes = (await manager.listNodes()) as { ID: string; Status?: { State?: string } }[];
  return new Map(nodes.map((n) => [n.ID, n.Status?.State ?? 'unknown']));
}

/**
 * `swarm init` on the first engine, `swarm join` of the others as workers over their veth addresses;
 * resolves once the manager sees every node ready.
 */
export async function formSwarm(engines: SecondDocker[], timeoutMs: number): Promise<SwarmCluster> {
  if (engines.length < 2) throw new Error('a swarm of one engine measures no failover');
  const removeRules = await allowForwarding(engines, 'persys-bench-swarm');
  const joined: SecondDocker[] = [];
  const dismantle = async () => {
    for (const e of joined.reverse()) {
      await e.docker.swarmLeave({ force: true }).catch((err: Error) => console.error(`cleanup: swarm leave on ${e.address}: ${err.message}`));
    }
    await removeRules();
  };
  try {
    const [first, ...rest] = engines as [SecondDocker, ...SecondDocker[]];
    await first.docker.swarmInit({
      ListenAddr: `${first.address}:2377`,
      AdvertiseAddr: first.address,
      DefaultAddrPool: [ADDR_POOL],
      SubnetSize: 24,
    });
    joined.push(first);
    const token = ((await first.docker.swarmInspect()) as { JoinTokens: { Worker: string } }).JoinTokens.Worker;
    for (const e of rest) {
      await e.docker.swarmJoin({ ListenAddr: `${e.address}:2377`, AdvertiseAddr: e.address, RemoteAddrs: [`${first.address}:2377`], JoinToken: token });
      joined.push(e);
    }
    await until(`${engines.length} swarm nodes ready`, timeoutMs, () => nodeStates(first.docker), (m) => m.size === engines.length && [...m.values()].every((s) => s === 'ready'));
    const members: SwarmMember[] = [];
    for (const [i, e] of engines.entries()) {
      const info = (await e.docker.info()) as { Swarm: { NodeID: string } };
      members.push({ engine: e, nodeId: info.Swarm.NodeID, role: i === 0 ? 'manager' : 'worker' });
    }
    return { manager: members[0]!, members, dismantle };
  } catch (e) {
    await dismantle();
    throw e;
  }
}
