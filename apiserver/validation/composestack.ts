// Semantic validation of a ComposeStack: the inline compose file must parse into a project persys
// can run (lib/compose/parse.ts decides what that means), plus scale and placement.
import { parseComposeProject } from '../../lib/compose/parse.js';
import { stackFileKey } from '../../lib/compose/stack-files.js';
import type { Resource } from '../../lib/api/resource.js';
import type { ComposeStackSpec } from '../../lib/gen/persys/v1/workloads.js';
import { validateImagePullSecrets } from './container-spec.js';
import type { FieldErrors } from './errors.js';
import { fieldPath, itemPath } from './field-path.js';
import { validateLabels } from './metadata.js';
import { dns1123SubdomainError, envVarNameError } from './names.js';
import { checkName } from './rules.js';
import type { Conformed } from './schema.js';

const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** Problems in the compose file, each reported as the parser words it; returns the service names when it parses. */
function checkComposeFile(spec: Conformed<ComposeStackSpec>, projectName: string, report: (message: string) => void): Set<string> | undefined {
  const scale = Object.fromEntries(Object.entries(spec.scale ?? {}).filter((e): e is [string, number] => e[1] !== undefined));
  const env = Object.fromEntries(Object.entries(spec.env ?? {}).filter((e): e is [string, string] => e[1] !== undefined));
  const files = Object.fromEntries(Object.entries(spec.files ?? {}).filter((e): e is [string, string] => e[1] !== undefined));
  const result = parseComposeProject(spec.compose!, { projectName, env, scale, files });
  for (const message of result.errors) report(message);
  return result.project && new Set(result.project.services.map((s) => s.name));
}

export function validateComposeStack(obj: Resource, errs: FieldErrors): void {
  const spec: Conformed<ComposeStackSpec> = obj.spec ?? {};
  let services: Set<string> | undefined;
  if (!spec.compose) errs.add('spec.compose', 'required');
  else services = checkComposeFile(spec, spec.projectName || obj.metadata.name || 'default', (m) => errs.add('spec.compose', m));

  for (const [service, replicas] of Object.entries(spec.scale ?? {})) {
    const p = itemPath('spec.scale', service);
    if (replicas !== undefined && replicas < 0) errs.add(p, 'must be greater than or equal to 0');
    if (services && !services.has(service)) errs.add(p, `no service ${JSON.stringify(service)} in spec.compose`);
  }
  checkName(errs, 'spec.nodeName', spec.nodeName, dns1123SubdomainError);
  validateImagePullSecrets(spec.imagePullSecrets, 'spec.imagePullSecrets', errs);
  validateLabels(spec.nodeSelector, 'spec.nodeSelector', errs);
  for (const key of Object.keys(spec.env ?? {})) checkName(errs, itemPath('spec.env', key), key, envVarNameError);
  for (const path of Object.keys(spec.files ?? {})) {
    // The compose file names these relative to its own directory, which is the only one there is.
    if (path === '' || path.startsWith('/') || stackFileKey(path).split('/').includes('..')) {
      errs.add(itemPath('spec.files', path), `${JSON.stringify(path)} must be a relative path inside the project directory`);
    }
  }
  (spec.imagePullSecrets ?? []).forEach((ref, i) => {
    const p = fieldPath(itemPath('spec.imagePullSecrets', i), 'name');
    if (!ref?.name) errs.add(p, 'required');
    else checkName(errs, p, ref.name, dns1123SubdomainError);
  });
  if (spec.projectName && !PROJECT_NAME.test(spec.projectName)) {
    errs.add('spec.projectName', `${JSON.stringify(spec.projectName)} must be lowercase letters, digits, '-' and '_', starting with a letter or digit`);
  }
}
