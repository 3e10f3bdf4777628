// Valid manifests pass admit() and come out with Kubernetes-style defaults filled in.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Resource } from '../../lib/api/resource.js';
import { dockerConfigJson } from '../../lib/registry/credentials.js';
import { admit, ValidationError } from './index.js';

const V = 'apiVersion: persys.dev/v1';
const admitYaml = (y: string, opts?: Parameters<typeof admit>[1]): Resource => admit(parse(y), opts);

interface DefaultsCase {
  name: string;
  manifest: string;
  /** Fields the admitted object must contain (deep partial match). */
  expected: Record<string, unknown>;
}

const defaultsCases: DefaultsCase[] = [
  {
    name: 'a Container gets namespace default, restartPolicy Always and TCP ports',
    manifest: `${V}\nkind: Container\nmetadata: {name: web}\nspec:\n  image: persys/busybox:test\n  ports: [{containerPort: 80, hostPort: 8080}]`,
    expected: {
      apiVersion: 'persys.dev/v1',
      kind: 'Container',
      metadata: { name: 'web', namespace: 'default' },
      spec: { restartPolicy: 'Always', ports: [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }] },
    },
  },
  {
    name: 'a Container may publish several ports on host ports Docker picks (hostPort 0), next to a fixed one',
    manifest: `${V}\nkind: Container\nmetadata: {name: web}\nspec:\n  image: x\n  ports:\n  - {containerPort: 80, publish: true}\n  - {containerPort: 81, hostPort: 0, publish: true}\n  - {containerPort: 82, hostPort: 8082, publish: true}`,
    expected: {
      spec: {
        ports: [
          { containerPort: 80, publish: true, protocol: 'TCP' },
          { containerPort: 81, hostPort: 0, publish: true, protocol: 'TCP' },
          { containerPort: 82, hostPort: 8082, publish: true, protocol: 'TCP' },
        ],
      },
    },
  },
  {
    name: "a Container healthcheck gets Docker's interval, timeout and retries",
    manifest: `${V}\nkind: Container\nmetadata: {name: web}\nspec:\n  image: x\n  healthcheck: {httpGet: {path: /, port: 80}}`,
    expected: { spec: { healthcheck: { httpGet: { path: '/', port: 80 }, intervalSeconds: 30, timeoutSeconds: 30, retries: 3 } } },
  },
  {
    name: 'a ContainerSet gets replicas, rolling update, deadlines and a selector from template labels',
    manifest: `${V}\nkind: ContainerSet\nmetadata: {name: web}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec: {image: x, ports: [{containerPort: 80}]}`,
    expected: {
      metadata: { namespace: 'default' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
        progressDeadlineSeconds: 600,
        revisionHistoryLimit: 10,
        template: { spec: { restartPolicy: 'Always', ports: [{ containerPort: 80, protocol: 'TCP' }] } },
      },
    },
  },
  {
    name: 'a ContainerSet keeps replicas 0 and normalizes integer budgets to strings',
    manifest: `${V}\nkind: ContainerSet\nmetadata: {name: web}\nspec:\n  replicas: 0\n  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {image: x}`,
    expected: { spec: { replicas: 0, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '1', maxUnavailable: '0' } } } },
  },
  {
    name: 'a CronJob gets UTC, Allow, history limits, backoffLimit 6 and a Never job restartPolicy',
    manifest: `${V}\nkind: CronJob\nmetadata: {name: tick}\nspec:\n  schedule: "*/5 * * * *"\n  jobTemplate:\n    spec: {image: x}`,
    expected: {
      spec: {
        timeZone: 'UTC',
        concurrencyPolicy: 'Allow',
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 1,
        backoffLimit: 6,
        jobTemplate: { spec: { restartPolicy: 'Never' } },
      },
    },
  },
  {
    name: 'a CronJob keeps explicit zero history limits',
    manifest: `${V}\nkind: CronJob\nmetadata: {name: tick}\nspec:\n  schedule: "@hourly"\n  successfulJobsHistoryLimit: 0\n  jobTemplate:\n    spec: {image: x, restartPolicy: OnFailure}`,
    expected: { spec: { successfulJobsHistoryLimit: 0, jobTemplate: { spec: { restartPolicy: 'OnFailure' } } } },
  },
  {
    name: 'a replicated SwarmService gets replicas 1 and tcp/ingress ports',
    manifest: `${V}\nkind: SwarmService\nmetadata: {name: api}\nspec:\n  image: x\n  ports: [{targetPort: 80, publishedPort: 8080}]`,
    expected: { spec: { mode: 'replicated', replicas: 1, ports: [{ targetPort: 80, publishedPort: 8080, protocol: 'tcp', publishMode: 'ingress' }] } },
  },
  {
    name: 'a Secret gets type Opaque and stringData merged into data as base64',
    manifest: `${V}\nkind: Secret\nmetadata: {name: creds}\ndata: {user: YWRtaW4=}\nstringData: {password: hunter2}`,
    expected: { type: 'Opaque', data: { user: 'YWRtaW4=', password: Buffer.from('hunter2').toString('base64') } },
  },
  {
    name: 'an Event gets type Normal and count 1',
    manifest: `${V}\nkind: Event\nmetadata: {name: web.1}\ninvolvedObject: {kind: Container, name: web}\nreason: Scheduled`,
    expected: { type: 'Normal', count: 1, metadata: { namespace: 'default' } },
  },
  {
    name: 'a Namespace stays cluster-scoped',
    manifest: `${V}\nkind: Namespace\nmetadata: {name: shop, labels: {team: web}}`,
    expected: { metadata: { name: 'shop', labels: { team: 'web' } } },
  },
];

