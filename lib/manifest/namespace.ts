// Gives manifests of namespaced kinds the namespace chosen on the command line when they name none,
// editing the document rather than rebuilding it so fields unknown to the CLI still reach the server.
import YAML from 'yaml';
import { findKind } from '../api/kinds.js';
import { ManifestError, type Manifest } from './load.js';

export interface NamespaceOptions {
  /** Set when the namespace came from an explicit -n: a manifest naming another one is an error (as in kubectl). */
  enforce?: boolean;
}

/** Returns `m` with metadata.namespace set to `namespace` if its kind is namespaced and it has none. */
export function withDefaultNamespace(m: Manifest, namespace: string, opts: NamespaceOptions = {}): Manifest {
  const info = findKind(m.kind);
  if (!info?.namespaced) return m;
  if (m.namespace) {
    if (opts.enforce && m.namespace !== namespace) {
      throw new ManifestError(
        m.source,
        m.line,
        `the namespace from the provided object "${m.namespace}" does not match the namespace "${namespace}". ` +
          `You must pass '--namespace=${m.namespace}' to perform this operation.`,
      );
    }
    return m;
  }
  const doc = YAML.parseDocument(m.text);
  doc.setIn(['metadata', 'namespace'], namespace);
  const object = { ...m.object, metadata: { ...(m.object.metadata ?? {}), namespace } };
  return { ...m, text: doc.toString(), namespace, object };
}
