// The channel credentials every persys client uses: TLS against the cluster CA, then the client
// certificate, or a bearer token sent as "authorization: Bearer …" on every call.
import { readFileSync } from 'node:fs';
import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import type { ClientConfig } from './config.js';

export function channelCredentials(config: ClientConfig): ChannelCredentials {
  const ca = readFileSync(config.caCert);
  if (config.token && !(config.clientCert && config.clientKey)) {
    const token = config.token.trim();
    const bearer = credentials.createFromMetadataGenerator((_params, callback) => {
      const md = new Metadata();
      md.set('authorization', `Bearer ${token}`);
      callback(null, md);
    });
    return credentials.combineChannelCredentials(credentials.createSsl(ca), bearer);
  }
  return credentials.createSsl(ca, readFileSync(config.clientKey), readFileSync(config.clientCert));
}
