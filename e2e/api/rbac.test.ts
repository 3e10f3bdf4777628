// Access control end to end, on a real API server: a user confined to namespace "a" by a RoleBinding
// of the built-in edit ClusterRole, the same for a ServiceAccount's bearer token (through the CLI's
// client and a plain gRPC client), escalation prevention, can-i, and bad credentials refused with
// UNAUTHENTICATED saying which check failed.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { credentials, Metadata, status as Code, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { toWire, type Resource } from '../../lib/api/resource.js';
import { ApiClient } from '../../lib/client/client.js';
import type { ClientConfig } from '../../lib/client/config.js';
import { ApiError } from '../../lib/client/errors.js';
import { OperationsClient } from '../../lib/client/operations.js';
import { ResourcesClient } from '../../lib/gen/persys/v1/api.js';
import { createCa, issueCertificate, type CertBundle } from '../../lib/pki/index.js';
import { ServiceAccountTokens } from '../../apiserver/api/sa-tokens.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { runPersys } from '../harness/run-persys.js';

let api: TestApiServer;
let dir: string;
let clusterCa: CertBundle;
const clients: { close(): void }[] = [];

const obj = (kind: string, namespace: string | undefined, name: string, extra: Record<string, unknown> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind,
  metadata: namespace ? { name, namespace } : { name },
  ...extra,
});
const configMap = (namespace: string, name: string) => obj('ConfigMap', namespace, name, { data: { k: 'v' } });
const bindEdit = (namespace: string, name: string, subject: Record<string, string>) =>
  obj('RoleBinding', namespace, name, { subjects: [subject], roleRef: { kind: 'ClusterRole', name: 'edit' } });

async function userClient(user: string, groups: string[]): Promise<ApiClient> {
  const cert = await issueCertificate(clusterCa, { commonName: user, organizations: groups, usage: 'client' });
  writeFileSync(join(dir, `${user}.crt`), cert.certPem);
  writeFileSync(join(dir, `${user}.key`), cert.keyPem);
  const c = new ApiClient({ ...api.config, clientCert: join(dir, `${user}.crt`), clientKey: join(dir, `${user}.key`) });
  clients.push(c);
  return c;
}

function tokenConfig(token: string): ClientConfig {
  return { server: api.config.server, caCert: api.config.caCert, clientCert: '', clientKey: '', token, namespace: 'a' };
}

function tokenClient(token: string): ApiClient {
  const c = new ApiClient(tokenConfig(token));
  clients.push(c);
  return c;
}

/**
 * Waits until the API server's RBAC view grants `user` the permission: bindings take effect when the
 * server's watch cache has them, milliseconds after the write (as in Kubernetes), not at once.
 */
async function untilAllowed(user: string, groups: string[], verb: string, resource: string, namespace: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    if ((await api.client.checkAccess({ verb, resource, namespace, user, groups })).allowed) return;
  }
  throw new Error(`${user} was not allowed to ${verb} ${resource} in ${namespace} within 10 s`);
}

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call must be refused').toBeInstanceOf(ApiError);
  return err as ApiError;
}

/** Objects a watch delivers within `ms`, or the error that ended it. */
async function watchFor(client: ApiClient, kind: string, namespace: string, ms: number): Promise<Resource[] | ApiError> {
  const seen: Resource[] = [];
  const signal = AbortSignal.timeout(ms);
  try {
    for await (const ev of client.watch(kind, { namespace, signal })) if (ev.object) seen.push(ev.object);
    return seen;
  } catch (err) {
    if (err instanceof ApiError) return err;
    if (signal.aborted) return seen;
    throw err;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'persys-rbac-'));
  // Everything at level Request, so the test also sees that a Secret's body never reaches the log.
  writeFileSync(join(dir, 'audit-policy.yaml'), 'rules:\n  - level: None\n    kinds: [Lease]\n  - level: Request\n');
  api = await startTestApiServer(inject('etcdEndpoint'), {
    serverOptions: { auditLogPath: join(dir, 'audit.log'), auditPolicyFile: join(dir, 'audit-policy.yaml') },
  });
  clusterCa = { certPem: readFileSync(api.pki.caCert, 'utf8'), keyPem: readFileSync(api.pki.caKey, 'utf8') };
  for (const ns of ['a', 'b']) await api.client.create(obj('Namespace', undefined, ns));
  await api.client.create(configMap('b', 'in-b'));
  await api.client.create(bindEdit('a', 'alice-edits-a', { kind: 'User', name: 'alice' }));
  await untilAllowed('alice', ['dev'], 'create', 'configmaps', 'a');
});

