// Agents.Join, served alone on the join port (TLS without client certificates): a valid join token
// buys a node client certificate (CN system:node:NAME, O system:nodes) for the CSR's key.
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { JoinRequest, JoinResponse } from '../../lib/gen/persys/v1/agent.js';
import { ApiStatusError, toServiceError } from '../api/status.js';
import type { CertBundle } from '../../lib/pki/index.js';
import type { ResourceStore } from '../registry/store.js';
import { dns1123SubdomainError } from '../validation/names.js';
import { signNodeCertificate } from './node-signer.js';
import { JoinTokenError, verifyJoinToken } from './tokens.js';

export interface JoinDeps {
  store: ResourceStore;
  /** The cluster CA with its key; undefined when this API server cannot sign (no --ca-key). */
  ca: CertBundle | undefined;
  log: Logger;
  /** Lifetime of the node certificates signed. @default 30 days */
  nodeCertTtlSeconds?: number;
}

export async function joinNode(deps: JoinDeps, req: JoinRequest): Promise<JoinResponse> {
  try {
    await verifyJoinToken(deps.store, req.token);
  } catch (err) {
    if (err instanceof JoinTokenError) throw new ApiStatusError(Code.UNAUTHENTICATED, err.message);
    throw err;
  }
  const nameError = dns1123SubdomainError(req.nodeName);
  if (!req.nodeName || nameError) throw new ApiStatusError(Code.INVALID_ARGUMENT, `node_name: ${req.nodeName ? nameError : 'required'}`);
  const certificatePem = await signNodeCertificate({ store: deps.store, ca: deps.ca, ttlSeconds: deps.nodeCertTtlSeconds }, req.nodeName, req.csrPem, {
    identity: 'system:join',
  });
  return { certificatePem, caCertificatePem: deps.ca!.certPem };
}

export function joinService(deps: JoinDeps): UntypedServiceImplementation {
  return {
    join: (call: ServerUnaryCall<JoinRequest, JoinResponse>, callback: sendUnaryData<JoinResponse>) => {
      const node = call.request.nodeName;
      joinNode(deps, call.request).then(
        (res) => {
          deps.log.info({ node, peer: call.getPeer() }, 'node joined: certificate issued');
          callback(null, res);
        },
        (err: unknown) => {
          const se = toServiceError(err);
          if (se.code === Code.INTERNAL) deps.log.error({ err, node }, 'join failed');
          else deps.log.warn({ node, peer: call.getPeer(), reason: se.details }, 'join refused');
          callback(se);
        },
      );
    },
  };
}
