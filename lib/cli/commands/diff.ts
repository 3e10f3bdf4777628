// `persys diff`: what `apply` would change, as a unified diff between each live object and the
// server's dry-run result. Exit codes follow kubectl: 0 no changes, 1 changes, 2 errors.
import YAML from 'yaml';
import type { Resource } from '../../api/resource.js';
import type { Command } from '../command.js';
import { str } from '../command.js';
import { unifiedDiff } from '../diff.js';
import { formatError, isNotFound } from '../errors.js';
import { FILE_FLAGS, manifestKind, manifestRef, readManifests } from '../manifests.js';
import { resourceName } from '../printers/output.js';
import { LAST_APPLIED_ANNOTATION } from './apply.js';

export const diffCommand: Command = {
  name: 'diff',
  usage: 'persys diff -f FILE|DIR|- [-R]',
  errorExitCode: 2,
  flags: {
    ...FILE_FLAGS,
    'field-manager': { type: 'string', valueName: 'NAME', default: 'persys', description: 'name recorded as the applier' },
  },
  async run(ctx) {
    const manifests = await readManifests(ctx, 'diff');
    const client = ctx.client();
    let changed = false;
    let errored = false;
    for (const m of manifests) {
      try {
        let live: Resource | undefined;
        if (m.name) {
          try {
            live = await client.get(manifestKind(m), m.name, m.namespace);
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
        const { object: merged } = await client.apply(m.text, { dryRun: true, fieldManager: str(ctx.flags, 'field-manager') });
        const ref = resourceName(merged);
        const [from, to] = maskSecretData(live, merged);
        const text = unifiedDiff(comparable(from, !live), comparable(to, !live), {
          fromLabel: `live/${ref}`,
          toLabel: `merged/${ref}`,
        });
        if (text) {
          changed = true;
          ctx.io.out(text.trimEnd());
        }
      } catch (err) {
        errored = true;
        ctx.io.err(formatError(err, ctx.config().server, `diffing ${manifestRef(m)} from "${m.source}"`));
      }
    }
    return errored ? 2 : changed ? 1 : 0;
  },
};

/** What a masked value shows (kubectl diff's words): equal values alike, changed ones as before/after. */
const MASK = '***';

/**
 * Copies of a Secret's two versions with every value of data and stringData masked, as kubectl diff
 * masks them: a value that changed still shows as a change ("*** (before)" → "*** (after)"), one that
 * did not is "***" on both sides, so a diff never prints a secret. Other kinds come back as they are.
 */
export function maskSecretData(from: Resource | undefined, to: Resource | undefined): [Resource | undefined, Resource | undefined] {
  if ((from ?? to)?.kind !== 'Secret') return [from, to];
  const a = from && structuredClone(from);
  const b = to && structuredClone(to);
  for (const field of ['data', 'stringData']) {
    const before = a?.[field] as Record<string, unknown> | undefined;
    const after = b?.[field] as Record<string, unknown> | undefined;
    for (const key of new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])) {
      const inBoth = before && after && key in before && key in after;
      const changed = inBoth && before[key] !== after[key];
      if (before && key in before) before[key] = changed ? `${MASK} (before)` : MASK;
      if (after && key in after) after[key] = changed ? `${MASK} (after)` : MASK;
    }
  }
  return [a, b];
}

/**
 * YAML of `obj` without the fields every write changes (resourceVersion, generation, timestamps,
 * the last-applied annotation) and, for an object about to be created, the uid a dry run invents.
 */
export function comparable(obj: Resource | undefined, creating: boolean): string {
  if (!obj) return '';
  const copy = structuredClone(obj);
  const meta = (copy.metadata ??= {}) as Record<string, any>;
  for (const f of ['resourceVersion', 'generation', 'creationTimestamp', 'managedFields']) delete meta[f];
  if (creating) delete meta.uid;
  if (meta.annotations) {
    delete meta.annotations[LAST_APPLIED_ANNOTATION];
    if (!Object.keys(meta.annotations).length) delete meta.annotations;
  }
  return YAML.stringify(copy, { sortMapEntries: true, lineWidth: 0 });
}
