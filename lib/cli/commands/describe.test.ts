// persys describe, run in-process against the in-memory FakeClient.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../api/resource.js';
import { FakeClient } from '../testing/fake-client.js';
import { runCli } from '../testing/run-cli.js';

const web: Resource = {
  apiVersion: 'persys.dev/v1',
  kind: 'Container',
  metadata: {
    name: 'web',
    namespace: 'default',
    uid: 'u-web',
    labels: { app: 'web', tier: 'fe' },
    annotations: { 'persys.dev/last-applied-configuration': '{...}', owner: 'team-a' },
    creationTimestamp: '2024-05-01T11:50:00Z',
  },
  spec: { image: 'nginx', ports: [{ containerPort: 80 }] },
  status: {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'True', reason: 'Healthy', lastTransitionTime: '2024-05-01T11:58:00Z' }],
  },
};

const event = (name: string, reason: string, last: string, extra: Partial<Resource> = {}): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind: 'Event',
  metadata: { name, namespace: 'default' },
  involvedObject: { kind: 'Container', name: 'web', namespace: 'default', uid: 'u-web' },
  type: 'Normal',
  reason,
  message: `${reason} happened`,
  lastTimestamp: last,
  firstTimestamp: last,
  count: 1,
  source: { component: 'docker-controller' },
  ...extra,
});

describe('persys describe', () => {
  it('shows metadata, spec, status, conditions and the object\'s events oldest first', async () => {
    const fake = new FakeClient();
    fake.put(web);
    fake.put(event('e2', 'Started', '2024-05-01T11:59:00Z', { count: 3, firstTimestamp: '2024-05-01T11:52:00Z' }));
    fake.put(event('e1', 'Scheduled', '2024-05-01T11:51:00Z'));
    fake.put(event('other', 'Elsewhere', '2024-05-01T11:51:00Z', { involvedObject: { kind: 'Container', name: 'db', uid: 'u-db' } }));
    const r = await runCli(fake, ['describe', 'ct', 'web']);
    expect(r.code).toBe(0);
    const out = r.out;
    expect(out).toContain('Name:         web\nNamespace:    default\n');
    expect(out).toContain('Labels:       app=web\n              tier=fe\n');
    expect(out).toContain('Annotations:  owner: team-a\n');
    expect(out).not.toContain('last-applied');
    expect(out).toContain('Spec:\n  image: nginx\n  ports:\n');
    expect(out).toContain('Status:\n  phase: Running\n');
    expect(out).toMatch(/Conditions:\n  Type\s+Status\s+Reason\s+Last Transition\s+Message\n  ----.*\n  Ready\s+True\s+Healthy\s+2m ago/);
    const events = out.slice(out.indexOf('Events:'));
    expect(events.split('\n').slice(1, 5).map((l) => l.trim().split(/\s{2,}/))).toEqual([
      ['Type', 'Reason', 'Age', 'From', 'Message'],
      ['----', '------', '---', '----', '-------'],
      ['Normal', 'Scheduled', '9m', 'docker-controller', 'Scheduled happened'],
      ['Normal', 'Started', '60s (x3 over 8m)', 'docker-controller', 'Started happened'],
    ]);
    expect(out).not.toContain('Elsewhere');
  });

  it('says <none> when there are no events, and fails with NotFound for a missing object', async () => {
    const fake = new FakeClient();
    fake.put(web);
    expect((await runCli(fake, ['describe', 'ct', 'web'])).out).toContain('Events:       <none>');
    const r = await runCli(fake, ['describe', 'ct', 'nope']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('Error from server (NotFound): Container "nope" not found\n');
  });

  it('shows Secret data sizes, never values', async () => {
    const fake = new FakeClient();
    fake.put({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: { password: Buffer.from('hunter2').toString('base64') } });
    const r = await runCli(fake, ['describe', 'secret', 's']);
    expect(r.out).toContain('Data:\n  password: 7 bytes');
    expect(r.out).not.toContain('aHVudGVyMg');
  });

  it('leaves out the last-applied annotation of a Secret, which repeats its values', async () => {
    const fake = new FakeClient();
    const password = Buffer.from('hunter2').toString('base64');
    await runCli(fake, ['apply', '-f', '-'], {
      stdin: `apiVersion: persys.dev/v1\nkind: Secret\nmetadata:\n  name: s\n  annotations:\n    team: db\ndata:\n  password: ${password}\n`,
    });
    const r = await runCli(fake, ['describe', 'secret', 's']);
    expect(r.out).toContain('Annotations:  team: db');
    expect(r.out).toContain('Data:\n  password: 7 bytes');
    expect(r.out).not.toContain(password);
    expect(r.out).not.toContain('hunter2');
  });
});

describe('persys describe service', () => {
  it('shows selector, cluster IP, ports, each endpoint with node, address and readiness, and the condition', async () => {
    const fake = new FakeClient();
    fake.put({
      apiVersion: 'persys.dev/v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default', uid: 'u-svc', creationTimestamp: '2024-05-01T11:50:00Z' },
      spec: { selector: { app: 'web' }, clusterIp: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
      status: {
        readyEndpoints: 1,
        totalEndpoints: 2,
        conditions: [{ type: 'EndpointsReady', status: 'True', reason: 'EndpointsReady', message: '1 of 2 selected Containers are ready', lastTransitionTime: '2024-05-01T11:58:00Z' }],
      },
    });
    fake.put({
      apiVersion: 'persys.dev/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web', namespace: 'default' },
      endpoints: [
        { containerName: 'web-1', nodeName: 'n1', nodeAddress: '192.0.2.1', containerIp: '172.17.0.2', ready: true, ports: [{ name: 'http', port: 8080, hostPort: 30080 }] },
        { containerName: 'web-2', nodeName: 'n2', nodeAddress: '192.0.2.2', containerIp: '172.17.0.3', ports: [{ name: 'http', port: 8080 }] },
      ],
    });
    const r = await runCli(fake, ['describe', 'svc', 'web']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Selector:     app=web\nCluster IP:   10.96.0.10\nPorts:\n');
    expect(r.out).toMatch(/  Name\s+Port\s+TargetPort\s+Protocol\n  -+.*\n  http\s+80\s+http\s+TCP\n/);
    expect(r.out).toContain('Endpoints:    1 ready of 2\n');
    expect(r.out).toMatch(/  web-1\s+n1\s+192\.0\.2\.1\s+172\.17\.0\.2\s+8080 \(host 30080\)\s+True\n/);
    expect(r.out).toMatch(/  web-2\s+n2\s+192\.0\.2\.2\s+172\.17\.0\.3\s+8080\s+False\n/);
    expect(r.out).toMatch(/Conditions:\n.*\n.*\n  EndpointsReady\s+True\s+EndpointsReady\s+2m ago\s+1 of 2 selected Containers are ready/);
  });

  it('describes a Service whose slice is not written yet', async () => {
    const fake = new FakeClient();
    fake.put({ apiVersion: 'persys.dev/v1', kind: 'Service', metadata: { name: 'new', namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
    const r = await runCli(fake, ['describe', 'service', 'new']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Cluster IP:   <none>\n');
    expect(r.out).toContain('Endpoints:    0 ready of 0\n');
    expect(r.err).toBe('');
  });
});