describe('admit accepts valid manifests and applies defaults', () => {
  it.each(defaultsCases)('$name', ({ manifest, expected }) => {
    expect(admitYaml(manifest)).toMatchObject(expected);
  });

  it('normalizes unquoted quantities to strings', () => {
    const out = admitYaml(`${V}\nkind: Container\nmetadata: {name: web}\nspec:\n  image: x\n  resources: {limits: {cpu: 0.5, memory: 1024}}`);
    expect(out.spec.resources.limits).toEqual({ cpu: '0.5', memory: '1024' });
  });

  it('removes stringData after merging it', () => {
    const out = admitYaml(`${V}\nkind: Secret\nmetadata: {name: creds}\nstringData: {token: abc}`);
    expect(out).not.toHaveProperty('stringData');
  });

  it('does not give a global SwarmService replicas', () => {
    const out = admitYaml(`${V}\nkind: SwarmService\nmetadata: {name: agent}\nspec: {image: x, mode: global}`);
    expect(out.spec).not.toHaveProperty('replicas');
  });

  it('does not give a Namespace or Node a namespace', () => {
    expect(admitYaml(`${V}\nkind: Node\nmetadata: {name: n1}\nspec: {swarm: {role: ""}}`).metadata).not.toHaveProperty('namespace');
  });

  it('keeps an explicit selector that matches with expressions', () => {
    const out = admitYaml(
      `${V}\nkind: ContainerSet\nmetadata: {name: web}\nspec:\n  selector:\n    matchExpressions: [{key: app, operator: In, values: [web, www]}]\n  template:\n    metadata: {labels: {app: web, tier: front}}\n    spec: {image: x}`,
    );
    expect(out.spec.selector).toEqual({ matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'www'] }] });
  });

  it('does not modify its input', () => {
    const raw = parse(`${V}\nkind: Container\nmetadata: {name: web}\nspec: {image: x}`);
    const before = structuredClone(raw);
    admit(raw);
    expect(raw).toEqual(before);
  });
});

