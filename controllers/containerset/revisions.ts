// Which ControllerRevisions a ContainerSet keeps, pure: one per template it has rolled out (named
// SET-HASH), numbered in rollout order, the current one plus at most revisionHistoryLimit old ones.
import type { ContainerSetObject, ControllerRevisionObject } from '../../lib/api/typed.js';

/** Kubernetes' default for a Deployment's revisionHistoryLimit. */
export const DEFAULT_REVISION_HISTORY_LIMIT = 10;

export interface RevisionPlan {
  /** The current template's revision: create it, or renumber it when an undo brought it back. */
  upsert?: { name: string; revision: number; existing?: ControllerRevisionObject };
  /** Old revisions beyond the history limit, oldest first. */
  delete: string[];
}

export const revisionName = (setName: string, hash: string) => `${setName}-${hash}`;
export const revisionNumber = (r: ControllerRevisionObject) => Number(r.revision ?? 0);

export function planRevisions(set: ContainerSetObject, revisions: ControllerRevisionObject[], hash: string): RevisionPlan {
  const name = revisionName(set.metadata.name!, hash);
  const live = revisions.filter((r) => !r.metadata.deletionTimestamp);
  const highest = Math.max(0, ...live.map(revisionNumber));
  const current = live.find((r) => r.metadata.name === name);
  let upsert: RevisionPlan['upsert'];
  if (!current) upsert = { name, revision: highest + 1 };
  else if (revisionNumber(current) < highest) upsert = { name, revision: highest + 1, existing: current };

  const limitSpec = set.spec?.revisionHistoryLimit;
  const limit = limitSpec === undefined || limitSpec === null ? DEFAULT_REVISION_HISTORY_LIMIT : Number(limitSpec);
  const old = live.filter((r) => r.metadata.name !== name).sort((a, b) => revisionNumber(a) - revisionNumber(b));
  return { upsert, delete: old.slice(0, Math.max(0, old.length - limit)).map((r) => r.metadata.name!) };
}