afterAll(async () => {
  for (const c of clients) c.close();
  await api?.stop();
});

describe('built-in roles', () => {
  it('creates cluster-admin, admin, edit and view, and binds cluster-admin to system:masters', async () => {
    const names = (await api.client.list('ClusterRole')).items.map((r) => r.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['cluster-admin', 'admin', 'edit', 'view']));
    const binding = await api.client.get('ClusterRoleBinding', 'cluster-admin');
    expect(binding['subjects']).toEqual([{ kind: 'Group', name: 'system:masters' }]);
  });

  it('refuses a rule naming an unknown resource or verb, naming the field', async () => {
    const bad = obj('Role', 'a', 'bad', { rules: [{ verbs: ['get', 'fly'], resources: ['Container'] }] });
    const err = await refusal(api.client.create(bad));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain('rules[0].verbs[1]');
    expect(err.message).toContain('rules[0].resources[0]');
    expect(err.message).toContain('"containers"');
  });
});

describe('a user confined to namespace a by a RoleBinding of edit', () => {
  let alice: ApiClient;
  beforeAll(async () => {
    alice = await userClient('alice', ['dev']);
  });

  it('creates and reads in a', async () => {
    await alice.apply(configMap('a', 'from-alice'));
    expect((await alice.get('ConfigMap', 'from-alice', 'a')).metadata.name).toBe('from-alice');
    expect((await alice.list('ConfigMap', { namespace: 'a' })).items.map((i) => i.metadata.name)).toContain('from-alice');
  });

  it('is refused applying in b with PERMISSION_DENIED naming the verb, kind and namespace, and nothing is stored', async () => {
    const err = await refusal(alice.apply(configMap('b', 'from-alice')));
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.message).toContain('User "alice"');
    expect(err.message).toMatch(/create configmaps "from-\w+" in namespace "b"/);
    expect((await api.client.list('ConfigMap', { namespace: 'b' })).items.map((i) => i.metadata.name)).toEqual(['in-b']);
  });

  it('cannot read, list or delete in b', async () => {
    expect((await refusal(alice.get('ConfigMap', 'in-b', 'b'))).code).toBe(Code.PERMISSION_DENIED);
    expect((await refusal(alice.list('ConfigMap', { namespace: 'b' }))).code).toBe(Code.PERMISSION_DENIED);
    expect((await refusal(alice.delete('ConfigMap', 'in-b', 'b'))).code).toBe(Code.PERMISSION_DENIED);
    expect((await api.client.get('ConfigMap', 'in-b', 'b')).metadata.name).toBe('in-b');
  });

  it('is refused a list or a watch across all namespaces, and a watch of a carries only a objects', async () => {
    const list = await refusal(alice.list('ConfigMap'));
    expect(list.code).toBe(Code.PERMISSION_DENIED);
    expect(list.message).toContain('list configmaps in all namespaces');
    // The refusal comes at once; the long window only keeps a loaded machine from cutting it off.
    const everywhere = await watchFor(alice, 'ConfigMap', '', 15_000);
    expect(everywhere).toBeInstanceOf(ApiError);
    expect((everywhere as ApiError).code).toBe(Code.PERMISSION_DENIED);
    const inA = await watchFor(alice, 'ConfigMap', 'a', 1_500);
    expect(Array.isArray(inA)).toBe(true);
    const namespaces = new Set((inA as Resource[]).map((o) => o.metadata.namespace));
    expect([...namespaces]).toEqual(['a']);
  });

  it('is refused exec into b, and may ask for exec in a', async () => {
    const ops = new OperationsClient({ ...alice.config });
    clients.push(ops);
    const inB = await ops.exec('web', ['true'], { namespace: 'b' }).then(
      () => undefined,
      (e: ApiError) => e,
    );
    expect(inB?.code).toBe(Code.PERMISSION_DENIED);
    expect(inB?.message).toContain('create containers/exec "web" in namespace "b"');
    // Allowed in a: the refusal is about the missing Container, not about access.
    const inA = await ops.exec('web', ['true'], { namespace: 'a' }).then(
      () => undefined,
      (e: ApiError) => e,
    );
    expect(inA?.code).toBe(Code.NOT_FOUND);
  });

  it('answers can-i for itself, and for others only with impersonation rights', async () => {
    expect((await alice.checkAccess({ verb: 'create', resource: 'configmaps', namespace: 'a' })).allowed).toBe(true);
    expect((await alice.checkAccess({ verb: 'create', resource: 'cm', namespace: 'b' })).allowed).toBe(false);
    expect((await alice.checkAccess({ verb: 'create', resource: 'containers', subresource: 'exec', namespace: 'a' })).allowed).toBe(true);
    expect((await alice.checkAccess({ verb: 'create', resource: 'roles', namespace: 'a' })).allowed).toBe(false);
    expect((await refusal(alice.checkAccess({ verb: 'get', resource: 'secrets', namespace: 'b', user: 'bob' }))).code).toBe(Code.PERMISSION_DENIED);
    const asAlice = await api.client.checkAccess({ verb: 'delete', resource: 'configmaps', namespace: 'a', user: 'alice', groups: ['dev'] });
    expect(asAlice).toMatchObject({ allowed: true, user: 'alice' });
  });
});