describe('admit accepts every shape the schema allows', () => {
  const valid: [string, string][] = [
    ['nulls as absent fields', `${V}\nkind: Container\nmetadata: {name: web, labels: null}\nspec: {image: x, command: null, healthcheck: null}`],
    ['an int64 written as a string', `${V}\nkind: ContainerSet\nmetadata: {name: web}\nspec:\n  template: {metadata: {labels: {app: web}}, spec: {image: x}}\n  autoscale: {minReplicas: 1, maxReplicas: 4, targetNetworkBytesPerSecond: "1000000"}`],
    ['generateName instead of name', `${V}\nkind: Container\nmetadata: {generateName: tick-}\nspec: {image: x}`],
    ['prefixed label keys and empty values', `${V}\nkind: Container\nmetadata: {name: web, labels: {persys.dev/app: web, empty: ""}}\nspec: {image: x}`],
    ['an env var from a secret', `${V}\nkind: Container\nmetadata: {name: web}\nspec:\n  image: x\n  env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: creds, key: token}}}, {name: my.var-1, value: ""}]`],
    ['a bind mount and a named volume', `${V}\nkind: Container\nmetadata: {name: web}\nspec:\n  image: x\n  volumes: [{mountPath: /data, volumeName: web_data}, {mountPath: /etc/app, hostPath: /srv/app, readOnly: true}]`],
    ['the same hostPort on TCP and UDP', `${V}\nkind: Container\nmetadata: {name: dns}\nspec:\n  image: x\n  ports: [{containerPort: 53, hostPort: 53}, {containerPort: 53, hostPort: 53, protocol: UDP}]`],
    ['requests equal to limits', `${V}\nkind: Container\nmetadata: {name: web}\nspec:\n  image: x\n  resources: {requests: {cpu: "0.5", memory: 1Gi}, limits: {cpu: 500m, memory: 1073741824}}`],
    ['a ComposeStack with env_file, configs and secrets from spec.files and persys objects, pull_policy and imagePullSecrets',
      `${V}\nkind: ComposeStack\nmetadata: {name: shop}\nspec:\n  compose: |\n    services:\n      web:\n        image: registry.example:5000/web:1\n        pull_policy: always\n        env_file: ./web.env\n        configs: [{source: nginx, target: /etc/nginx/nginx.conf}]\n        secrets: [tls]\n    configs:\n      nginx: {file: ./nginx.conf}\n    secrets:\n      tls: {external: true, name: web-tls, x-persys-key: tls.key}\n  files: {web.env: "A=1", nginx.conf: "events {}"}\n  imagePullSecrets: [{name: regcred}]`],
    ['a ComposeStack with scale', `${V}\nkind: ComposeStack\nmetadata: {name: shop}\nspec:\n  compose: |\n    services:\n      web: {image: nginx}\n      db: {image: postgres}\n  scale: {web: 3, db: 0}`],
    ['a ConfigMap with text, binary data and dotted keys', `${V}\nkind: ConfigMap\nmetadata: {name: web}\ndata: {nginx.conf: "server { listen 80; }\\n", .env: "A=1"}\nbinaryData: {logo.png: iVBORw0KGgo=}\nimmutable: true`],
    ['a ConfigMap of exactly 1 MiB', `${V}\nkind: ConfigMap\nmetadata: {name: big}\ndata: {a: "${'x'.repeat(1024 * 1024 - 3)}"}\nbinaryData: {b: YWJj}`],
    [
      'a Container with pull policy, pull secrets, configMapKeyRef and envFrom',
      `${V}\nkind: Container\nmetadata: {name: web}\nspec:\n  image: registry.local:5000/web:1\n  imagePullPolicy: IfNotPresent\n  imagePullSecrets: [{name: regcred}]\n  env: [{name: MODE, valueFrom: {configMapKeyRef: {name: app, key: mode, optional: true}}}]\n  envFrom: [{configMapRef: {name: app}}, {prefix: DB_, secretRef: {name: db, optional: true}}]`,
    ],
    [
      'ConfigMap and Secret volumes with items, modes and a subPath',
      `${V}\nkind: Container\nmetadata: {name: web}\nspec:\n  image: x\n  volumes:\n  - {mountPath: /etc/app, configMap: {name: app, defaultMode: 0o644}}\n  - mountPath: /etc/tls\n    readOnly: false\n    secret: {secretName: tls, defaultMode: 256, items: [{key: tls.crt, path: certs/tls.crt}, {key: tls.key, path: private/tls.key, mode: 0o400}]}\n  - mountPath: /etc/nginx/nginx.conf\n    configMap: {name: web, items: [{key: nginx, path: nginx.conf}]}\n    subPath: nginx.conf\n  - {mountPath: /etc/app.ini, configMap: {name: app}, subPath: app.ini}`,
    ],
    ['a ContainerSet template with pull secrets and a ConfigMap volume', `${V}\nkind: ContainerSet\nmetadata: {name: web}\nspec:\n  rolloutOnConfigChange: true\n  template:\n    metadata: {labels: {app: web}}\n    spec: {image: x, imagePullPolicy: Always, imagePullSecrets: [{name: regcred}], volumes: [{mountPath: /etc/app, configMap: {name: app}}]}`],
    ['a CronJob job template with envFrom a Secret', `${V}\nkind: CronJob\nmetadata: {name: tick}\nspec:\n  schedule: "@daily"\n  jobTemplate: {spec: {image: x, imagePullPolicy: Never, envFrom: [{secretRef: {name: creds}}]}}`],
    ['a ComposeStack with imagePullSecrets', `${V}\nkind: ComposeStack\nmetadata: {name: shop}\nspec:\n  compose: "services: {web: {image: nginx}}"\n  imagePullSecrets: [{name: regcred}]`],
    ['a SwarmService with imagePullSecrets', `${V}\nkind: SwarmService\nmetadata: {name: api}\nspec: {image: x, imagePullSecrets: [{name: regcred}]}`],
    ['a Lease', `${V}\nkind: Lease\nmetadata: {name: scheduler, namespace: persys-system}\nspec: {holderIdentity: a, leaseDurationSeconds: 15, renewTime: "2024-01-01T00:00:00Z"}`],
    ['a Node with usage in status', `${V}\nkind: Node\nmetadata: {name: n1}\nspec: {swarm: {role: manager}}\nstatus: {usage: {cpuPercent: 12.5, memoryBytes: "1048576"}}`],
  ];
  it.each(valid)('accepts %s', (_name, manifest) => {
    expect(() => admitYaml(manifest)).not.toThrow();
  });

  it('leaves imagePullPolicy empty: the agent defaults it from the tag', () => {
    const out = admitYaml(`${V}\nkind: Container\nmetadata: {name: web}\nspec: {image: "x:latest"}`);
    expect(out.spec).not.toHaveProperty('imagePullPolicy');
  });

  it('accepts registry credentials from stringData under either Secret type, storing them in data', () => {
    const json = dockerConfigJson('127.0.0.1:5000', 'alice', 's3cret-pw');
    for (const type of ['persys.dev/dockerconfigjson', 'kubernetes.io/dockerconfigjson']) {
      const out = admit({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'regcred' }, type, stringData: { '.dockerconfigjson': json } });
      expect(Buffer.from((out['data'] as Record<string, string>)['.dockerconfigjson']!, 'base64').toString()).toBe(json);
    }
  });

  it('never repeats a credential in the error about a malformed dockerconfigjson', () => {
    const bad = '{"auths":{"r.example":{"password":"s3cret-pw"}}}';
    let err: unknown;
    try {
      admit({ apiVersion: 'persys.dev/v1', kind: 'Secret', metadata: { name: 'regcred' }, type: 'persys.dev/dockerconfigjson', stringData: { '.dockerconfigjson': bad } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toContain('data[.dockerconfigjson]: auths["r.example"] needs username');
    expect((err as ValidationError).message).not.toContain('s3cret-pw');
  });

  it('drops null fields from the output', () => {
    const out = admitYaml(valid[0]![1]);
    expect(out.metadata).not.toHaveProperty('labels');
    expect(out.spec).not.toHaveProperty('command');
  });

  it.each([
    '*/5 * * * *',
    '0 */5 * * * *',
    '30 2 * * 1-5',
    '@hourly',
    '@daily',
    '@weekly',
    '@monthly',
    '@yearly',
    '@annually',
    '@midnight',
    '@every 10s',
    '@every 5m',
    '@every 1h30m',
  ])('accepts the CronJob schedule %s in Europe/Berlin', (schedule) => {
    const manifest = `${V}\nkind: CronJob\nmetadata: {name: tick}\nspec:\n  schedule: "${schedule}"\n  timeZone: Europe/Berlin\n  jobTemplate: {spec: {image: x}}`;
    expect(admitYaml(manifest).spec.schedule).toBe(schedule);
  });
});

describe('admit for the status subresource and updates', () => {
  it('checks only metadata and status on UpdateStatus', () => {
    // The spec here would fail create-time validation (no image), but status writes must not re-judge it.
    const out = admitYaml(`${V}\nkind: Container\nmetadata: {name: web}\nspec: {command: [sh]}\nstatus: {phase: Running, restartCount: 2}`, {
      subresource: 'status',
    });
    expect(out.status).toEqual({ phase: 'Running', restartCount: 2 });
    expect(out.spec).not.toHaveProperty('restartPolicy');
  });

  it('allows an immutable Secret to be written again unchanged', () => {
    const old = admitYaml(`${V}\nkind: Secret\nmetadata: {name: s}\nimmutable: true\ndata: {a: YQ==}`);
    expect(() => admit(structuredClone(old), { old })).not.toThrow();
  });

  it('allows an immutable ConfigMap to be written again unchanged, and a mutable one to change', () => {
    const frozen = admitYaml(`${V}\nkind: ConfigMap\nmetadata: {name: c}\nimmutable: true\ndata: {a: b}\nbinaryData: {c: YQ==}`);
    expect(() => admit(structuredClone(frozen), { old: frozen })).not.toThrow();
    const old = admitYaml(`${V}\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}`);
    expect(() => admitYaml(`${V}\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: c}\nimmutable: true`, { old })).not.toThrow();
  });

  it('allows a mutable Secret to change its data', () => {
    const old = admitYaml(`${V}\nkind: Secret\nmetadata: {name: s}\ndata: {a: YQ==}`);
    expect(() => admitYaml(`${V}\nkind: Secret\nmetadata: {name: s}\ndata: {a: Yg==}`, { old })).not.toThrow();
  });
});
