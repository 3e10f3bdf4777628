// How a ComposeStack object becomes a ComposeProject on the node: lib/compose/parse.ts with the
// stack's project name, env, scale and files, loaded on first use so the agent starts without it.
import type { ComposeStackObject } from '../../lib/api/typed.js';
import type { ParseComposeOptions, ParseComposeResult } from '../../lib/compose/model.js';

export type ParseStack = (stack: ComposeStackObject) => ParseComposeResult;

export function parseOptions(stack: ComposeStackObject): ParseComposeOptions {
  const spec = stack.spec ?? {};
  return {
    projectName: spec.projectName || stack.metadata.name || '',
    env: spec.env ?? {},
    scale: spec.scale ?? {},
    files: spec.files ?? {},
  };
}

/** The default ParseStack: lib/compose/parse.js's parseComposeProject, imported on first call of this. */
export async function loadDefaultParse(): Promise<ParseStack> {
  const mod = await import('../../lib/compose/parse.js');
  return (stack) => {
    const compose = stack.spec?.compose;
    // spec.compose may be structured (already-parsed YAML): the parser reads text.
    const text = typeof compose === 'string' ? compose : JSON.stringify(compose ?? {});
    return mod.parseComposeProject(text, parseOptions(stack));
  };
}
