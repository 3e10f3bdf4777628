import { describe, expect, it } from 'vitest';
import type { ComposeProject, ComposeService, ParseComposeOptions } from './model.js';
import { normalizeProjectName, parseComposeProject } from './parse.js';

const OPTS: ParseComposeOptions = { projectName: 'shop', env: {}, scale: {} };

function project(text: string, opts: Partial<ParseComposeOptions> = {}): ComposeProject {
  const r = parseComposeProject(text, { ...OPTS, ...opts });
  if (!r.project) throw new Error(`unexpected errors: ${r.errors.join('; ')}`);
  return r.project;
}

/** A file with one service "web" whose body is given as YAML lines, plus top-level YAML. */
const web = (body: string, top = '') => `services:\n  web:\n    image: nginx\n${body.replace(/^/gm, '    ')}\n${top}`;

const webOf = (text: string, opts: Partial<ParseComposeOptions> = {}): ComposeService => project(text, opts).services[0]!;

const FORMS: [string, string, Partial<ComposeService>, Partial<ParseComposeOptions>?][] = [
  ['a minimal service with the defaults', web(''), {
    name: 'web', image: 'nginx', pullPolicy: 'missing', environment: {}, ports: [], volumes: [], fileMounts: [], restart: 'no', labels: {},
    replicas: 1, resources: {}, dependsOn: [], networks: [{ key: 'default', aliases: [] }],
  }],
  ['a command string split like a shell', web(`command: sh -c 'echo "a b" && sleep 1'`), { command: ['sh', '-c', 'echo "a b" && sleep 1'] }],
  ['a command list taken as is, numbers as strings', web('command: [sleep, 10]'), { command: ['sleep', '10'] }],
  ['an entrypoint string and list', web('entrypoint: /bin/sh -c\ncommand: ["echo $$HOME"]'), { entrypoint: ['/bin/sh', '-c'], command: ['echo $HOME'] }],
  ['environment as a list with a bare key from env', web('environment: [A=1, "B=x=y", FROM_ENV, NOT_SET]'),
    { environment: { A: '1', B: 'x=y', FROM_ENV: 'yes' } }, { env: { FROM_ENV: 'yes' } }],
  ['environment as a map with typed and null values', web('environment: {A: 1, B: true, C: "", FROM_ENV: null, NOT_SET:}'),
    { environment: { A: '1', B: 'true', C: '', FROM_ENV: 'yes' } }, { env: { FROM_ENV: 'yes' } }],
  ['short ports', web('ports: ["80", 81, "8080:80", "127.0.0.1:8443:443", "53:53/udp", "127.0.0.1::9000", "[::1]:6000:6000/tcp"]'), {
    ports: [
      { target: 80, protocol: 'tcp' },
      { target: 81, protocol: 'tcp' },
      { target: 80, published: 8080, protocol: 'tcp' },
      { target: 443, published: 8443, protocol: 'tcp', hostIp: '127.0.0.1' },
      { target: 53, published: 53, protocol: 'udp' },
      { target: 9000, protocol: 'tcp', hostIp: '127.0.0.1' },
      { target: 6000, published: 6000, protocol: 'tcp', hostIp: '::1' },
    ],
  }],
  ['long ports', web('ports:\n- {target: 80, published: "8080", protocol: udp, host_ip: 0.0.0.0, mode: host}\n- target: 90'), {
    ports: [{ target: 80, published: 8080, protocol: 'udp', hostIp: '0.0.0.0' }, { target: 90, protocol: 'tcp' }],
  }],
  ['short volumes: named, read-only, bind and anonymous', web('volumes: ["data:/var/lib/data:ro", "/srv/www:/usr/share/nginx/html", "/cache", "logs:/logs:rw,cached"]', 'volumes: {data: {}, logs:}'), {
    volumes: [
      { type: 'volume', source: 'data', target: '/var/lib/data', readOnly: true },
      { type: 'bind', source: '/srv/www', target: '/usr/share/nginx/html', readOnly: false },
      { type: 'volume', target: '/cache', readOnly: false },
      { type: 'volume', source: 'logs', target: '/logs', readOnly: false },
    ],
  }],
  ['long volumes and tmpfs', web('volumes:\n- {type: volume, source: data, target: /data, read_only: true}\n- {type: bind, source: /etc/app, target: /etc/app}\n- {type: tmpfs, target: /scratch}\ntmpfs: /run', 'volumes: {data: {}}'), {
    volumes: [
      { type: 'volume', source: 'data', target: '/data', readOnly: true },
      { type: 'bind', source: '/etc/app', target: '/etc/app', readOnly: false },
      { type: 'tmpfs', target: '/scratch', readOnly: false },
      { type: 'tmpfs', target: '/run', readOnly: false },
    ],
  }],
  ['a healthcheck test string as CMD-SHELL with durations', web('healthcheck: {test: "wget -q localhost || exit 1", interval: 1m30s, timeout: 5s, start_period: 500ms, retries: 3}'), {
    healthcheck: { test: ['CMD-SHELL', 'wget -q localhost || exit 1'], intervalMs: 90_000, timeoutMs: 5000, startPeriodMs: 500, retries: 3 },
  }],
  ['a healthcheck test list as is', web('healthcheck: {test: [CMD, pg_isready, -U, app]}'), { healthcheck: { test: ['CMD', 'pg_isready', '-U', 'app'] } }],
  ['a disabled healthcheck as NONE', web('healthcheck: {disable: true}'), { healthcheck: { test: ['NONE'] } }],
  ['restart on-failure with a count', web('restart: "on-failure:3"'), { restart: 'on-failure:3' }],
  ['deploy.restart_policy when restart is unset', web('deploy: {restart_policy: {condition: on-failure, max_attempts: 5}}'), { restart: 'on-failure:5' }],
  ['labels as a list and a bare key', web('labels: ["tier=front", "canary"]'), { labels: { tier: 'front', canary: '' } }],
  ['labels as a map', web('labels: {tier: front, weight: 5}'), { labels: { tier: 'front', weight: '5' } }],
  ['deploy.replicas', web('deploy: {replicas: 3}'), { replicas: 3 }],
  ['scale', web('scale: 2'), { replicas: 2 }],
  ['the stack\'s scale overriding the file', web('deploy: {replicas: 3}'), { replicas: 0 }, { scale: { web: 0 } }],
  ['deploy resources in compose byte units', web('deploy:\n  resources:\n    limits: {cpus: "0.5", memory: 512M}\n    reservations: {memory: 100k, cpus: "0.25"}'), {
    resources: { nanoCpus: 500_000_000, memoryBytes: 512 * 1024 ** 2, memoryReservationBytes: 102_400 },
  }],
  ['service-level cpus and mem_limit', web('cpus: 1.5\nmem_limit: 1g'), { resources: { nanoCpus: 1_500_000_000, memoryBytes: 1024 ** 3 } }],
  ['working_dir, user and hostname', web('working_dir: /app\nuser: 1000\nhostname: web1'), { workingDir: '/app', user: '1000', hostname: 'web1' }],
  ['networks as a map with aliases', web('networks:\n  front: {aliases: [www, site]}\n  back:', 'networks: {front: {}, back: {}}'), {
    networks: [{ key: 'front', aliases: ['www', 'site'] }, { key: 'back', aliases: [] }],
  }],
  ['networks as a list', web('networks: [front, default]', 'networks: {front: {}}'), { networks: [{ key: 'front', aliases: [] }, { key: 'default', aliases: [] }] }],
  ['interpolated values from env', web('environment: {TAG: "${TAG:-latest}", REQUIRED: "${DB:?set DB}"}\nports: ["${PORT}:80"]'),
    { environment: { TAG: 'latest', REQUIRED: 'postgres' }, ports: [{ target: 80, published: 8080, protocol: 'tcp' }] }, { env: { DB: 'postgres', PORT: '8080' } }],
  ['build ignored when an image is set, and expose accepted', web('build: .\nexpose: ["3000"]'), { image: 'nginx' }],
  ['pull_policy always', web('pull_policy: always'), { pullPolicy: 'always' }],
  ['pull_policy never', web('pull_policy: never'), { pullPolicy: 'never' }],
  ['pull_policy if_not_present read as missing', web('pull_policy: if_not_present'), { pullPolicy: 'missing' }],
  ['env_file variables under environment, which wins', web('env_file: ./app.env\nenvironment: {B: from-environment}'),
    { environment: { A: '1', B: 'from-environment', C: 'x y' } }, { files: { 'app.env': 'A=1\nB=from-file\nC="x y"\n' } }],
  ['env_files in order, the later winning, an optional one absent', web('env_file:\n- a.env\n- {path: ./b.env, required: true}\n- {path: gone.env, required: false}'),
    { environment: { A: 'a', B: 'b', SHARED: 'from-b' } }, { files: { './a.env': 'A=a\nSHARED=from-a', 'b.env': 'B=b\nSHARED=from-b' } }],
  ['a short secret mounted under /run/secrets, mode 0444 by root', web('secrets: [db_password]', 'secrets:\n  db_password: {external: true}'), {
    fileMounts: [{ origin: 'secrets.db_password', target: '/run/secrets/db_password', mode: 0o444, uid: 0, gid: 0, source: { kind: 'Secret', name: 'db_password' } }],
  }],
  ['a long secret with a relative target, owner and octal mode', web('secrets:\n- {source: tls, target: server.key, uid: "101", gid: 101, mode: 0400}', 'secrets:\n  tls: {external: true, name: web-tls, x-persys-key: tls.key}'), {
    fileMounts: [{ origin: 'secrets.tls', target: '/run/secrets/server.key', mode: 0o400, uid: 101, gid: 101, source: { kind: 'Secret', name: 'web-tls', key: 'tls.key' } }],
  }],
  ['a short config mounted at /<source>', web('configs: [app.conf]', 'configs:\n  app.conf: {external: true}'), {
    fileMounts: [{ origin: 'configs.app.conf', target: '/app.conf', mode: 0o444, uid: 0, gid: 0, source: { kind: 'ConfigMap', name: 'app.conf' } }],
  }],
  ['configs from content and from spec.files, modes as a string', web('configs:\n- {source: greeting, target: /etc/greeting, mode: "0440"}\n- {source: nginx, target: /etc/nginx/nginx.conf}', 'configs:\n  greeting: {content: "hello ${WHO}"}\n  nginx: {file: ./conf/nginx.conf}'), {
    fileMounts: [
      { origin: 'configs.greeting', target: '/etc/greeting', mode: 0o440, uid: 0, gid: 0, source: { kind: 'inline', content: 'hello world' } },
      { origin: 'configs.nginx', target: '/etc/nginx/nginx.conf', mode: 0o444, uid: 0, gid: 0, source: { kind: 'inline', content: 'events {}\n' } },
    ],
  }, { env: { WHO: 'world' }, files: { 'conf/nginx.conf': 'events {}\n' } }],
  ['YAML merge keys from an x- anchor', 'x-base: &base\n  restart: always\n  labels: {tier: front}\nservices:\n  web:\n    <<: *base\n    image: nginx\n', { restart: 'always', labels: { tier: 'front' } }],
];

