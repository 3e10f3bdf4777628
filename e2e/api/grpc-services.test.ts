// What generic tooling sees of the API server: the standard gRPC health service, server reflection
// (what grpcurl uses) and the HTTP side port with /healthz, /readyz and Prometheus /metrics.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  credentials,
  loadPackageDefinition,
  makeClientConstructor,
  status as Code,
  type ChannelCredentials,
  type Client,
  type ClientDuplexStream,
  type ServiceError,
} from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { service as healthServiceDefinition } from 'grpc-health-check';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ResourcesService } from '../../lib/gen/persys/v1/api.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';

const require = createRequire(import.meta.url);

let api: TestApiServer;
let creds: ChannelCredentials;
let target: string;
const clients: Client[] = [];

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  creds = credentials.createSsl(readFileSync(api.pki.caCert), readFileSync(api.pki.adminKey), readFileSync(api.pki.adminCert));
  target = `127.0.0.1:${api.server.port}`;
});
afterAll(async () => {
  for (const c of clients) c.close();
  await api?.stop();
});

function track<T extends Client>(c: T): T {
  clients.push(c);
  return c;
}

describe('gRPC health service', () => {
  interface HealthClient extends Client {
    Check(req: { service: string }, cb: (err: ServiceError | null, res: { status: string }) => void): void;
    Watch(req: { service: string }): NodeJS.ReadableStream & { cancel(): void };
  }
  const healthClient = () => {
    const Ctor = makeClientConstructor(healthServiceDefinition, 'grpc.health.v1.Health');
    return track(new Ctor(target, creds) as unknown as HealthClient);
  };
  const check = (service: string) =>
    new Promise<{ status?: string; code?: Code }>((resolve) =>
      healthClient().Check({ service }, (err, res) => resolve(err ? { code: err.code } : { status: res.status })),
    );

  it.each(['', 'persys.v1.Resources'])('reports SERVING for %j', async (service) => {
    expect(await check(service)).toEqual({ status: 'SERVING' });
  });

  it('answers NOT_FOUND for a service it does not serve', async () => {
    expect(await check('persys.v1.NoSuchService')).toEqual({ code: Code.NOT_FOUND });
  });

  it('streams the current status to a watcher', async () => {
    const stream = healthClient().Watch({ service: 'persys.v1.Resources' });
    const first = await new Promise<{ status: string }>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
    });
    stream.cancel();
    expect(first.status).toBe('SERVING');
  });
});

