// Which requests the audit log records, and how much of each: an ordered list of rules, the first
// that matches a request gives its level (None, Metadata, Request), as Kubernetes' audit policy.
import YAML from 'yaml';
import { findKind } from '../../lib/api/kinds.js';
import { ALL_VERBS } from '../../lib/rbac/rules.js';

export const AUDIT_LEVELS = ['None', 'Metadata', 'Request'] as const;
export type AuditLevel = (typeof AUDIT_LEVELS)[number];

export interface AuditRule {
  level: AuditLevel;
  /** RBAC verbs (get, list, watch, create, update, patch, delete); empty matches any. */
  verbs?: string[];
  /** Kind names ("Secret"); empty matches any. */
  kinds?: string[];
  namespaces?: string[];
  users?: string[];
  groups?: string[];
}

export interface AuditPolicy {
  rules: AuditRule[];
}

/** What a rule is matched against. */
export interface AuditSubject {
  user: string;
  groups: readonly string[];
  verb: string;
  kind: string;
  namespace: string;
}

/**
 * Without --audit-policy-file: every request at Metadata, except what the system repeats all day
 * (the controllers' and API servers' reads and their Lease and Event writes), which drowns the rest.
 * Agent heartbeats are not API requests and never reach the audit log.
 */
export const DEFAULT_AUDIT_POLICY: AuditPolicy = {
  rules: [
    { level: 'None', groups: ['system:controllers', 'system:apiservers'], verbs: ['get', 'list', 'watch'] },
    { level: 'None', groups: ['system:controllers'], kinds: ['Lease', 'Event'] },
    { level: 'Metadata' },
  ],
};

const RULE_FIELDS = new Set(['level', 'verbs', 'kinds', 'namespaces', 'users', 'groups']);

export class AuditPolicyError extends Error {
  override name = 'AuditPolicyError';
}

/** Parses a policy file's text; throws AuditPolicyError naming the file, the rule and the field. */
export function parseAuditPolicy(text: string, file: string): AuditPolicy {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    throw new AuditPolicyError(`${file}: not YAML: ${(err as Error).message}`);
  }
  const rules = (raw as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules) || rules.length === 0) throw new AuditPolicyError(`${file}: rules: required, a list of {level, verbs, kinds, namespaces, users, groups}`);
  const extra = Object.keys(raw as object).filter((k) => k !== 'rules' && k !== 'apiVersion' && k !== 'kind');
  if (extra.length) throw new AuditPolicyError(`${file}: unknown field ${JSON.stringify(extra[0])}: a policy has rules`);
  return { rules: rules.map((r, i) => parseRule(r, `${file}: rules[${i}]`)) };
}

function parseRule(raw: unknown, where: string): AuditRule {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new AuditPolicyError(`${where}: must be a mapping`);
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!RULE_FIELDS.has(k)) throw new AuditPolicyError(`${where}: unknown field ${JSON.stringify(k)} (known: ${[...RULE_FIELDS].join(', ')})`);
  if (!AUDIT_LEVELS.includes(r.level as AuditLevel)) throw new AuditPolicyError(`${where}.level: must be one of ${AUDIT_LEVELS.join(', ')}, got ${JSON.stringify(r.level)}`);
  const rule: AuditRule = { level: r.level as AuditLevel };
  for (const field of ['verbs', 'kinds', 'namespaces', 'users', 'groups'] as const) {
    const v = r[field];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new AuditPolicyError(`${where}.${field}: must be a list of strings`);
    rule[field] = v as string[];
  }
  rule.verbs?.forEach((v, i) => {
    if (!ALL_VERBS.includes(v)) throw new AuditPolicyError(`${where}.verbs[${i}]: unknown verb ${JSON.stringify(v)}`);
  });
  rule.kinds = rule.kinds?.map((k, i) => {
    const info = findKind(k);
    if (!info) throw new AuditPolicyError(`${where}.kinds[${i}]: unknown kind ${JSON.stringify(k)}`);
    return info.kind;
  });
  return rule;
}

const matches = (list: readonly string[] | undefined, value: string) => !list?.length || list.includes(value);

/** The level of the first rule matching `s`; None when no rule does. */
export function auditLevel(policy: AuditPolicy, s: AuditSubject): AuditLevel {
  for (const r of policy.rules) {
    if (!matches(r.verbs, s.verb) || !matches(r.kinds, s.kind) || !matches(r.namespaces, s.namespace) || !matches(r.users, s.user)) continue;
    if (r.groups?.length && !s.groups.some((g) => r.groups!.includes(g))) continue;
    return r.level;
  }
  return 'None';
}
