// The etcd3 client the API server uses: keepalive, message limits, and fault handling in which only
// an unreachable member opens a breaker (etcd3's default counts e.g. RESOURCE_EXHAUSTED and ABORTED).
import { circuitBreaker, ConsecutiveBreaker, handleWhen, retry } from 'cockatiel';
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

/** Per member: open for 5 s after 3 consecutive connection failures (etcd3's default timing). */
export function memberBreaker() {
  return circuitBreaker(handleWhen(isUnavailable), { halfOpenAfter: 5_000, breaker: new ConsecutiveBreaker(3) });
}

/** The fault handling for new Etcd3({ faultHandling }). */
export function faultHandling(): NonNullable<IOptions['faultHandling']> {
  return {
    host: () => memberBreaker(),
    // Each retry goes to another member; a request etcd refused is never sent again.
    global: retry(handleWhen(isUnavailable), { maxAttempts: 3 }),
    // watchBackoff: etcd3's default (exponential, at most 30 s).
  };
}

export function newEtcdClient(endpoints: string[]): Etcd3 {
  return new Etcd3({
    hosts: endpoints,
    faultHandling: faultHandling(),
    grpcOptions: {
      // etcd 3.4 rejects pings more often than every 5 s (GOAWAY too_many_pings), and does not
      // permit pings without an active call, so keep the defaults for those.
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.max_receive_message_length': ETCD_MAX_RECEIVE_BYTES,
    } as IOptions['grpcOptions'],
  });
}
