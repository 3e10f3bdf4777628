// Semantic validation of a ComposeStack: the inline compose file must be YAML with services that
// persys can run (an image each: there is no registry or builder), plus scale and placement.
import { parseDocument } from 'yaml';
import type { Resource } from '../../lib/api/resource.js';
import type { ComposeStackSpec } from '../../lib/gen/persys/v1/workloads.js';
import type { FieldErrors } from './errors.js';
import { itemPath } from './field-path.js';
import { validateLabels } from './metadata.js';
import { dns1123SubdomainError, envVarNameError } from './names.js';
import { checkName } from './rules.js';
import type { Conformed } from './schema.js';

const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Problems in a compose file, each as "services.web: …"; returns the service names it found. */
function checkComposeFile(text: string, report: (message: string) => void): Set<string> | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    // yaml's first message line carries the reason and "at line N, column M".
    for (const e of doc.errors) report(`invalid YAML: ${e.message.split('\n')[0]!.replace(/:$/, '')}`);
    return undefined;
  }
  let compose: unknown;
  try {
    compose = doc.toJS();
  } catch (e) {
    // e.g. yaml's guard against alias bombs
    report(`invalid YAML: ${(e as Error).message}`);
    return undefined;
  }
  if (!isMapping(compose)) {
    report('must be a YAML mapping (a compose file)');
    return undefined;
  }
  const services = compose['services'];
  if (!isMapping(services) || Object.keys(services).length === 0) {
    report('services: must be a non-empty mapping of service names to services');
    return undefined;
  }
  for (const [name, svc] of Object.entries(services)) {
    if (!isMapping(svc)) {
      report(`services.${name}: must be a mapping`);
      continue;
    }
    if (typeof svc['image'] !== 'string' || svc['image'] === '') {
      report(svc['build'] !== undefined ? `services.${name}: image is required (persys cannot build images)` : `services.${name}: image is required`);
    }
  }
  return new Set(Object.keys(services));
}

export function validateComposeStack(obj: Resource, errs: FieldErrors): void {
  const spec: Conformed<ComposeStackSpec> = obj.spec ?? {};
  let services: Set<string> | undefined;
  if (!spec.compose) errs.add('spec.compose', 'required');
  else services = checkComposeFile(spec.compose, (m) => errs.add('spec.compose', m));

  for (const [service, replicas] of Object.entries(spec.scale ?? {})) {
    const p = itemPath('spec.scale', service);
    if (replicas !== undefined && replicas < 0) errs.add(p, 'must be greater than or equal to 0');
    if (services && !services.has(service)) errs.add(p, `no service ${JSON.stringify(service)} in spec.compose`);
  }
  checkName(errs, 'spec.nodeName', spec.nodeName, dns1123SubdomainError);
  validateLabels(spec.nodeSelector, 'spec.nodeSelector', errs);
  for (const key of Object.keys(spec.env ?? {})) checkName(errs, itemPath('spec.env', key), key, envVarNameError);
  if (spec.projectName && !PROJECT_NAME.test(spec.projectName)) {
    errs.add('spec.projectName', `${JSON.stringify(spec.projectName)} must be lowercase letters, digits, '-' and '_', starting with a letter or digit`);
  }
}