describe('escalation prevention', () => {
  let bob: ApiClient;
  beforeAll(async () => {
    await api.client.create(obj('RoleBinding', 'a', 'bob-admin', { subjects: [{ kind: 'User', name: 'bob' }], roleRef: { kind: 'ClusterRole', name: 'admin' } }));
    bob = await userClient('bob', []);
    await untilAllowed('bob', [], 'create', 'rolebindings', 'a');
  });

  it('lets a namespace admin grant what it holds', async () => {
    await bob.create(obj('RoleBinding', 'a', 'carol-views', { subjects: [{ kind: 'User', name: 'carol' }], roleRef: { kind: 'ClusterRole', name: 'view' } }));
    await bob.create(obj('Role', 'a', 'secret-reader', { rules: [{ verbs: ['get'], resources: ['secrets'] }] }));
  });

  it('refuses a Role or a binding that grants more than the writer holds', async () => {
    const role = await refusal(bob.create(obj('Role', 'a', 'node-lister', { rules: [{ verbs: ['list'], resources: ['nodes'] }] })));
    expect(role.code).toBe(Code.PERMISSION_DENIED);
    expect(role.message).toContain('may not grant permissions it does not hold');
    const binding = await refusal(
      bob.create(obj('RoleBinding', 'a', 'bob-everything', { subjects: [{ kind: 'User', name: 'bob' }], roleRef: { kind: 'ClusterRole', name: 'cluster-admin' } })),
    );
    expect(binding.code).toBe(Code.PERMISSION_DENIED);
    const crb = await refusal(
      bob.create(obj('ClusterRoleBinding', undefined, 'bob-cluster', { subjects: [{ kind: 'User', name: 'bob' }], roleRef: { kind: 'ClusterRole', name: 'view' } })),
    );
    expect(crb.code).toBe(Code.PERMISSION_DENIED);
    expect((await api.client.list('RoleBinding', { namespace: 'a' })).items.map((b) => b.metadata.name)).not.toContain('bob-everything');
  });
});

