// The ConfigMaps and Secrets a ComposeStack reads: its imagePullSecrets, and the external configs and
// secrets of its compose file.
import type { ConfigRef, ConfigRefSet } from '../api/references.js';
import type { Resource } from '../api/resource.js';

export function composeStackReferences(stack: Resource, refs: ConfigRefSet): ConfigRef[] {
  for (const s of (stack.spec?.imagePullSecrets ?? []) as { name?: string }[]) refs.add('Secret', s?.name);
  return refs.list();
}
