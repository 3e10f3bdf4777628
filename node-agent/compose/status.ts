// A ComposeStack's status from its services' states: phase, per-service counts and the Ready condition.
import type { Condition } from '../../lib/api/resource.js';
import { conditionOf, withTransitionTime } from '../../lib/api/conditions.js';
import type { ServiceState } from './plan.js';

export type ComposeStackPhase = 'Pending' | 'Running' | 'Degraded' | 'Failed';

export interface ComposeServiceStatus {
  name: string;
  desired: number;
  running: number;
  healthy: number;
  reason: string;
}

export interface ComposeStackStatus {
  phase: ComposeStackPhase;
  nodeName: string;
  observedGeneration: number;
  services: ComposeServiceStatus[];
  conditions: Condition[];
}

export interface StatusInput {
  node: string;
  generation: number;
  /** The planner's view; absent when the compose file could not be parsed. */
  services?: ServiceState[];
  parseErrors?: string[];
  /** The status last decided, so Ready's lastTransitionTime moves only when Ready does. */
  previous?: ComposeStackStatus;
  now: number;
}

const READY_REASON: Record<ComposeStackPhase, string> = {
  Running: 'AllServicesReady',
  Pending: 'ServicesStarting',
  Degraded: 'ServicesNotReady',
  Failed: 'InvalidComposeFile',
};

/**
 * Running: every service ready. Failed: the compose file cannot be run as given. Degraded: some
 * service needs attention (missing image, exit, unhealthy, failed create). Pending: still converging.
 */
export function stackStatus(input: StatusInput): ComposeStackStatus {
  const services = input.services ?? [];
  const phase: ComposeStackPhase = input.parseErrors?.length
    ? 'Failed'
    : services.every((s) => s.ready)
      ? 'Running'
      : services.some((s) => s.trouble)
        ? 'Degraded'
        : 'Pending';
  const message = input.parseErrors?.length
    ? input.parseErrors.join('; ')
    : services
        .filter((s) => !s.ready)
        .map((s) => `${s.name}: ${s.reason}`)
        .join('; ');
  const status = phase === 'Running' ? 'True' : 'False';
  const ready = withTransitionTime(
    conditionOf(input.previous?.conditions, 'Ready'),
    { type: 'Ready', status, reason: READY_REASON[phase], message },
    new Date(input.now).toISOString(),
  );
  return {
    phase,
    nodeName: input.node,
    observedGeneration: input.generation,
    services: services.map(({ name, desired, running, healthy, reason }) => ({ name, desired, running, healthy, reason })),
    conditions: [ready],
  };
}