describe('a ServiceAccount token, as a CI pipeline uses it', () => {
  let token: string;
  beforeAll(async () => {
    await api.client.create(obj('ServiceAccount', 'a', 'deployer'));
    await api.client.create(bindEdit('a', 'deployer-edits-a', { kind: 'ServiceAccount', name: 'deployer' }));
    await untilAllowed('system:serviceaccount:a:deployer', ['system:serviceaccounts', 'system:serviceaccounts:a'], 'create', 'configmaps', 'a');
    ({ token } = await api.client.createServiceAccountToken('a', 'deployer', { ttlSeconds: 600 }));
  });

  it('applies in a and is refused in b, with only the token (no client certificate)', async () => {
    const ci = tokenClient(token);
    await ci.apply(configMap('a', 'from-ci'));
    const err = await refusal(ci.apply(configMap('b', 'from-ci')));
    expect(err.code).toBe(Code.PERMISSION_DENIED);
    expect(err.message).toContain('ServiceAccount "a/deployer"');
    expect(err.message).toMatch(/create configmaps "from-\w+" in namespace "b"/);
  });

  it('works from a plain gRPC client sending authorization: Bearer', async () => {
    const raw = new ResourcesClient(api.config.server, credentials.createSsl(readFileSync(api.config.caCert)));
    clients.push(raw);
    const call = (namespace: string) =>
      new Promise<ServiceError | null>((resolve) => {
        const md = new Metadata();
        md.set('authorization', `Bearer ${token}`);
        raw.create({ object: toWire(configMap(namespace, 'from-grpc')), dryRun: false }, md, { deadline: new Date(Date.now() + 10_000) }, (e) => resolve(e));
      });
    expect(await call('a')).toBeNull();
    const refused = await call('b');
    expect(refused?.code).toBe(Code.PERMISSION_DENIED);
  });

  it('is refused exec into b with the token, as the user was', async () => {
    const ops = new OperationsClient(tokenConfig(token));
    clients.push(ops);
    const inB = await ops.exec('web', ['true'], { namespace: 'b' }).then(
      () => undefined,
      (e: ApiError) => e,
    );
    expect(inB?.code).toBe(Code.PERMISSION_DENIED);
    expect(inB?.message).toContain('ServiceAccount "a/deployer" cannot create containers/exec "web" in namespace "b"');
  });

  it('refuses a token for another audience, saying so', async () => {
    const other = await api.client.createServiceAccountToken('a', 'deployer', { audiences: ['vault'] });
    const err = await refusal(tokenClient(other.token).list('ConfigMap', { namespace: 'a' }));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).toMatch(/audience.*vault.*persys/);
  });

  it('refuses an expired token, saying when it expired', async () => {
    const tokens = await ServiceAccountTokens.create({
      privateKeyPem: readFileSync(join(dirname(api.pki.caCert), 'sa.key'), 'utf8'),
      accountUid: () => undefined,
      now: () => Date.now() - 3_600_000,
    });
    const uid = (await api.client.get('ServiceAccount', 'deployer', 'a')).metadata.uid!;
    const { token: old } = await tokens.issue({ namespace: 'a', name: 'deployer', uid }, 60);
    const err = await refusal(tokenClient(old).list('ConfigMap', { namespace: 'a' }));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).toMatch(/expired at/);
  });

  it('refuses a token signed by another key', async () => {
    const { generateKeyPair, exportPKCS8 } = await import('jose');
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const foreign = await ServiceAccountTokens.create({ privateKeyPem: await exportPKCS8(privateKey), accountUid: () => undefined });
    const { token: forged } = await foreign.issue({ namespace: 'a', name: 'deployer', uid: 'x' }, 600);
    const err = await refusal(tokenClient(forged).list('ConfigMap', { namespace: 'a' }));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).toMatch(/signature/);
  });

  it('refuses a client certificate from a foreign CA, saying so', async () => {
    const foreignCa = await createCa('impostor');
    const cert = await issueCertificate(foreignCa, { commonName: 'admin', organizations: ['system:masters'], usage: 'client' });
    writeFileSync(join(dir, 'impostor.crt'), cert.certPem);
    writeFileSync(join(dir, 'impostor.key'), cert.keyPem);
    const impostor = new ApiClient({ ...api.config, clientCert: join(dir, 'impostor.crt'), clientKey: join(dir, 'impostor.key') });
    clients.push(impostor);
    const err = await refusal(impostor.list('Namespace'));
    expect(err.code).toBe(Code.UNAUTHENTICATED);
    expect(err.message).toContain("not signed by this cluster's CA");
  });

  it('stops working once its ServiceAccount is deleted', async () => {
    const ci = tokenClient(token);
    await ci.get('ConfigMap', 'from-ci', 'a');
    await api.client.delete('ServiceAccount', 'deployer', 'a');
    await expect
      .poll(async () => (await refusal(ci.get('ConfigMap', 'from-ci', 'a'))).message, { timeout: 10_000 })
      .toContain('no longer exists');
  });
});

