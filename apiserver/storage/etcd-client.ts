// The etcd3 client the API server uses: keepalive, message limits, and fault handling in which only
// an unreachable member opens a breaker (etcd3's default counts e.g. RESOURCE_EXHAUSTED and ABORTED).
import { circuitBreaker, CircuitState, ConsecutiveBreaker, ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { Etcd3, GRPCUnavailableError, type IOptions } from 'etcd3';

/**
 * What the client accepts from etcd. Like kube-apiserver (math.MaxInt32) the bound on a response is
 * the page size, not the transport: a watch response carries every event of one transaction at once.
 */
export const ETCD_MAX_RECEIVE_BYTES = 2 ** 31 - 1;

/**
 * Whether an etcd call failed because the member could not be reached. Only these count toward a
 * member's breaker and are retried: an oversized, invalid or conflicting request says nothing about
 * the member, and etcd3's default (every "recoverable" code) let one bad list block every call.
 */
export function isUnavailable(err: Error): boolean {
  return err instanceof GRPCUnavailableError || (err as { code?: unknown }).code === 14;
}

/**
 * etcd's answers while the cluster elects a leader or is slow to commit. The member that says so is up:
 * counting them would open every survivor's breaker when the leader dies, and the API server would then
 * refuse all work for 5 s after a ~1 s election.
 */
const CLUSTER_BUSY = /etcdserver: (no leader|leader changed|request timed out)/;

/** Whether the member itself could not be reached: what opens its breaker. */
export function isMemberUnreachable(err: Error): boolean {
  return isUnavailable(err) && !CLUSTER_BUSY.test(err.message);
}

export type BreakerState = 'closed' | 'halfOpen' | 'open';
/** Told the state of a member's breaker when it is made and at every change (for metrics). */
export type BreakerStateListener = (member: string, state: BreakerState) => void;

/** Per member: open for 5 s after 3 consecutive connection failures (etcd3's default timing). */
export function memberBreaker(member = '', onState?: BreakerStateListener) {
  const breaker = circuitBreaker(handleWhen(isMemberUnreachable), { halfOpenAfter: 5_000, breaker: new ConsecutiveBreaker(3) });
  if (onState) {
    onState(member, 'closed');
    breaker.onStateChange((s) => onState(member, s === CircuitState.Closed ? 'closed' : s === CircuitState.HalfOpen ? 'halfOpen' : 'open'));
  }
  return breaker;
}

/** The fault handling for new Etcd3({ faultHandling }). */
export function faultHandling(onBreakerState?: BreakerStateListener): NonNullable<IOptions['faultHandling']> {
  return {
    host: (member) => memberBreaker(member, onBreakerState),
    // Each retry goes to another member, after 100 ms, then 200 ms …: about 1.5 s in all, the length of
    // an election at etcd's default timing. A request etcd refused is never sent again.
    global: retry(handleWhen(isUnavailable), { maxAttempts: 5, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 800 }) }),
    // watchBackoff: etcd3's default (exponential, at most 30 s).
  };
}

export function newEtcdClient(endpoints: string[], onBreakerState?: BreakerStateListener): Etcd3 {
  return new Etcd3({
    hosts: endpoints,
    faultHandling: faultHandling(onBreakerState),
    grpcOptions: {
      // etcd 3.4 rejects pings more often than every 5 s (GOAWAY too_many_pings), and does not
      // permit pings without an active call, so keep the defaults for those.
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.max_receive_message_length': ETCD_MAX_RECEIVE_BYTES,
    } as IOptions['grpcOptions'],
  });
}
