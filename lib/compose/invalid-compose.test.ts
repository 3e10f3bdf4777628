// Compose files persys must refuse, each with the message naming the place: checked both in the
// parser and through admit(), the path the API server takes for a ComposeStack.
import { describe, expect, it } from 'vitest';
import { admit, ValidationError } from '../../apiserver/validation/index.js';
import { parseComposeProject } from './parse.js';

interface InvalidComposeCase {
  name: string;
  compose: string;
  message: string;
  env?: Record<string, string>;
  /** The stack's spec.files. */
  files?: Record<string, string>;
}

const web = (body: string, top = '') => `services:\n  web:\n    image: nginx\n${body.replace(/^/gm, '    ')}\n${top}`;
const aliasBomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
  .concat(['b', 'c', 'd', 'e', 'f'].map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdef'[i]}`).join(', ')}]`))
  .concat(['services: {web: {image: nginx}}'])
  .join('\n');

const CASES: InvalidComposeCase[] = [
  { name: 'build without image', compose: 'services:\n  web:\n    build: .\n', message: 'services.web.build: persys cannot build images: set image' },
  { name: 'a service without image or build', compose: 'services:\n  web:\n    command: [true]\n', message: 'services.web: image is required' },
  { name: 'an unknown service key', compose: web('foo: 1'), message: "services.web additional property 'foo' is not allowed" },
  { name: 'an unknown top-level key', compose: `${web('')}service: {}\n`, message: "(root) additional property 'service' is not allowed" },
  { name: 'an unknown key in a long port', compose: web('ports:\n- {target: 80, publish: 8080}'), message: "services.web.ports[0] additional property 'publish' is not allowed" },
  { name: 'an env_file not in spec.files', compose: web('env_file: .env'), message: 'services.web.env_file: file ".env" is not in spec.files' },
  {
    name: 'a required env_file of a list not in spec.files',
    compose: web('env_file: [a.env, {path: ./b.env, required: true}, {path: c.env, required: false}]'),
    files: { 'a.env': 'A=1' },
    message: 'services.web.env_file[1]: file "./b.env" is not in spec.files',
  },
  { name: 'an env_file format', compose: web('env_file: [{path: a.env, format: raw}]'), files: { 'a.env': 'A=1' }, message: 'services.web.env_file[0].format: persys does not support format' },
  { name: 'an env_file with a bad variable name', compose: web('env_file: .env'), files: { '.env': 'A=1\nnot a name=2\n' }, message: 'services.web.env_file: ".env" line 2: invalid variable name "not a name"' },
  { name: 'an env_file with an unterminated quote', compose: web('env_file: .env'), files: { '.env': 'A="open\n' }, message: 'services.web.env_file: ".env" line 1: unterminated double quote in the value of A' },
  { name: 'a pull_policy build', compose: web('pull_policy: build'), message: 'services.web.pull_policy: build: persys does not build images; push the image to a registry and refer to it with image' },
  { name: 'a pull_policy daily', compose: web('pull_policy: daily'), message: 'services.web.pull_policy: persys does not support pull_policy "daily": use always, missing or never' },
  { name: 'an undeclared secret', compose: web('secrets: [token]'), message: 'secrets: "token" used by services.web is not declared' },
  { name: 'an undeclared config', compose: web('configs: [{source: app, target: /etc/app.conf}]'), message: 'configs: "app" used by services.web is not declared' },
  { name: 'a config file not in spec.files', compose: web('configs: [app]', 'configs:\n  app: {file: ./app.conf}'), message: 'configs.app.file: file "./app.conf" is not in spec.files' },
  { name: 'a secret from the environment', compose: web('secrets: [token]', 'secrets:\n  token: {environment: TOKEN}'), message: "secrets.token.environment: persys does not support environment: a stack may not read the node's environment" },
  { name: 'a config without a source', compose: web('configs: [app]', 'configs:\n  app: {name: app}'), message: 'configs.app: one of external: true, content or file is required' },
  { name: 'an external config with content', compose: web('configs: [app]', 'configs:\n  app: {external: true, content: x}'), message: 'configs.app: conflicting parameters "external" and "content" specified' },
  { name: 'a secret driver', compose: web('secrets: [token]', 'secrets:\n  token: {driver: vault, external: true}'), message: 'secrets.token.driver: persys does not support driver' },
  { name: 'a config template_driver', compose: web('configs: [app]', 'configs:\n  app: {content: x, template_driver: golang}'), message: 'configs.app.template_driver: persys does not support template_driver' },
  { name: 'x-persys-key on an inline config', compose: web('configs: [app]', 'configs:\n  app: {content: x, x-persys-key: k}'), message: 'configs.app.x-persys-key: applies only to external: true' },
  { name: 'a file mode that is not octal', compose: web('secrets: [{source: token, mode: rw}]', 'secrets:\n  token: {external: true}'), message: 'services.web.secrets[0].mode must be a file mode (an octal number such as 0440), got "rw"' },
  { name: 'a file target climbing out', compose: web('secrets: [{source: token, target: ../etc/passwd}]', 'secrets:\n  token: {external: true}'), message: 'services.web.secrets[0].target: "../etc/passwd" must not contain ".."' },
  { name: 'an unknown key in a service secret', compose: web('secrets: [{source: token, path: /x}]', 'secrets:\n  token: {external: true}'), message: "services.web.secrets[0] additional property 'path' is not allowed" },
  {
    name: 'a config file where a volume is mounted',
    compose: web('volumes: ["/srv:/etc/app"]\nconfigs: [{source: app, target: /etc/app}]', 'configs:\n  app: {content: x}'),
    message: 'services.web: duplicate mount target "/etc/app" (configs.app)',
  },
  { name: 'extends', compose: web('extends: {file: base.yml, service: web}'), message: 'services.web.extends: persys does not support extends' },
  { name: 'network_mode host', compose: web('network_mode: host'), message: 'services.web.network_mode: persys does not support network_mode' },
  { name: 'privileged', compose: web('privileged: true'), message: "services.web.privileged: persys does not support privileged: a stack may not change its containers' isolation" },
  { name: 'container_name', compose: web('container_name: my-web'), message: 'services.web.container_name: persys does not support container_name' },
  { name: 'profiles', compose: web('profiles: [debug]'), message: 'services.web.profiles: persys does not support profiles' },
  { name: 'a depends_on on an undefined service', compose: web('depends_on: [nope]'), message: 'services.web.depends_on: service "nope" is not defined' },
  {
    name: 'a dependency cycle',
    compose: 'services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: {c: {condition: service_healthy}}}\n  c: {image: x, depends_on: [a]}\n',
    message: 'services.a.depends_on: dependency cycle: a -> b -> c -> a',
  },
  { name: 'an unknown depends_on condition', compose: `${web('depends_on: {db: {condition: service_ready}}')}  db: {image: postgres}\n`, message: 'services.web.depends_on.db.condition: invalid condition "service_ready"' },
  { name: 'a port that is not a number', compose: web('ports: [abc]'), message: 'services.web.ports[0]: invalid port "abc"' },
  { name: 'a port range', compose: web('ports: ["8000-8010:80"]'), message: 'services.web.ports[0]: port ranges ("8000-8010") are not supported' },
  { name: 'a port above 65535', compose: web('ports: ["70000:80"]'), message: 'services.web.ports[0]: invalid port "70000": must be 1-65535' },
  { name: 'an SCTP port', compose: web('ports: ["80/sctp"]'), message: 'services.web.ports[0]: unsupported protocol "sctp"' },
  { name: 'the same published port on two services', compose: `${web('ports: ["8080:80"]')}  api: {image: api, ports: ["8080:3000"]}\n`, message: 'services.api.ports: published port 8080/tcp is already published by services.web' },
  { name: 'an undeclared named volume', compose: 'services:\n  db:\n    image: postgres\n    volumes: [data:/var/lib/postgresql/data]\n', message: 'volumes: "data" used by services.db is not declared' },
  { name: 'a relative bind mount', compose: web('volumes: ["./html:/usr/share/nginx/html"]'), message: 'services.web.volumes[0]: relative bind mount "./html" is not supported: the server has no project directory' },
  { name: 'a home-relative bind mount', compose: web('volumes:\n- {type: bind, source: ~/html, target: /html}'), message: 'services.web.volumes[0].source: relative bind mount "~/html" is not supported' },
  { name: 'a relative mount target', compose: web('volumes: ["/srv:srv"]'), message: 'services.web.volumes[0]: mount target "srv" must be an absolute path' },
  { name: 'volume driver_opts', compose: web('volumes: [data:/d]', 'volumes:\n  data: {driver_opts: {type: nfs}}'), message: 'volumes.data.driver_opts: persys does not support driver_opts' },
  { name: 'an undeclared network', compose: web('networks: [front]'), message: 'networks: "front" used by services.web is not declared' },
  { name: 'an external network with a driver', compose: web('networks: [proxy]', 'networks:\n  proxy: {external: true, driver: overlay}'), message: 'networks.proxy: conflicting parameters "external" and "driver" specified' },
  { name: 'invalid YAML, with its line and column', compose: 'services:\n  web:\n    image: x\n   bad: 1\n', message: 'invalid YAML: All mapping items must start at the same column at line 4, column 1' },
  { name: 'duplicate keys', compose: 'services:\n  web: {image: a}\n  web: {image: b}\n', message: 'invalid YAML: Map keys must be unique at line 3' },
  { name: 'an alias bomb', compose: aliasBomb, message: 'invalid YAML: Excessive alias count' },
  { name: 'a file that is a list', compose: '- web\n', message: 'must be a YAML mapping (a compose file)' },
  { name: 'no services', compose: 'volumes: {data: {}}\n', message: 'services: must be a non-empty mapping' },
  { name: 'an image that is a number', compose: 'services:\n  web: {image: 5}\n', message: 'services.web.image must be a string, got a number' },
  { name: 'a missing required variable', compose: web('environment: {DB: "${DB_URL:?set DB_URL in spec.env}"}'), message: 'services.web.environment.DB: required variable DB_URL is missing a value: set DB_URL in spec.env' },
  { name: 'an unescaped $', compose: web('command: echo $1'), message: 'services.web.command: invalid interpolation format "echo $1": escape a literal $ as $$' },
  { name: 'an unterminated quote in command', compose: web(`command: sh -c 'echo hi`), message: "services.web.command: unterminated single quote in \"sh -c 'echo hi\"" },
  { name: 'a healthcheck duration without unit', compose: web('healthcheck: {test: [CMD, "true"], interval: "10"}'), message: 'services.web.healthcheck.interval: invalid duration "10"' },
  { name: 'a healthcheck test without CMD', compose: web('healthcheck: {test: [curl, localhost]}'), message: 'services.web.healthcheck.test: must start with "CMD" or "CMD-SHELL"' },
  { name: 'a memory limit that is not a size', compose: web('deploy: {resources: {limits: {memory: lots}}}'), message: 'services.web.deploy.resources.limits.memory: invalid size "lots"' },
  { name: 'zero cpus', compose: web('deploy: {resources: {limits: {cpus: "0"}}}'), message: 'services.web.deploy.resources.limits.cpus: invalid cpus "0"' },
  { name: 'a pids limit', compose: web('deploy: {resources: {limits: {pids: 100}}}'), message: 'services.web.deploy.resources.limits.pids: persys does not support pids' },
  { name: 'distinct scale and deploy.replicas', compose: web('scale: 2\ndeploy: {replicas: 3}'), message: "services.web: can't set distinct values on 'scale' and 'deploy.replicas'" },
  { name: 'a global deploy mode', compose: web('deploy: {mode: global}'), message: 'services.web.deploy.mode: persys does not support mode "global"' },
  { name: 'an unknown restart policy', compose: web('restart: sometimes'), message: 'services.web.restart: invalid restart policy "sometimes"' },
  { name: "a label in Compose's namespace", compose: web('labels: {com.docker.compose.project: other}'), message: 'services.web.labels: label "com.docker.compose.project" is reserved for Compose' },
  { name: 'a relative working_dir', compose: web('working_dir: app'), message: 'services.web.working_dir: "app" must be an absolute path' },
  { name: 'a static IP address', compose: web('networks:\n  default: {ipv4_address: 10.0.0.5}'), message: 'services.web.networks.default.ipv4_address: persys does not support ipv4_address' },
];

function admitErrors(c: InvalidComposeCase): string[] {
  const manifest = {
    apiVersion: 'persys.dev/v1',
    kind: 'ComposeStack',
    metadata: { name: 'shop', namespace: 'default' },
    spec: { compose: c.compose, ...(c.env && { env: c.env }), ...(c.files && { files: c.files }) },
  };
  try {
    admit(manifest);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return e.errors.filter((x) => x.path === 'spec.compose').map((x) => x.message);
  }
  throw new Error('admit() accepted the ComposeStack');
}

describe('invalid compose files', () => {
  it('covers at least 20 files', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
  });

  it.each(CASES)('the parser refuses $name', (c) => {
    const r = parseComposeProject(c.compose, { projectName: 'shop', env: c.env ?? {}, scale: {}, files: c.files ?? {} });
    expect(r.project).toBeUndefined();
    expect(r.errors.join('\n')).toContain(c.message);
  });

  it.each(CASES)('admit() refuses a ComposeStack with $name at spec.compose', (c) => {
    expect(admitErrors(c).join('\n')).toContain(c.message);
  });

  it('reports every problem in a file at once, not only the first', () => {
    const r = parseComposeProject(web('env_file: .env\nports: [abc]\nfoo: 1'), { projectName: 'shop', env: {}, scale: {} });
    expect(r.errors).toHaveLength(3);
  });

  it('accepts the variable the stack supplies where the file requires one', () => {
    const compose = web('environment: {DB: "${DB_URL:?set DB_URL}"}');
    const r = parseComposeProject(compose, { projectName: 'shop', env: { DB_URL: 'postgres://db' }, scale: {} });
    expect(r.project?.services[0]!.environment).toEqual({ DB: 'postgres://db' });
  });
});