describe('the CLI with only a ServiceAccount token, as a CI job runs it', () => {
  const home = () => dir;
  let env: Record<string, string>;
  const admin = () => ({ PERSYS_SERVER: api.config.server, PERSYS_CA_CERT: api.config.caCert, PERSYS_CLIENT_CERT: api.config.clientCert, PERSYS_CLIENT_KEY: api.config.clientKey });

  beforeAll(async () => {
    await api.client.create(obj('ServiceAccount', 'a', 'ci'));
    await api.client.create(bindEdit('a', 'ci-edits-a', { kind: 'ServiceAccount', name: 'ci' }));
    await untilAllowed('system:serviceaccount:a:ci', ['system:serviceaccounts', 'system:serviceaccounts:a'], 'create', 'configmaps', 'a');
    const created = await runPersys(['token', 'create', '--service-account', 'a/ci', '--ttl', '10m'], { cwd: dir, home: home(), env: admin() });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain('token for ServiceAccount a/ci expires at');
    env = { PERSYS_SERVER: api.config.server, PERSYS_CA_CERT: api.config.caCert, PERSYS_TOKEN: created.stdout.trim() };
  });

  it('applies and lists in its namespace', async () => {
    writeFileSync(join(dir, 'cm.yaml'), 'apiVersion: persys.dev/v1\nkind: ConfigMap\nmetadata: {name: from-cli}\ndata: {k: v}\n');
    const applied = await runPersys(['apply', '-n', 'a', '-f', join(dir, 'cm.yaml')], { cwd: dir, home: home(), env });
    expect(applied.code, applied.stderr).toBe(0);
    const listed = await runPersys(['get', 'configmaps', '-n', 'a', '-o', 'name'], { cwd: dir, home: home(), env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('configmap/from-cli');
  });

  it('is refused in another namespace with a non-zero exit and the reason', async () => {
    const refused = await runPersys(['apply', '-n', 'b', '-f', join(dir, 'cm.yaml')], { cwd: dir, home: home(), env });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('ServiceAccount "a/ci" cannot create configmaps "from-cli" in namespace "b"');
  });

  it('answers auth can-i with yes/no and exit codes 0/1', async () => {
    const yes = await runPersys(['auth', 'can-i', 'create', 'configmaps', '-n', 'a'], { cwd: dir, home: home(), env });
    expect(yes).toMatchObject({ code: 0, stdout: 'yes\n' });
    const no = await runPersys(['auth', 'can-i', 'delete', 'secrets', '-n', 'b'], { cwd: dir, home: home(), env });
    expect(no).toMatchObject({ code: 1, stdout: 'no\n' });
  });

  it('says which credential failed when the token is bad', async () => {
    const bad = await runPersys(['get', 'configmaps', '-n', 'a'], { cwd: dir, home: home(), env: { ...env, PERSYS_TOKEN: 'not-a-jwt' } });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/bearer token is malformed/);
  });
});

describe('the audit log', () => {
  interface Entry {
    user: string;
    groups: string[];
    verb: string;
    kind?: string;
    namespace?: string;
    name?: string;
    subresource?: string;
    decision: string;
    code: string;
    latencyMs: number;
    requestObject?: Resource;
  }
  const entries = (): Entry[] =>
    readFileSync(join(dir, 'audit.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Entry);

  it('records each refusal with user, groups, verb, kind, namespace, decision and code', async () => {
    await expect.poll(() => entries().some((e) => e.user === 'alice' && e.decision === 'deny'), { timeout: 5_000 }).toBe(true);
    const denied = entries().filter((e) => e.decision === 'deny');
    expect(denied).toContainEqual(
      expect.objectContaining({ user: 'alice', groups: ['dev'], verb: 'create', kind: 'ConfigMap', namespace: 'b', name: 'from-alice', code: 'PERMISSION_DENIED' }),
    );
    expect(denied).toContainEqual(expect.objectContaining({ user: 'alice', verb: 'watch', kind: 'ConfigMap', code: 'PERMISSION_DENIED' }));
    expect(denied).toContainEqual(expect.objectContaining({ user: 'alice', verb: 'create', kind: 'Container', subresource: 'exec', namespace: 'b', code: 'PERMISSION_DENIED' }));
    expect(denied).toContainEqual(expect.objectContaining({ user: 'system:serviceaccount:a:deployer', verb: 'create', namespace: 'b', code: 'PERMISSION_DENIED' }));
    expect(denied).toContainEqual(expect.objectContaining({ user: 'system:anonymous', code: 'UNAUTHENTICATED' }));
    for (const e of entries()) expect(typeof e.latencyMs).toBe('number');
  });

  it('records allowed writes with the object at level Request, but never a Secret\'s data', async () => {
    await api.client.create(obj('Secret', 'a', 'audited', { stringData: { password: 'hunter2-never-logged' } }));
    await expect.poll(() => entries().some((e) => e.kind === 'Secret' && e.name === 'audited'), { timeout: 5_000 }).toBe(true);
    const secret = entries().find((e) => e.kind === 'Secret' && e.name === 'audited')!;
    expect(secret).toMatchObject({ user: 'admin', verb: 'create', decision: 'allow', code: 'OK' });
    expect(secret.requestObject).toBeUndefined();
    expect(readFileSync(join(dir, 'audit.log'), 'utf8')).not.toContain('hunter2-never-logged');
    const configMap = entries().find((e) => e.kind === 'ConfigMap' && e.name === 'from-alice' && e.decision === 'allow')!;
    expect(configMap.requestObject?.['data']).toEqual({ k: 'v' });
    expect(entries().some((e) => e.kind === 'Lease')).toBe(false);
  });
});
