// Validation of ObjectMeta and of label maps: object names, namespace scope, labels,
// annotations, finalizers and owner references, with Kubernetes' formats and limits.
import type { KindInfo } from '../../lib/api/kinds.js';
import type { ObjectMeta } from '../../lib/gen/persys/v1/meta.js';
import type { FieldErrors } from './errors.js';
import { fieldPath, itemPath } from './field-path.js';
import { dns1123LabelError, dns1123SubdomainError, labelValueError, qualifiedNameError } from './names.js';
import { checkName } from './rules.js';
import type { Conformed } from './schema.js';

const MAX_ANNOTATIONS_BYTES = 256 * 1024;
/** The server appends 5 random characters to generateName. */
const GENERATED_SUFFIX_LENGTH = 5;

/** Keys and values of a label map (metadata.labels, nodeSelector, matchLabels) at `path[key]`. */
export function validateLabels(labels: Record<string, string> | undefined, path: string, errs: FieldErrors): void {
  for (const [key, value] of Object.entries(labels ?? {})) {
    const p = itemPath(path, key);
    const keyReason = qualifiedNameError(key);
    if (keyReason) errs.add(p, `invalid key ${JSON.stringify(key)}: ${keyReason}`);
    const valueReason = labelValueError(value);
    if (valueReason) errs.add(p, `invalid value ${JSON.stringify(value)}: ${valueReason}`);
  }
}

export function validateAnnotations(annotations: Record<string, string> | undefined, path: string, errs: FieldErrors): void {
  let bytes = 0;
  for (const [key, value] of Object.entries(annotations ?? {})) {
    const keyReason = qualifiedNameError(key);
    if (keyReason) errs.add(itemPath(path, key), `invalid key ${JSON.stringify(key)}: ${keyReason}`);
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (bytes > MAX_ANNOTATIONS_BYTES) errs.add(path, `annotations are ${bytes} bytes, the limit is ${MAX_ANNOTATIONS_BYTES}`);
}

/** The metadata embedded in a template (ContainerSet template, CronJob jobTemplate): labels and annotations only. */
export function validateTemplateMeta(meta: Conformed<ObjectMeta> | undefined, path: string, errs: FieldErrors): void {
  validateLabels(meta?.labels, fieldPath(path, 'labels'), errs);
  validateAnnotations(meta?.annotations, fieldPath(path, 'annotations'), errs);
}

export function validateObjectMeta(meta: Conformed<ObjectMeta> | undefined, info: KindInfo, errs: FieldErrors): void {
  const m = meta ?? {};
  const nameFormat = info.kind === 'Namespace' ? dns1123LabelError : dns1123SubdomainError;
  if (m.name) checkName(errs, 'metadata.name', m.name, nameFormat);
  else if (!m.generateName) errs.add('metadata.name', 'required (or set metadata.generateName)');
  if (m.generateName) {
    // A trailing '-' is the usual separator before the random suffix.
    const prefix = m.generateName.replace(/-$/, '');
    const reason = nameFormat(prefix + 'x'.repeat(GENERATED_SUFFIX_LENGTH));
    if (reason || !prefix) errs.add('metadata.generateName', `${JSON.stringify(m.generateName)} ${reason ?? 'must not be empty'}`);
  }

  if (info.namespaced) checkName(errs, 'metadata.namespace', m.namespace, dns1123LabelError);
  else if (m.namespace) errs.add('metadata.namespace', `must be empty for cluster-scoped kind ${info.kind}`);

  validateLabels(m.labels, 'metadata.labels', errs);
  validateAnnotations(m.annotations, 'metadata.annotations', errs);

  (m.finalizers ?? []).forEach((f, i) => {
    const reason = f ? qualifiedNameError(f) : 'must not be empty';
    if (reason) errs.add(itemPath('metadata.finalizers', i), `${JSON.stringify(f)} ${reason}`);
  });

  const refs = m.ownerReferences ?? [];
  refs.forEach((ref, i) => {
    const p = itemPath('metadata.ownerReferences', i);
    for (const field of ['apiVersion', 'kind', 'name', 'uid'] as const) {
      if (!ref[field]) errs.add(fieldPath(p, field), 'required');
    }
  });
  if (refs.filter((r) => r.controller).length > 1) {
    errs.add('metadata.ownerReferences', 'only one reference can have controller set to true');
  }
}
