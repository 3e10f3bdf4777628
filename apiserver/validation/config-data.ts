// What Secrets and ConfigMaps share: base64 values and Kubernetes' size limit on their data.

/** Kubernetes' limit on a Secret's or ConfigMap's data, which also keeps one well inside an etcd value. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Standard base64 with padding, as Kubernetes accepts in Secret data and ConfigMap binaryData. */
export const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The size message both kinds use: the size found and the limit. */
export const sizeMessage = (what: string, bytes: number): string =>
  `${what} ${bytes} bytes, the limit is ${MAX_CONFIG_BYTES} bytes (1 MiB)`;
