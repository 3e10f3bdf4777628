// The Node's status as its agent reports it: facts from Hello, the Ready and DockerReady conditions.
// Pure functions of (previous status, report, time), so a write happens only when one returns a change.
import type { NodeInfo } from '../../lib/gen/persys/v1/agent.js';
import { conditionOf, setCondition } from '../../lib/api/conditions.js';
import type { NodeObject } from '../../lib/api/typed.js';

/** A Node's status in its JSON form. */
export type NodeStatusJson = NonNullable<NodeObject['status']>;

const nonEmpty = <T extends Record<string, unknown>>(o: T | undefined): T | undefined => {
  if (!o) return undefined;
  const out = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== '' && v !== undefined)) as T;
  return Object.keys(out).length ? out : undefined;
};

/** The status after a Hello: reported facts replace the old ones; other writers' fields (swarm, usage, other conditions) stay. */
export function statusAfterHello(prev: NodeStatusJson | undefined, info: NodeInfo, now: string): NodeStatusJson {
  let conditions = setCondition(prev?.conditions, { type: 'Ready', status: 'True', reason: 'AgentConnected', message: 'the node agent is connected' }, now);
  if (!conditionOf({ conditions }, 'DockerReady')) {
    conditions = setCondition(conditions, { type: 'DockerReady', status: 'Unknown', reason: 'NoHeartbeatYet', message: 'no heartbeat received yet' }, now);
  }
  const status: NodeStatusJson = {
    ...(prev ?? {}),
    conditions,
    capacity: nonEmpty(info.capacity as unknown as Record<string, unknown>),
    allocatable: nonEmpty(info.allocatable as unknown as Record<string, unknown>),
    dockerVersion: info.dockerVersion || undefined,
    addresses: info.addresses.length ? info.addresses.map((a) => ({ type: a.type, address: a.address })) : undefined,
    os: info.os || undefined,
    architecture: info.architecture || undefined,
    agentVersion: info.agentVersion || undefined,
    lastHeartbeatTime: now,
  };
  for (const k of Object.keys(status) as (keyof NodeStatusJson)[]) if (status[k] === undefined) delete status[k];
  return status;
}

/** The status with DockerReady set from a heartbeat, or undefined when the condition already says so. */
export function statusAfterDockerHealth(prev: NodeStatusJson | undefined, healthy: boolean, message: string, now: string): NodeStatusJson | undefined {
  const want = healthy ? 'True' : 'False';
  const cur = conditionOf(prev, 'DockerReady');
  if (cur?.status === want) return undefined;
  const conditions = setCondition(
    prev?.conditions,
    {
      type: 'DockerReady',
      status: want,
      reason: healthy ? 'DockerResponding' : 'DockerUnavailable',
      message: message || (healthy ? 'the Docker engine answers' : 'the Docker engine does not answer'),
    },
    now,
  );
  return { ...(prev ?? {}), conditions, lastHeartbeatTime: now };
}

/** The Node conditions an agent owns and reports in its heartbeats (service VIPs and DNS on the node). */
export const AGENT_CONDITION_TYPES: readonly string[] = ['ServiceVIPsReady', 'ServiceDNSReady'];

/**
 * The status with the agent-owned conditions of a heartbeat: those reported are set, those of
 * AGENT_CONDITION_TYPES not reported are removed (the feature is off now). Undefined when nothing changes.
 */
export function statusAfterAgentConditions(
  prev: NodeStatusJson | undefined,
  reported: readonly { type: string; status: string; reason: string; message: string }[],
  now: string,
): NodeStatusJson | undefined {
  const owned = reported.filter((c) => AGENT_CONDITION_TYPES.includes(c.type));
  let conditions = (prev?.conditions ?? []).filter((c) => !AGENT_CONDITION_TYPES.includes(c.type ?? '') || owned.some((o) => o.type === c.type));
  let changed = conditions.length !== (prev?.conditions ?? []).length;
  for (const c of owned) {
    const cur = conditionOf({ conditions }, c.type);
    if (cur && cur.status === c.status && cur.reason === c.reason && cur.message === c.message) continue;
    const status = c.status === 'True' || c.status === 'False' ? c.status : 'Unknown';
    conditions = setCondition(conditions, { type: c.type, status, reason: c.reason, message: c.message }, now);
    changed = true;
  }
  return changed ? { ...(prev ?? {}), conditions } : undefined;
}
