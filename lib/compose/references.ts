// The ConfigMaps and Secrets a ComposeStack reads: its imagePullSecrets, and the external configs and
// secrets of its compose file.
import type { ConfigRef, ConfigRefSet } from '../api/references.js';
import type { Resource } from '../api/resource.js';
import { parseComposeProject } from './parse.js';

export function composeStackReferences(stack: Resource, refs: ConfigRefSet): ConfigRef[] {
  const spec = stack.spec ?? {};
  for (const s of (spec.imagePullSecrets ?? []) as { name?: string }[]) refs.add('Secret', s?.name);
  if (typeof spec.compose === 'string') {
    // A file that does not parse runs nothing, so it reads nothing (its stack reports why).
    const { project } = parseComposeProject(spec.compose, {
      projectName: spec.projectName || stack.metadata.name || 'default',
      env: spec.env ?? {},
      scale: spec.scale ?? {},
      files: spec.files ?? {},
    });
    for (const service of project?.services ?? []) {
      for (const m of service.fileMounts) {
        if (m.source.kind !== 'inline') refs.add(m.source.kind, m.source.name);
      }
    }
  }
  return refs.list();
}
