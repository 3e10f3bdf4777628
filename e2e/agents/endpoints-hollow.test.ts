// Services end to end on hollow nodes (real agents over an in-memory engine): a ContainerSet's replicas,
// scheduled by the docker controller and run by the agents, become a Service's endpoints with the
// container IPs the agents report; scaling down drops them. Logs how long the slice took to follow.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { EndpointSliceObject, ServiceObject } from '../../lib/api/typed.js';
import { captureIo } from '../../lib/cli/io.js';
import { OperationsClient } from '../../lib/client/operations.js';
import { main } from '../../cmd/commands.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { waitFor } from '../harness/wait.js';

const NS = 'default';
let api: TestApiServer;
let dir: string;
const stop = new AbortController();
const exits: Promise<number>[] = [];

beforeAll(async () => {
  api = await startTestApiServer(inject('etcdEndpoint'));
  dir = mkdtempSync(join(tmpdir(), 'persys-eps-'));
  const ops = new OperationsClient(api.config);
  const joined = await ops.createJoinToken({ ttlSeconds: 600 }).finally(() => ops.close());
  const caCertHash = /sha256:[0-9a-f]{64}/.exec(joined.joinCommand)![0];
  const connection = ['--server', api.config.server, '--ca-cert', api.config.caCert, '--client-cert', api.config.clientCert, '--client-key', api.config.clientKey];
  const nodes = captureIo('', stop.signal);
  exits.push(
    main(['hollow-nodes', '--count', '2', '--server', api.config.server, '--join-server', `127.0.0.1:${api.server.joinPort}`, '--token', joined.token,
      '--ca-cert-hash', caCertHash, '--name-prefix', `eps${randomBytes(2).toString('hex')}-`, '--data-dir', dir, '--start-delay', '50ms',
      '--metrics-listen', '127.0.0.1:0', '--log-level', 'silent'], nodes),
  );
  await waitFor(() => nodes.stdout().includes('2 hollow nodes connected') || nodes.stderr(), 'hollow nodes connected', 30_000);
  expect(nodes.stderr()).toBe('');
  exits.push(main(['controllers', ...connection, '--leader-elect=false', '--metrics-listen', '127.0.0.1:0', '--log-level', 'silent'], captureIo('', stop.signal)));
});
afterAll(async () => {
  stop.abort();
  await Promise.all(exits);
  await api?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const slice = async () => (await api.client.get('EndpointSlice', 'web', NS).catch(() => undefined)) as EndpointSliceObject | undefined;
const ready = (s: EndpointSliceObject | undefined) => (s?.endpoints ?? []).filter((e) => e.ready);

describe('a Service over a ContainerSet on hollow nodes', () => {
  it('lists the running replicas with their reported container IPs and follows a scale-down', async () => {
    await api.client.apply(`apiVersion: persys.dev/v1
kind: ContainerSet
metadata: {name: web, namespace: ${NS}}
spec:
  replicas: 3
  template:
    metadata: {labels: {app: web}}
    spec:
      image: persys/busybox:test
      ports: [{name: http, containerPort: 80}]
`);
    await api.client.apply(`apiVersion: persys.dev/v1
kind: Service
metadata: {name: web, namespace: ${NS}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`);
    const full = await waitFor(async () => {
      const s = await slice();
      return ready(s).length === 3 ? s : undefined;
    }, 'three ready endpoints', 40_000);
    for (const e of full.endpoints!) {
      expect(e.containerIp).toMatch(/^172\.17\.\d+\.\d+$/);
      expect(e.nodeName).toMatch(/^eps/);
      expect(e.ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP' }]);
    }
    const svc = (await api.client.get('Service', 'web', NS)) as ServiceObject;
    expect(svc.spec?.clusterIp).toMatch(/^10\.96\./);
    await waitFor(async () => ((await api.client.get('Service', 'web', NS)) as ServiceObject).status?.readyEndpoints === 3, 'status 3 ready');

    const set = await api.client.get('ContainerSet', 'web', NS);
    const t0 = performance.now();
    await api.client.update({ ...set, spec: { ...set.spec, replicas: 1 } });
    await waitFor(async () => (await slice())?.endpoints?.length === 1, 'one endpoint left', 40_000, 5);
    console.log(`endpoints after a scale-down from 3 to 1: ${(performance.now() - t0).toFixed(0)} ms from the ContainerSet update to the slice listing 1 replica`);
    expect(ready(await slice())).toHaveLength(1);
  });
});
