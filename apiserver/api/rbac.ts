// Role-based access control over the watch caches of Roles, ClusterRoles and their bindings: who may
// do what, answered from memory. Decisions are cached until any of those objects changes.
import type { Logger } from 'pino';
import type { Resource } from '../../lib/api/resource.js';
import type { Identity } from '../../lib/pki/index.js';
import { ADMIN_GROUP, AUTHENTICATED_GROUP, SERVICE_ACCOUNT_USER_PREFIX } from '../../lib/rbac/builtin.js';
import { describeAccess, expandRule, rulesAllow, type AccessAttributes, type PolicyRule } from '../../lib/rbac/rules.js';
import type { WatchCache } from '../watch/cache.js';

/**
 * Groups allowed everything without consulting RBAC: the admin, the controllers, and API servers relaying
 * a call another API server authorized (the authz interceptor confines the last two to their services).
 */
const UNRESTRICTED_GROUPS = new Set([ADMIN_GROUP, 'system:controllers', 'system:apiservers']);
const RBAC_KINDS = ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'] as const;
/** Bound on remembered decisions: beyond it the memo starts over (a cheap LRU substitute). */
const MAX_MEMO = 50_000;

export interface AccessDecision {
  allowed: boolean;
  /** What allowed it ("ClusterRoleBinding "x" of ClusterRole "edit""), or what is missing. */
  reason: string;
}

interface RoleRef {
  kind: 'Role' | 'ClusterRole';
  name: string;
  binding: string;
}

