// A client for the SwarmOperations service over mTLS: one swarm operation on one node's engine,
// carried out by that node's agent. Errors are ApiErrors, as with ApiClient.
import { channelCredentials } from './credentials.js';
import { Metadata } from '@grpc/grpc-js';
import { SwarmOperationsClient as RawSwarmClient, type SwarmRequest, type SwarmResponse } from '../gen/persys/v1/agent.js';
import { ApiError } from './errors.js';
import type { ClientConfig } from './config.js';

export type SwarmOperation = NonNullable<SwarmRequest['operation']>;

export class SwarmClient {
  private readonly raw: RawSwarmClient;
  private readonly deadlineMs: number;

  constructor(config: ClientConfig, options: { deadlineMs?: number } = {}) {
    const creds = channelCredentials(config);
    this.raw = new RawSwarmClient(config.server, creds, { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000 });
    // A join waits for the swarm's raft to take the node in.
    this.deadlineMs = options.deadlineMs ?? 100_000;
  }

  /** Carries `operation` out on `node`'s engine. */
  call(node: string, operation: SwarmOperation, options: { deadlineMs?: number; registryAuth?: string } = {}): Promise<SwarmResponse> {
    const deadline = new Date(Date.now() + (options.deadlineMs ?? this.deadlineMs));
    return new Promise((resolve, reject) => {
      this.raw.call({ node, operation, registryAuth: options.registryAuth ?? '' }, new Metadata(), { deadline }, (err, res) => (err ? reject(ApiError.from(err)) : resolve(res)));
    });
  }

  close(): void {
    this.raw.close();
  }
}
