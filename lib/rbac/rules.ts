// What an RBAC rule grants, evaluated as Kubernetes does: verbs, resources ("containers",
// "containers/exec", "*", "*/status") and optional resource names. Pure functions, shared by the API
// server's authorizer, its validation of Roles, and the CLI.
import { KINDS } from '../api/kinds.js';

/** The verbs of the Resources API, as `persys auth can-i` and rules name them. */
export const RESOURCE_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const;
/** Verbs about RBAC itself: escalate (write a Role with rules one does not hold), bind, impersonate. */
export const SPECIAL_VERBS = ['escalate', 'bind', 'impersonate'] as const;
export const ALL_VERBS: readonly string[] = [...RESOURCE_VERBS, ...SPECIAL_VERBS];

/** Subresources beyond a kind's own verbs: status (kinds with a status), logs and exec, binding, token. */
export const SUBRESOURCES: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  KINDS.map((k) => {
    const subs: string[] = k.hasStatus ? ['status'] : [];
    if (k.kind === 'Container') subs.push('logs', 'exec', 'binding');
    if (k.kind === 'ComposeStack') subs.push('logs', 'exec');
    if (k.kind === 'ServiceAccount') subs.push('token');
    return [k.plural, subs];
  }),
);

/** Resources that are not kinds: what the impersonate verb applies to. */
export const PSEUDO_RESOURCES = ['users', 'groups'] as const;

/** Every resource a rule can name, subresources included ("containers", "containers/exec", "users"). */
export const KNOWN_RESOURCES: readonly string[] = [
  ...KINDS.flatMap((k) => [k.plural, ...(SUBRESOURCES[k.plural] ?? []).map((s) => `${k.plural}/${s}`)]),
  ...PSEUDO_RESOURCES,
];
const KNOWN = new Set(KNOWN_RESOURCES);
const KNOWN_SUBRESOURCES = new Set(Object.values(SUBRESOURCES).flat());

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}

/** One request as the authorizer sees it. `namespace` is '' for cluster-scoped kinds and for "every namespace". */
export interface AccessAttributes {
  verb: string;
  /** The plural ("containers"), or users/groups for impersonate. */
  resource: string;
  subresource?: string;
  namespace: string;
  name?: string;
}

export function combinedResource(a: Pick<AccessAttributes, 'resource' | 'subresource'>): string {
  return a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
}

export function ruleAllows(rule: PolicyRule, a: AccessAttributes): boolean {
  if (!rule.verbs.includes('*') && !rule.verbs.includes(a.verb)) return false;
  const combined = combinedResource(a);
  const resourceOk = (rule.resources ?? []).some(
    (r) => r === '*' || r === combined || (a.subresource !== undefined && r === `*/${a.subresource}`),
  );
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (a.name !== undefined && a.name !== '' && names.includes(a.name));
}

export function rulesAllow(rules: readonly PolicyRule[], a: AccessAttributes): boolean {
  return rules.some((r) => ruleAllows(r, a));
}

/** Problems with one rule, as [field, message] pairs relative to the rule. */
export function ruleProblems(rule: PolicyRule): [string, string][] {
  const out: [string, string][] = [];
  if (!rule.verbs?.length) out.push(['verbs', 'required: at least one verb, or "*"']);
  rule.verbs?.forEach((v, i) => {
    if (v !== '*' && !ALL_VERBS.includes(v)) out.push([`verbs[${i}]`, `unknown verb ${JSON.stringify(v)}: use one of ${ALL_VERBS.join(', ')}, or "*"`]);
  });
  rule.apiGroups?.forEach((g, i) => {
    if (!['', '*', 'persys.dev'].includes(g)) out.push([`apiGroups[${i}]`, `unsupported API group ${JSON.stringify(g)}: persys has one group; use "" (or leave apiGroups out)`]);
  });
  if (!rule.resources?.length) out.push(['resources', 'required: at least one resource such as "containers", or "*"']);
  rule.resources?.forEach((r, i) => {
    const problem = resourceProblem(r);
    if (problem) out.push([`resources[${i}]`, problem]);
  });
  return out;
}

function resourceProblem(r: string): string | undefined {
  if (r === '*' || KNOWN.has(r)) return undefined;
  if (r.startsWith('*/')) return KNOWN_SUBRESOURCES.has(r.slice(2)) ? undefined : `unknown subresource ${JSON.stringify(r.slice(2))}`;
  const [plural, sub] = r.split('/', 2);
  const kind = KINDS.find((k) => [k.kind, k.kind.toLowerCase(), k.singular, ...k.shortNames].includes(plural!) && k.plural !== plural);
  if (kind) return `unknown resource ${JSON.stringify(r)}: name kinds by their lowercase plural, ${JSON.stringify(sub ? `${kind.plural}/${sub}` : kind.plural)}`;
  if (sub !== undefined && KINDS.some((k) => k.plural === plural)) {
    const subs = SUBRESOURCES[plural!] ?? [];
    return `unknown subresource ${JSON.stringify(sub)} of ${plural}${subs.length ? `: it has ${subs.join(', ')}` : ''}`;
  }
  return `unknown resource ${JSON.stringify(r)}`;
}

/**
 * Every single permission a rule grants, wildcards spelled out, in the namespace given: what a writer
 * of a Role must hold itself (escalation prevention).
 */
export function expandRule(rule: PolicyRule, namespace: string): AccessAttributes[] {
  const verbs = rule.verbs.includes('*') ? ALL_VERBS : rule.verbs;
  const resources = new Set<string>();
  for (const r of rule.resources ?? []) {
    if (r === '*') KNOWN_RESOURCES.forEach((k) => resources.add(k));
    else if (r.startsWith('*/')) KNOWN_RESOURCES.filter((k) => k.endsWith(r.slice(1))).forEach((k) => resources.add(k));
    else resources.add(r);
  }
  const names = rule.resourceNames?.length ? rule.resourceNames : [undefined];
  const out: AccessAttributes[] = [];
  for (const verb of verbs) {
    for (const combined of resources) {
      const [resource, subresource] = combined.split('/', 2) as [string, string | undefined];
      for (const name of names) out.push({ verb, resource, subresource, namespace, name });
    }
  }
  return out;
}

/** "create containers/exec in namespace "a"", for messages. */
export function describeAccess(a: AccessAttributes): string {
  const what = `${a.verb} ${combinedResource(a)}${a.name ? ` "${a.name}"` : ''}`;
  const cluster = KINDS.find((k) => k.plural === a.resource)?.namespaced === false || (PSEUDO_RESOURCES as readonly string[]).includes(a.resource);
  if (a.namespace) return `${what} in namespace "${a.namespace}"`;
  return cluster ? `${what} (cluster-scoped)` : `${what} in all namespaces`;
}
