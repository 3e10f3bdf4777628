// Other API servers, for requests about a node whose agent stream another one holds: where the node's
// stream is (the annotation its session keeps on the node's Lease), and a client to that peer, which
// authenticates with this server's own certificate (O=system:apiservers).
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { AGENT_STREAM_SERVER_ANNOTATION } from '../../lib/api/annotations.js';
import { OperationsClient, SwarmOperationsClient } from '../../lib/gen/persys/v1/agent.js';
import { NODE_LEASE_NAMESPACE } from '../registry/bootstrap.js';
import type { ResourceStore } from '../registry/store.js';

/** Marks a relayed call, so the receiving API server answers it itself and never relays it again. */
export const RELAYED_HEADER = 'x-persys-relayed-by';

export class PeerApiServers {
  private creds: ChannelCredentials;
  private readonly swarmClients = new Map<string, SwarmOperationsClient>();
  private readonly operationsClients = new Map<string, OperationsClient>();

  constructor(
    private readonly store: Pick<ResourceStore, 'get'>,
    /** This server's own address, as its sessions write it. */
    readonly self: () => string,
    tls: { caPem: Buffer; certPem: Buffer; keyPem: Buffer },
  ) {
    this.creds = credentials.createSsl(tls.caPem, tls.keyPem, tls.certPem);
  }

  /** New credentials (a rotated serving certificate) for the clients made from now on; open ones are closed. */
  useCredentials(tls: { caPem: Buffer; certPem: Buffer; keyPem: Buffer }): void {
    this.creds = credentials.createSsl(tls.caPem, tls.keyPem, tls.certPem);
    this.close();
  }

  /** The peer holding `node`'s stream, or undefined when none is recorded or it is this server. */
  async holderOf(node: string): Promise<string | undefined> {
    const lease = await this.store.get('Lease', NODE_LEASE_NAMESPACE, node).catch(() => undefined);
    const address = lease?.metadata.annotations?.[AGENT_STREAM_SERVER_ANNOTATION];
    return address && address !== this.self() ? address : undefined;
  }

  swarm(address: string): SwarmOperationsClient {
    return this.client(this.swarmClients, address, SwarmOperationsClient);
  }

  operations(address: string): OperationsClient {
    return this.client(this.operationsClients, address, OperationsClient);
  }

  private client<C>(cache: Map<string, C>, address: string, Client: new (address: string, creds: ChannelCredentials, options: object) => C): C {
    let client = cache.get(address);
    if (!client) {
      client = new Client(address, this.creds, { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000 });
      cache.set(address, client);
    }
    return client;
  }

  close(): void {
    for (const cache of [this.swarmClients, this.operationsClients] as Map<string, { close(): void }>[]) {
      for (const c of cache.values()) c.close();
      cache.clear();
    }
  }
}
