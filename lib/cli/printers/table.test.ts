// get tables per kind: columns, wide/all-namespaces/labels variants, alignment.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../api/resource.js';
import { formatBytes } from './columns.js';
import { renderTable } from './table.js';

const now = new Date('2024-05-01T12:00:00Z');
const created = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000).toISOString();

const obj = (kind: string, name: string, rest: Partial<Resource> = {}, minutesAgo = 5): Resource => ({
  apiVersion: 'persys.dev/v1',
  kind,
  ...rest,
  metadata: { name, namespace: 'default', creationTimestamp: created(minutesAgo), ...(rest.metadata ?? {}) },
});

describe('renderTable', () => {
  const web = obj('Container', 'web', {
    spec: { image: 'nginx:1.25', nodeName: 'node-1', ports: [{ containerPort: 80, hostPort: 8080 }] },
    status: { phase: 'Running', restartCount: 2, containerId: '0123456789abcdef0123' },
    metadata: { labels: { tier: 'fe', app: 'web' } },
  });
  const pending = obj('Container', 'queued-job', { spec: { image: 'busybox' } }, 130);

  it('prints Containers with aligned columns and AGE', () => {
    expect(renderTable('Container', [web, pending], { now })).toEqual([
      'NAME         IMAGE        NODE     STATUS    RESTARTS   AGE',
      'web          nginx:1.25   node-1   Running   2          5m',
      'queued-job   busybox      <none>   Pending   0          130m',
    ]);
  });

  it('shows an image pull with its progress, and the pull errors by reason', () => {
    const status = (s: Record<string, unknown>) => obj('Container', 'c', { spec: { image: 'app:1' }, status: s });
    const column = (s: Record<string, unknown>) => renderTable('Container', [status(s)], { now })[1]!.split(/\s{2,}/)[3];
    expect(column({ phase: 'Pending', reason: 'Pulling', imagePull: { image: 'app:1', downloadedBytes: '12582912', totalBytes: '33554432' } })).toBe('Pulling (37%)');
    expect(column({ phase: 'Pending', reason: 'Pulling', imagePull: { image: 'app:1', downloadedBytes: '0', totalBytes: '0' } })).toBe('Pulling');
    expect(column({ phase: 'Pending', reason: 'ImagePullBackOff' })).toBe('ImagePullBackOff');
  });

  it('adds CONTAINER-ID and PORTS with wide, NAMESPACE with all namespaces and LABELS on request', () => {
    const [header, row] = renderTable('Container', [web], { now, wide: true, withNamespace: true, showLabels: true });
    expect(header!.split(/\s{2,}/)).toEqual([
      'NAMESPACE', 'NAME', 'IMAGE', 'NODE', 'STATUS', 'RESTARTS', 'AGE', 'CONTAINER-ID', 'PORTS', 'LABELS',
    ]);
    expect(row!.split(/\s{2,}/)).toEqual([
      'default', 'web', 'nginx:1.25', 'node-1', 'Running', '2', '5m', '0123456789ab', '8080:80/tcp', 'app=web,tier=fe',
    ]);
  });

  it('shows a port Docker picks as the picked one, or * until the agent reports it', () => {
    const ports = [{ name: 'http', containerPort: 80, hostPort: 0, publish: true }, { containerPort: 53, protocol: 'UDP' }];
    const column = (status: Record<string, unknown>) =>
      renderTable('Container', [obj('Container', 'c', { spec: { image: 'x', ports }, status })], { now, wide: true })[1]!.split(/\s{2,}/)[7];
    expect(column({ phase: 'Scheduled' })).toBe('*:80/tcp,53/udp');
    expect(column({ phase: 'Running', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP', hostPort: 32768, hostIp: '0.0.0.0' }] })).toBe('32768:80/tcp,53/udp');
  });

  it('prints ContainerSet READY as ready/desired', () => {
    const cs = obj('ContainerSet', 'shop', {
      spec: { replicas: 3 },
      status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    }, 60 * 50);
    expect(renderTable('ContainerSet', [cs], { now })).toEqual([
      'NAME   READY   UP-TO-DATE   AVAILABLE   AGE',
      'shop   2/3     3            2           2d2h',
    ]);
  });

  it('shows an autoscaled ContainerSet\'s bounds and current/target figures in wide output', () => {
    const cs = obj('ContainerSet', 'api', {
      spec: { replicas: 2, template: { spec: { image: 'api:1' } }, autoscale: { minReplicas: 1, maxReplicas: 5, targetCpuUtilizationPercent: 50 } },
      status: { readyReplicas: 2, autoscale: { currentCpuUtilizationPercent: 80 } },
    }, 60);
    const [header, row] = renderTable('ContainerSet', [cs], { now, wide: true });
    expect(header).toMatch(/IMAGE\s+AUTOSCALE$/);
    expect(row).toMatch(/api:1\s+1-5 cpu 80%\/50%$/);
  });

  it('prints a ComposeStack\'s READY as ready services over all, with each service in wide output', () => {
    const stack = obj('ComposeStack', 'shop', {
      spec: { nodeName: 'n1' },
      status: { phase: 'Running', services: [{ name: 'web', desired: 2, running: 2 }, { name: 'db', desired: 1, running: 1, reason: 'unhealthy' }] },
    }, 60);
    const [header, row] = renderTable('ComposeStack', [stack], { now, wide: true });
    expect(header).toMatch(/^NAME\s+READY\s+STATUS\s+NODE\s+AGE\s+PROJECT\s+SERVICES$/);
    expect(row).toMatch(/^shop\s+1\/2\s+Running\s+n1\s+\S+\s+shop\s+web 2\/2, db 1\/1$/);
  });

  it('lists ControllerRevisions with their set and number', () => {
    const rev = obj('ControllerRevision', 'web-abc', { revision: '3' }, 60);
    rev.metadata.ownerReferences = [{ apiVersion: 'persys.dev/v1', kind: 'ContainerSet', name: 'web', uid: 'u', controller: true }];
    expect(renderTable('ControllerRevision', [rev], { now })[1]).toMatch(/^web-abc\s+containerset\/web\s+3\s+/);
  });

  it('derives Node STATUS from the Ready condition and cordoning, and ROLES from the swarm role', () => {
    const ready = obj('Node', 'n1', {
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        dockerVersion: '24.0.7',
        swarm: { role: 'manager' },
        addresses: [{ type: 'InternalIP', address: '10.0.0.5' }],
        usage: { cpuPercent: 12.6, memoryBytes: String(512 * 1024 * 1024) },
        capacity: { memory: '8Gi' },
      },
      metadata: { namespace: '' },
    });
    const lost = obj('Node', 'n2', { status: { conditions: [{ type: 'Ready', status: 'Unknown' }] }, metadata: { namespace: '' } });
    const rows = renderTable('Node', [ready, lost], { now, wide: true }).map((l) => l.split(/\s{2,}/));
    expect(rows).toEqual([
      ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', 'INTERNAL-IP', 'CPU%', 'MEMORY'],
      ['n1', 'Ready,SchedulingDisabled', 'manager', '5m', '24.0.7', '10.0.0.5', '13%', '512Mi/8Gi'],
      ['n2', 'Unknown', '<none>', '5m', '<none>', '<none>', '<none>', '<none>'],
    ]);
  });

  it('prints CronJob schedule columns with relative last and next times', () => {
    const cj = obj('CronJob', 'backup', {
      spec: { schedule: '*/5 * * * *', timeZone: 'Europe/Paris' },
      status: { active: [{ name: 'backup-1' }], lastScheduleTime: created(2), nextScheduleTime: created(-3) },
    });
    expect(renderTable('CronJob', [cj], { now })[1]!.split(/\s{2,}/)).toEqual([
      'backup', '*/5 * * * *', 'Europe/Paris', 'False', '1', '2m', 'in 3m', '5m',
    ]);
  });

  it('prints Events without a NAME column, naming the involved object', () => {
    const ev = obj('Event', 'web.1', {
      involvedObject: { kind: 'Container', name: 'web' },
      type: 'Warning',
      reason: 'BackOff',
      message: 'restarting failed container',
      lastTimestamp: created(1),
    });
    expect(renderTable('Event', [ev], { now })).toEqual([
      'LAST SEEN   TYPE      REASON    OBJECT          MESSAGE',
      '60s         Warning   BackOff   container/web   restarting failed container',
    ]);
  });

  it('prints SwarmService replicas, ports and Secret data counts', () => {
    const svc = obj('SwarmService', 'api', {
      spec: { image: 'api:2', replicas: 3, ports: [{ targetPort: 80, publishedPort: 8080 }] },
      status: { runningTasks: 1, desiredTasks: 3 },
    });
    expect(renderTable('SwarmService', [svc], { now })[1]!.split(/\s{2,}/)).toEqual([
      'api', 'replicated', '1/3', 'api:2', '*:8080->80/tcp', '5m',
    ]);
    const sec = obj('Secret', 'creds', { data: { user: 'YQ==', pass: 'Yg==' } });
    expect(renderTable('Secret', [sec], { now })[1]!.split(/\s{2,}/)).toEqual(['creds', 'Opaque', '2', '5m']);
  });

  it('counts ComposeStack services that are fully up', () => {
    const st = obj('ComposeStack', 'blog', {
      spec: { nodeName: 'n1' },
      status: { phase: 'Running', services: [{ name: 'db', desired: 1, running: 1 }, { name: 'web', desired: 2, running: 1 }] },
    });
    expect(renderTable('ComposeStack', [st], { now })[1]!.split(/\s{2,}/)).toEqual(['blog', '1/2', 'Running', 'n1', '5m']);
  });
});

describe('formatBytes', () => {
  it.each([
    [512, '512'],
    [1536, '1.5Ki'],
    [256 * 1024 * 1024, '256Mi'],
    [3 * 1024 ** 3 + 1024 ** 3 / 4, '3.3Gi'],
  ])('%d bytes → %s', (n, want) => expect(formatBytes(n)).toBe(want));
});