describe('gRPC server reflection', () => {
  const protoDir = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');
  const descriptorTypes = protobuf.loadSync(require.resolve('protobufjs/google/protobuf/descriptor.proto'));
  const FileDescriptorProto = descriptorTypes.lookupType('google.protobuf.FileDescriptorProto');

  interface ReflectionResponse {
    message_response: string;
    list_services_response?: { service: { name: string }[] };
    file_descriptor_response?: { file_descriptor_proto: Buffer[] };
    error_response?: { error_code: number; error_message: string };
  }
  type ReflectionStream = ClientDuplexStream<Record<string, string>, ReflectionResponse>;

  function reflectionClient(version: 'v1' | 'v1alpha') {
    const def = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [protoDir], keepCase: true, oneofs: true });
    type Ctor = new (target: string, creds: ChannelCredentials) => Client & { ServerReflectionInfo(): ReflectionStream };
    const pkg = loadPackageDefinition(def) as unknown as { grpc: { reflection: Record<string, { ServerReflection: Ctor }> } };
    return track(new pkg.grpc.reflection[version]!.ServerReflection(target, creds));
  }

  /** Sends one request on a fresh stream and returns the single response. */
  function ask(version: 'v1' | 'v1alpha', request: Record<string, string>): Promise<ReflectionResponse> {
    const stream = reflectionClient(version).ServerReflectionInfo();
    return new Promise<ReflectionResponse>((resolve, reject) => {
      stream.once('data', (res: ReflectionResponse) => {
        resolve(res);
        stream.end();
      });
      stream.once('error', reject);
      stream.write(request);
    });
  }

  interface MessageDescriptor {
    name: string;
    field?: { typeName?: string }[];
    nestedType?: MessageDescriptor[];
    enumType?: { name: string }[];
  }
  interface FileDescriptor {
    name: string;
    package?: string;
    dependency?: string[];
    messageType?: MessageDescriptor[];
    enumType?: { name: string }[];
    service?: { name: string; method?: { name: string; inputType: string; outputType: string }[] }[];
  }

  /**
   * References a field or RPC makes that no file defines. Names may be relative (@grpc/reflection
   * writes "ObjectMeta", protoc ".persys.v1.ObjectMeta"), so resolve them by protobuf scoping:
   * innermost enclosing scope first, as protoc and Go's protodesc (grpcurl) do.
   */
  function unresolvedTypes(files: FileDescriptor[]): { unresolved: string[]; references: number } {
    const defined = new Set<string>();
    const refs: { scope: string; name: string }[] = [];
    const walk = (scope: string, msgs: MessageDescriptor[] = [], enums: { name: string }[] = []) => {
      for (const e of enums) defined.add(`${scope}.${e.name}`);
      for (const m of msgs) {
        const inner = `${scope}.${m.name}`;
        defined.add(inner);
        for (const f of m.field ?? []) if (f.typeName) refs.push({ scope: inner, name: f.typeName });
        walk(inner, m.nestedType, m.enumType);
      }
    };
    for (const f of files) {
      const pkg = f.package ? `.${f.package}` : '';
      walk(pkg, f.messageType, f.enumType);
      for (const svc of f.service ?? []) for (const m of svc.method ?? []) refs.push({ scope: pkg, name: m.inputType }, { scope: pkg, name: m.outputType });
    }
    const resolves = ({ scope, name }: { scope: string; name: string }) => {
      if (name.startsWith('.')) return defined.has(name);
      for (let s = scope; ; s = s.slice(0, s.lastIndexOf('.'))) {
        if (defined.has(`${s}.${name}`)) return true;
        if (!s) return false;
      }
    };
    return { unresolved: refs.filter((r) => !resolves(r)).map((r) => `${r.name} (from ${r.scope})`), references: refs.length };
  }

  const decodeFiles = (res: ReflectionResponse): FileDescriptor[] =>
    (res.file_descriptor_response?.file_descriptor_proto ?? []).map(
      (b) => FileDescriptorProto.toObject(FileDescriptorProto.decode(b)) as FileDescriptor,
    );

  it.each(['v1', 'v1alpha'] as const)('%s lists persys.v1.Resources among the services', async (version) => {
    const res = await ask(version, { list_services: '' });
    expect(res.message_response).toBe('list_services_response');
    const names = res.list_services_response!.service.map((s) => s.name);
    expect(names).toContain('persys.v1.Resources');
  });

  it.each(['v1', 'v1alpha'] as const)('%s returns the file declaring persys.v1.Resources with every RPC', async (version) => {
    const res = await ask(version, { file_containing_symbol: 'persys.v1.Resources' });
    expect(res.message_response).toBe('file_descriptor_response');
    const files = decodeFiles(res);
    const declaring = files.find((f) => f.service?.some((s) => s.name === 'Resources'));
    expect(declaring, `files: ${files.map((f) => f.name).join(', ')}`).toBeDefined();
    expect(declaring!.package).toBe('persys.v1');
    const rpcs = declaring!.service!.find((s) => s.name === 'Resources')!.method!.map((m) => m.name).sort();
    const expected = Object.values(ResourcesService).map((m) => m.path.split('/').pop()!).sort();
    expect(rpcs).toEqual(expected);
    // A client can resolve every import: each dependency is either in the answer or answerable by name.
    const have = new Set(files.map((f) => f.name));
    for (const dep of declaring!.dependency ?? []) {
      if (have.has(dep)) continue;
      const byName = await ask(version, { file_by_filename: dep });
      expect(byName.message_response, dep).toBe('file_descriptor_response');
      const got = decodeFiles(byName);
      expect(got.map((f) => f.name)).toContain(dep);
      files.push(...got);
    }
    // ...and every message or enum a field or RPC refers to is defined in those files.
    const { unresolved, references } = unresolvedTypes(files);
    expect(references).toBeGreaterThan(10);
    expect(unresolved).toEqual([]);
  });

  it('returns the message types Resources uses, e.g. persys.v1.Container', async () => {
    const res = await ask('v1', { file_containing_symbol: 'persys.v1.Container' });
    expect(res.message_response).toBe('file_descriptor_response');
    expect(decodeFiles(res).length).toBeGreaterThan(0);
  });

  it('answers an unknown symbol with an error response, not a broken stream', async () => {
    const res = await ask('v1', { file_containing_symbol: 'persys.v1.NoSuchThing' });
    expect(res.message_response).toBe('error_response');
    expect(res.error_response!.error_code).toBe(Code.NOT_FOUND);
  });
});

describe('HTTP side port', () => {
  const http = (path: string) => fetch(`http://127.0.0.1:${api.server.metricsPort}${path}`);

  it('answers /healthz with 200 "ok"', async () => {
    const res = await http('/healthz');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });

  it('answers /readyz with 200 once etcd and the watch caches are ready', async () => {
    const res = await http('/readyz');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });

  it('answers an unknown path with 404', async () => {
    expect((await http('/nope')).status).toBe(404);
  });

  it('counts requests in apiserver_request_total by verb, kind and code', async () => {
    const sample = async (labels: string) => {
      const text = await (await http('/metrics')).text();
      const line = text.split('\n').find((l) => l.startsWith(`apiserver_request_total{${labels}}`));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const okLabels = 'verb="list",kind="Secret",code="OK"';
    const notFoundLabels = 'verb="get",kind="Secret",code="NOT_FOUND"';
    const [okBefore, notFoundBefore] = [await sample(okLabels), await sample(notFoundLabels)];
    await api.client.list('Secret');
    await api.client.list('Secret');
    await api.client.get('Secret', 'no-such-secret', 'default').catch(() => undefined);

    const res = await http('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await sample(okLabels)).toBe(okBefore + 2);
    expect(await sample(notFoundLabels)).toBe(notFoundBefore + 1);
    expect(await (await http('/metrics')).text()).toMatch(/^apiserver_request_duration_seconds_bucket\{[^}]*verb="list"/m);
  });
});
