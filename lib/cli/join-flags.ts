// The flags a node joins the cluster with, shared by `persys agent` and `persys hollow-nodes`.
import type { FlagSpecs } from './command.js';

export const JOIN_FLAGS: FlagSpecs = {
  token: { type: 'string', env: 'PERSYS_TOKEN', valueName: 'TOKEN', description: 'join token from `persys token create`' },
  'ca-cert-hash': {
    type: 'string',
    env: 'PERSYS_CA_CERT_HASH',
    valueName: 'sha256:HEX',
    description: 'hash of the cluster CA public key, pinned when joining',
  },
};