interface Index {
  clusterRoles: Map<string, PolicyRule[]>;
  roles: Map<string, PolicyRule[]>;
  /** Subject key ("User:alice", "Group:dev", "ServiceAccount:ns/name") → ClusterRoles granted everywhere. */
  clusterGrants: Map<string, RoleRef[]>;
  /** Namespace → subject key → roles granted in that namespace. */
  namespaceGrants: Map<string, Map<string, RoleRef[]>>;
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

/** The subject keys an identity matches, its implicit groups included. */
export function subjectKeys(id: Identity): string[] {
  const keys = [`User:${id.user}`, `Group:${AUTHENTICATED_GROUP}`, ...id.groups.map((g) => `Group:${g}`)];
  if (id.user.startsWith(SERVICE_ACCOUNT_USER_PREFIX)) {
    const [ns, name] = id.user.slice(SERVICE_ACCOUNT_USER_PREFIX.length).split(':', 2);
    if (ns && name) keys.push(`ServiceAccount:${ns}/${name}`);
  }
  return keys;
}

function subjectKey(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `ServiceAccount:${s.namespace || bindingNamespace}/${s.name}`;
  return `${s.kind}:${s.name}`;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export class RbacAuthorizer {
  private index: Index | undefined;
  private memo = new Map<string, AccessDecision>();
  private readonly closers: (() => void)[] = [];

  constructor(
    private readonly caches: (kind: string) => WatchCache,
    private readonly log: Logger,
  ) {}

  /** Follows the RBAC caches (they must be started) and forgets decisions whenever one changes. */
  start(): void {
    for (const kind of RBAC_KINDS) this.follow(this.caches(kind));
  }

  stop(): void {
    for (const close of this.closers.splice(0)) close();
  }

  private follow(cache: WatchCache): void {
    let stopped = false;
    let w: ReturnType<WatchCache['watch']>;
    try {
      w = cache.watch({ fromRevision: cache.currentRevision() });
    } catch (err) {
      this.log.debug({ err }, 'RBAC cache unavailable; not following it');
      return;
    }
    this.closers.push(() => {
      stopped = true;
      w.close();
    });
    this.invalidate();
    void (async () => {
      let failed = false;
      try {
        for await (const _ of w.events) this.invalidate();
      } catch (err) {
        failed = true;
        if (!stopped) this.log.warn({ err }, 'RBAC cache watch ended; following again');
      }
      // A watch that ends cleanly was closed (stop(), or the cache stopped); only a failure re-opens.
      if (failed && !stopped) this.follow(cache);
    })();
  }

  private invalidate(): void {
    this.index = undefined;
    this.memo = new Map();
  }

  /** Whether `id` may do `a`. Unrestricted groups (system:masters, system:controllers) always may. */
  authorize(id: Identity, a: AccessAttributes): AccessDecision {
    if (id.groups.some((g) => UNRESTRICTED_GROUPS.has(g))) return { allowed: true, reason: `member of ${id.groups.find((g) => UNRESTRICTED_GROUPS.has(g))}` };
    const memoKey = `${id.user}\0${id.groups.join(',')}\0${a.verb}\0${a.resource}\0${a.subresource ?? ''}\0${a.namespace}\0${a.name ?? ''}`;
    let decision = this.memo.get(memoKey);
    if (!decision) {
      decision = this.decide(id, a);
      if (this.memo.size >= MAX_MEMO) this.memo = new Map();
      this.memo.set(memoKey, decision);
    }
    return decision;
  }

  private decide(id: Identity, a: AccessAttributes): AccessDecision {
    const index = (this.index ??= this.buildIndex());
    const keys = subjectKeys(id);
    for (const key of keys) {
      for (const ref of index.clusterGrants.get(key) ?? []) {
        if (rulesAllow(index.clusterRoles.get(ref.name) ?? [], a)) return { allowed: true, reason: `ClusterRoleBinding "${ref.binding}" of ClusterRole "${ref.name}"` };
      }
    }
    if (a.namespace) {
      const grants = index.namespaceGrants.get(a.namespace);
      for (const key of grants ? keys : []) {
        for (const ref of grants!.get(key) ?? []) {
          const rules = ref.kind === 'Role' ? index.roles.get(`${a.namespace}/${ref.name}`) : index.clusterRoles.get(ref.name);
          if (rules && rulesAllow(rules, a)) return { allowed: true, reason: `RoleBinding "${a.namespace}/${ref.binding}" of ${ref.kind} "${ref.name}"` };
        }
      }
    }
    return { allowed: false, reason: `${describeIdentity(id)} cannot ${describeAccess(a)}: no Role or ClusterRole bound to it allows that` };
  }

  private buildIndex(): Index {
    const objects = (kind: string): Resource[] => this.caches(kind).unorderedSnapshot().objects;
    const index: Index = { clusterRoles: new Map(), roles: new Map(), clusterGrants: new Map(), namespaceGrants: new Map() };
    for (const r of objects('ClusterRole')) index.clusterRoles.set(r.metadata.name!, (r['rules'] ?? []) as PolicyRule[]);
    for (const r of objects('Role')) index.roles.set(`${r.metadata.namespace}/${r.metadata.name}`, (r['rules'] ?? []) as PolicyRule[]);
    for (const b of objects('ClusterRoleBinding')) {
      const ref = b['roleRef'] as { name: string };
      for (const s of (b['subjects'] ?? []) as Subject[]) push(index.clusterGrants, subjectKey(s, ''), { kind: 'ClusterRole', name: ref.name, binding: b.metadata.name! });
    }
    for (const b of objects('RoleBinding')) {
      const ns = b.metadata.namespace!;
      const ref = b['roleRef'] as { kind: 'Role' | 'ClusterRole'; name: string };
      let grants = index.namespaceGrants.get(ns);
      if (!grants) index.namespaceGrants.set(ns, (grants = new Map()));
      for (const s of (b['subjects'] ?? []) as Subject[]) push(grants, subjectKey(s, ns), { kind: ref.kind, name: ref.name, binding: b.metadata.name! });
    }
    return index;
  }

  /** The rules of the role a binding refers to, or undefined when it does not exist (yet). */
  roleRules(ref: { kind: string; name: string }, namespace: string): PolicyRule[] | undefined {
    const index = (this.index ??= this.buildIndex());
    return ref.kind === 'Role' ? index.roles.get(`${namespace}/${ref.name}`) : index.clusterRoles.get(ref.name);
  }

  /**
   * Escalation prevention, as Kubernetes: `id` may write a Role or ClusterRole only with rules it holds
   * itself (or with the escalate verb on it), and a binding only to a role whose rules it holds (or with
   * the bind verb on that role). Returns what is missing, or undefined.
   */
  escalationProblem(id: Identity, obj: Resource): string | undefined {
    if (id.groups.some((g) => UNRESTRICTED_GROUPS.has(g))) return undefined;
    const namespace = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    let rules: PolicyRule[] | undefined;
    let override: AccessAttributes;
    if (obj.kind === 'Role' || obj.kind === 'ClusterRole') {
      rules = (obj['rules'] ?? []) as PolicyRule[];
      override = { verb: 'escalate', resource: obj.kind === 'Role' ? 'roles' : 'clusterroles', namespace, name };
    } else if (obj.kind === 'RoleBinding' || obj.kind === 'ClusterRoleBinding') {
      const ref = obj['roleRef'] as { kind: string; name: string };
      rules = this.roleRules(ref, namespace);
      override = { verb: 'bind', resource: ref.kind === 'Role' ? 'roles' : 'clusterroles', namespace: ref.kind === 'Role' ? namespace : '', name: ref.name };
      if (!rules && !this.authorize(id, override).allowed) return `${ref.kind} "${ref.name}" does not exist; only a holder of the bind verb on it may bind it before it exists`;
      if (!rules) return undefined;
    } else {
      return undefined;
    }
    if (this.authorize(id, override).allowed) return undefined;
    for (const rule of rules) {
      for (const a of expandRule(rule, namespace)) {
        if (!this.authorize(id, a).allowed) {
          return `${describeIdentity(id)} may not grant permissions it does not hold: ${describeAccess(a)} (the ${override.verb} verb on ${override.resource} allows it)`;
        }
      }
    }
    return undefined;
  }
}

export function describeIdentity(id: Identity): string {
  if (id.user.startsWith(SERVICE_ACCOUNT_USER_PREFIX)) return `ServiceAccount "${id.user.slice(SERVICE_ACCOUNT_USER_PREFIX.length).replace(':', '/')}"`;
  return `User "${id.user}"${id.groups.length ? ` (groups ${id.groups.join(', ')})` : ''}`;
}
