// Two Docker engines in network namespaces that reach each other (forwarding allowed between them), each
// driven by a persys agent of one cluster: the setup and teardown the swarm e2e tests share.
import { TestCluster } from './cluster.js';
import { startSecondDocker, type SecondDocker, type SecondDockerOptions } from './docker.js';
import { allowForwarding } from './forwarding.js';

export interface EnginePair {
  a: SecondDocker;
  b: SecondDocker;
  cluster: TestCluster;
  /** Stops the cluster, makes both engines leave any swarm, and removes the engines and their forwarding. */
  stop(): Promise<void>;
}

export interface EnginePairOptions {
  /** Engines PREFIX-a and PREFIX-b, nodes PREFIX-node-a and PREFIX-node-b labelled zone=PREFIX-a / PREFIX-b. */
  prefix: string;
  /** The comment that marks this pair's forwarding rules. */
  forwardingComment: string;
  engine?: SecondDockerOptions;
  /** Runs once both engines are up, before the cluster starts (e.g. to tag images on them). */
  prepare?: (a: SecondDocker, b: SecondDocker) => Promise<void>;
}

export async function startEnginePair(opts: EnginePairOptions): Promise<EnginePair> {
  let a: SecondDocker | undefined;
  let b: SecondDocker | undefined;
  let cluster: TestCluster | undefined;
  let removeForwarding: (() => Promise<void>) | undefined;
  const stop = async () => {
    await cluster?.stop();
    for (const e of [b, a]) await e?.docker.swarmLeave({ force: true }).catch(() => undefined);
    await removeForwarding?.();
    await b?.stop();
    await a?.stop();
  };
  try {
    a = await startSecondDocker(`${opts.prefix}-a`, opts.engine);
    b = await startSecondDocker(`${opts.prefix}-b`, opts.engine);
    removeForwarding = await allowForwarding([a, b], opts.forwardingComment);
    await opts.prepare?.(a, b);
    cluster = await TestCluster.start({
      agents: [
        { name: `${opts.prefix}-node-a`, dockerHost: `unix://${a.socket}`, nodeIp: a.address, labels: { zone: `${opts.prefix}-a` } },
        { name: `${opts.prefix}-node-b`, dockerHost: `unix://${b.socket}`, nodeIp: b.address, labels: { zone: `${opts.prefix}-b` } },
      ],
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { a, b, cluster, stop };
}
