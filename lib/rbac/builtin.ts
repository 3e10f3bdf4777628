// The ClusterRoles and ClusterRoleBindings every cluster starts with, as in Kubernetes: cluster-admin,
// admin, edit and view, and cluster-admin granted to the group system:masters. The API server keeps
// them as defined here unless an object is annotated persys.dev/autoupdate: "false".
import { API_VERSION, KINDS } from '../api/kinds.js';
import type { Resource } from '../api/resource.js';
import { RESOURCE_VERBS, SUBRESOURCES, type PolicyRule } from './rules.js';

export const ADMIN_GROUP = 'system:masters';
/** Added to every authenticated identity, as Kubernetes' system:authenticated. */
export const AUTHENTICATED_GROUP = 'system:authenticated';
export const SERVICE_ACCOUNT_USER_PREFIX = 'system:serviceaccount:';
export const SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';
export const AUTOUPDATE_ANNOTATION = 'persys.dev/autoupdate';
export const BOOTSTRAP_LABEL = 'persys.dev/bootstrapping';

const READ = ['get', 'list', 'watch'];
const WRITE = [...RESOURCE_VERBS];
const RBAC_PLURALS = ['roles', 'rolebindings'];
/** Kinds only the system writes and nobody needs to edit by hand. */
const SYSTEM_PLURALS = ['leases', 'controllerrevisions', 'events', 'endpointslices'];

const namespaced = KINDS.filter((k) => k.namespaced).map((k) => k.plural);
const withSubresources = (plurals: string[], keep: (sub: string) => boolean = () => true) =>
  plurals.flatMap((p) => [p, ...(SUBRESOURCES[p] ?? []).filter(keep).map((s) => `${p}/${s}`)]);

const userPlurals = namespaced.filter((p) => !RBAC_PLURALS.includes(p) && !SYSTEM_PLURALS.includes(p));

/** The rules of each built-in ClusterRole. */
export const BUILTIN_CLUSTER_ROLES: Readonly<Record<string, PolicyRule[]>> = {
  'cluster-admin': [{ verbs: ['*'], resources: ['*'] }],
  // Everything within a namespace, Roles and RoleBindings included (escalation checks still apply).
  admin: [
    // The resource verbs, not "*": that would include escalate and bind, which lift the escalation checks.
    { verbs: WRITE, resources: withSubresources(userPlurals.concat(RBAC_PLURALS)) },
    { verbs: READ, resources: SYSTEM_PLURALS },
  ],
  // Read and write workloads, config and secrets, exec and logs; not Roles or RoleBindings.
  edit: [
    { verbs: WRITE, resources: withSubresources(userPlurals, (s) => s !== 'status') },
    { verbs: READ, resources: [...SYSTEM_PLURALS, ...userPlurals.filter((p) => SUBRESOURCES[p]?.includes('status')).map((p) => `${p}/status`)] },
  ],
  // Read everything but Secrets, Roles and RoleBindings; logs included, exec not.
  view: [
    {
      verbs: READ,
      resources: [
        ...userPlurals.filter((p) => p !== 'secrets'),
        ...SYSTEM_PLURALS,
        ...withSubresources(userPlurals, (s) => s === 'status' || s === 'logs').filter((r) => r.includes('/')),
      ],
    },
  ],
};

/** The built-in objects, as the API server ensures them at start. */
export function builtinRbacObjects(): Resource[] {
  const meta = (name: string) => ({ name, labels: { [BOOTSTRAP_LABEL]: 'rbac-defaults' }, annotations: { [AUTOUPDATE_ANNOTATION]: 'true' } });
  return [
    ...Object.entries(BUILTIN_CLUSTER_ROLES).map(([name, rules]) => ({ apiVersion: API_VERSION, kind: 'ClusterRole', metadata: meta(name), rules })),
    {
      apiVersion: API_VERSION,
      kind: 'ClusterRoleBinding',
      metadata: meta('cluster-admin'),
      subjects: [{ kind: 'Group', name: ADMIN_GROUP }],
      roleRef: { kind: 'ClusterRole', name: 'cluster-admin' },
    },
  ];
}