describe('parseComposeProject normalizes each compose form', () => {
  it('covers at least 20 forms', () => {
    expect(FORMS.length).toBeGreaterThanOrEqual(20);
  });

  it.each(FORMS)('%s', (_name, text, expected, opts) => {
    expect(webOf(text, opts)).toMatchObject(expected);
  });
});

describe('parseComposeProject builds the project', () => {
  const text = `
version: "3.9"
name: ignored-name
x-notes: anything
services:
  web:
    image: nginx
    depends_on: [api]
    networks: [front]
  api:
    image: api:1
    depends_on:
      db: {condition: service_healthy}
    networks: [front, default]
    volumes: [cache:/cache]
  db:
    image: postgres
    volumes: [data:/var/lib/postgresql/data]
networks:
  front: {driver: bridge, labels: [team=web]}
  unused: {}
volumes:
  data: {name: shop-data, labels: {keep: "yes"}}
  cache: {external: true}
  unused: {}
`;

  it('names the project from options, lowercased the way Compose normalizes it, ignoring the file\'s name', () => {
    expect(project(text, { projectName: 'Shop.V2' }).name).toBe('shopv2');
    expect(normalizeProjectName('_My App-1')).toBe('myapp-1');
  });

  it('keeps services in the file\'s order with depends_on conditions (list form = service_started)', () => {
    const p = project(text);
    expect(p.services.map((s) => s.name)).toEqual(['web', 'api', 'db']);
    expect(p.services[0]!.dependsOn).toEqual([{ service: 'api', condition: 'service_started' }]);
    expect(p.services[1]!.dependsOn).toEqual([{ service: 'db', condition: 'service_healthy' }]);
  });

  it('lists only used networks, the implicit default as PROJECT_default', () => {
    expect(project(text).networks).toEqual([
      { key: 'default', name: 'shop_default', external: false, labels: {} },
      { key: 'front', name: 'shop_front', external: false, driver: 'bridge', labels: { team: 'web' } },
    ]);
  });

  it('lists only used volumes named PROJECT_KEY unless name: or external', () => {
    expect(project(text).volumes).toEqual([
      { key: 'data', name: 'shop-data', external: false, labels: { keep: 'yes' } },
      { key: 'cache', name: 'cache', external: true, labels: {} },
    ]);
  });

  it('names an external network by its name: and a declared default network by its settings', () => {
    const p = project(web('networks: [proxy]', 'networks:\n  proxy: {external: true, name: traefik}\n  default: {name: shared}'));
    expect(p.networks).toEqual([{ key: 'proxy', name: 'traefik', external: true, labels: {} }]);
    const q = project(web('', 'networks:\n  default: {name: shared}'));
    expect(q.networks).toEqual([{ key: 'default', name: 'shared', external: false, labels: {} }]);
  });

  it('gives every service a configHash that ignores replicas but follows its config', () => {
    const a = project(web('deploy: {replicas: 1}')).services[0]!;
    const scaled = project(web('deploy: {replicas: 4}')).services[0]!;
    const changed = project(web('environment: [A=1]')).services[0]!;
    expect(a.configHash).toMatch(/^[0-9a-f]{64}$/);
    expect(scaled.configHash).toBe(a.configHash);
    expect(changed.configHash).not.toBe(a.configHash);
    expect(project(web('deploy: {replicas: 1}'), { scale: { web: 7 } }).services[0]!.configHash).toBe(a.configHash);
  });

  it('gives the same configHash whatever the order of keys in the file', () => {
    const one = project('services:\n  web:\n    image: nginx\n    environment: {A: "1", B: "2"}\n    labels: {x: "1", y: "2"}\n');
    const two = project('services:\n  web:\n    labels: {y: "2", x: "1"}\n    environment: [B=2, A=1]\n    image: nginx\n');
    expect(two.services[0]!.configHash).toBe(one.services[0]!.configHash);
  });

  it('changes no configHash when only pull_policy or a mounted file\'s content changes', () => {
    const secret = 'secrets:\n  s: {content: one}';
    const a = webOf(web('secrets: [s]', secret));
    expect(webOf(web('secrets: [s]\npull_policy: always', secret)).configHash).toBe(a.configHash);
    expect(webOf(web('secrets: [s]', 'secrets:\n  s: {content: two}')).configHash).toBe(a.configHash);
    expect(webOf(web('secrets: [{source: s, target: other}]', secret)).configHash).not.toBe(a.configHash);
  });

  it('reads 0440 as octal, as Compose\'s YAML reader does', () => {
    expect(webOf(web('secrets: [{source: s, mode: 0440}]', 'secrets:\n  s: {content: x}')).fileMounts[0]!.mode).toBe(0o440);
  });

  it('does not expand a variable the file names only as a key', () => {
    expect(webOf(web('environment: {$HOME: x}'), { env: { HOME: '/root' } }).environment).toEqual({ $HOME: 'x' });
  });
});
