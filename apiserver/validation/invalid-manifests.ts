// The rejection table shared by the validation unit tests and the API e2e tests: each invalid
// manifest must be refused with an error at an exact field path.
import { parse } from 'yaml';
import { MAX_OBJECT_BYTES, type AdmitOptions } from './index.js';
import { API_VERSION } from '../../lib/api/kinds.js';

const V = 'apiVersion: persys.dev/v1';

/** A Container manifest (YAML text) around a spec given as YAML lines indented by 2. */
export const container = (spec: string, meta = 'name: web') =>
  `${V}\nkind: Container\nmetadata:\n  ${meta}\nspec:\n${spec.replace(/^/gm, '  ')}`;
const containerSet = (spec: string) => `${V}\nkind: ContainerSet\nmetadata:\n  name: web\nspec:\n${spec.replace(/^/gm, '  ')}`;
const cronJob = (spec: string) => `${V}\nkind: CronJob\nmetadata:\n  name: tick\nspec:\n${spec.replace(/^/gm, '  ')}`;
const swarm = (spec: string) => `${V}\nkind: SwarmService\nmetadata:\n  name: api\nspec:\n${spec.replace(/^/gm, '  ')}`;
const compose = (file: string, extra = '') =>
  ({ apiVersion: API_VERSION, kind: 'ComposeStack', metadata: { name: 'shop' }, spec: { compose: file, ...parse(extra || '{}') } });

const TEMPLATE = `template:
  metadata:
    labels: {app: web}
  spec:
    image: persys/busybox:test`;
const JOB = `jobTemplate:
  spec:
    image: persys/busybox:test`;

export interface InvalidManifestCase {
  name: string;
  manifest: unknown;
  path: string;
  message: string;
  opts?: AdmitOptions;
}

export const INVALID_MANIFESTS: InvalidManifestCase[] = [
  // top level
  { name: 'a non-object', manifest: [], path: '', message: 'expected a JSON object, got array' },
  { name: 'a wrong apiVersion', manifest: { apiVersion: 'v1', kind: 'Container', metadata: { name: 'a' } }, path: 'apiVersion', message: 'must be "persys.dev/v1"' },
  { name: 'a missing apiVersion', manifest: { kind: 'Container', metadata: { name: 'a' } }, path: 'apiVersion', message: 'required' },
  { name: 'an unknown kind', manifest: `${V}\nkind: Pod\nmetadata: {name: a}`, path: 'kind', message: 'unknown kind "Pod"' },
  { name: 'a plural kind', manifest: `${V}\nkind: containers\nmetadata: {name: a}`, path: 'kind', message: 'did you mean "Container"?' },
  {
    name: 'an oversize object',
    manifest: { apiVersion: API_VERSION, kind: 'Secret', metadata: { name: 'big' }, data: { blob: 'QUFB'.repeat(420_000) } },
    path: '',
    message: `the limit is ${MAX_OBJECT_BYTES}`,
  },
  // structural: unknown fields at several depths, snake_case, wrong types
  { name: 'an unknown top-level field', manifest: `${container('image: x')}\nspecs: {}`, path: 'specs', message: 'unknown field "specs"' },
  { name: 'an unknown metadata field', manifest: container('image: x', 'name: web\n  label: {a: b}'), path: 'metadata.label', message: 'unknown field "label"' },
  { name: 'an unknown spec field', manifest: container('image: x\nfoo: 1'), path: 'spec.foo', message: 'unknown field "foo"' },
  { name: 'a snake_case field in a list item', manifest: container('image: x\nports:\n- container_port: 80'), path: 'spec.ports[0].container_port', message: 'unknown field "container_port"' },
  { name: 'an unknown field three levels down', manifest: container('image: x\nhealthcheck:\n  exec:\n    cmd: [true]'), path: 'spec.healthcheck.exec.cmd', message: 'unknown field "cmd"' },
  {
    name: 'an unknown field inside a template',
    manifest: containerSet(`${TEMPLATE}\n    volumes:\n    - {mountPath: /d, volumeName: data, mount: rw}`),
    path: 'spec.template.spec.volumes[0].mount',
    message: 'unknown field "mount"',
  },
  { name: 'replicas as a string', manifest: containerSet(`replicas: "3"\n${TEMPLATE}`), path: 'spec.replicas', message: 'expected integer, got string' },
  { name: 'an image that is a number', manifest: container('image: 5'), path: 'spec.image', message: 'expected string, got number' },
  { name: 'an image that is not a reference', manifest: container("image: '%s%n'"), path: 'spec.image', message: 'invalid reference format' },
  { name: 'an image name of 70,000 characters', manifest: container(`image: ${'a'.repeat(70_000)}`), path: 'spec.image', message: 'no more than 255 characters' },
  { name: 'an uppercase image repository', manifest: container('image: Nginx:1'), path: 'spec.image', message: 'repository name must be lowercase' },
  { name: 'ports that are a mapping', manifest: container('image: x\nports: {containerPort: 80}'), path: 'spec.ports', message: 'expected array, got object' },
  { name: 'an int32 out of range', manifest: container('image: x\nports:\n- {containerPort: 80, hostPort: 3000000000}'), path: 'spec.ports[0].hostPort', message: 'out of int32 range' },
  { name: 'a fractional port', manifest: container('image: x\nports:\n- containerPort: 80.5'), path: 'spec.ports[0].containerPort', message: 'expected integer, got 80.5' },
  { name: 'a non-string label value', manifest: container('image: x', 'name: web\n  labels: {tier: 1}'), path: 'metadata.labels[tier]', message: 'expected string, got number' },
  { name: 'a string for a boolean', manifest: `${V}\nkind: Secret\nmetadata: {name: s}\nimmutable: "yes"`, path: 'immutable', message: 'expected boolean, got string' },
  { name: 'a spec that is a string', manifest: `${V}\nkind: Container\nmetadata: {name: web}\nspec: run httpd`, path: 'spec', message: 'expected object, got string' },
  { name: 'a boolean maxSurge', manifest: containerSet(`${TEMPLATE}\nstrategy:\n  rollingUpdate: {maxSurge: true}`), path: 'spec.strategy.rollingUpdate.maxSurge', message: 'expected integer or string, got boolean' },
  {
    name: 'a malformed int64',
    manifest: containerSet(`${TEMPLATE}\nautoscale: {minReplicas: 1, maxReplicas: 2, targetCpuUtilizationPercent: 80, targetNetworkBytesPerSecond: "1e5"}`),
    path: 'spec.autoscale.targetNetworkBytesPerSecond',
    message: 'expected integer, got "1e5"',
  },
  { name: 'a map that is a list', manifest: container('image: x\nnodeSelector: [a]'), path: 'spec.nodeSelector', message: 'expected map, got array' },
  // metadata
  { name: 'a missing name', manifest: container('image: x', 'labels: {app: web}'), path: 'metadata.name', message: 'required' },
  { name: 'an uppercase name', manifest: container('image: x', 'name: Web'), path: 'metadata.name', message: 'DNS-1123 subdomain' },
  { name: 'a Namespace name with a dot', manifest: `${V}\nkind: Namespace\nmetadata: {name: team.a}`, path: 'metadata.name', message: 'DNS-1123 label' },
  { name: 'a Namespace name over 63 characters', manifest: `${V}\nkind: Namespace\nmetadata: {name: ${'a'.repeat(64)}}`, path: 'metadata.name', message: 'no more than 63 characters' },
  { name: 'a name over 253 characters', manifest: container('image: x', `name: ${'a'.repeat(254)}`), path: 'metadata.name', message: 'no more than 253 characters' },
  { name: 'a bad namespace name', manifest: container('image: x', 'name: web\n  namespace: My_NS'), path: 'metadata.namespace', message: 'DNS-1123 label' },
  { name: 'a namespace on a Node', manifest: `${V}\nkind: Node\nmetadata: {name: n1, namespace: default}`, path: 'metadata.namespace', message: 'must be empty for cluster-scoped kind Node' },
  { name: 'a label key with a space', manifest: container('image: x', 'name: web\n  labels: {"app name": web}'), path: 'metadata.labels[app name]', message: 'invalid key' },
  { name: 'a label value starting with a dash', manifest: container('image: x', 'name: web\n  labels: {app: -web}'), path: 'metadata.labels[app]', message: 'invalid value' },
  { name: 'a label value over 63 characters', manifest: container('image: x', `name: web\n  labels: {app: ${'v'.repeat(64)}}`), path: 'metadata.labels[app]', message: 'no more than 63 characters' },
  { name: 'a label key with a bad prefix', manifest: container('image: x', 'name: web\n  labels: {"Example.com/app": web}'), path: 'metadata.labels[Example.com/app]', message: 'prefix part' },
  { name: 'an annotation key with an empty prefix', manifest: container('image: x', 'name: web\n  annotations: {"/x": y}'), path: 'metadata.annotations[/x]', message: 'prefix part must not be empty' },
  { name: 'a malformed finalizer', manifest: container('image: x', 'name: web\n  finalizers: ["persys.dev/clean up"]'), path: 'metadata.finalizers[0]', message: 'name part' },
  {
    name: 'an owner reference without uid',
    manifest: container('image: x', 'name: web\n  ownerReferences:\n  - {apiVersion: persys.dev/v1, kind: ContainerSet, name: web}'),
    path: 'metadata.ownerReferences[0].uid',
    message: 'required',
  },
  // Container
  { name: 'a Container without image', manifest: container('command: [httpd]'), path: 'spec.image', message: 'required' },
  { name: 'an image with whitespace', manifest: container('image: "busybox latest"'), path: 'spec.image', message: 'invalid reference format' },
  { name: 'a containerPort above 65535', manifest: container('image: x\nports:\n- containerPort: 80\n- containerPort: 70000'), path: 'spec.ports[1].containerPort', message: 'must be 1-65535' },
  { name: 'a port without containerPort', manifest: container('image: x\nports:\n- hostPort: 80'), path: 'spec.ports[0].containerPort', message: 'must be 1-65535' },
  { name: 'a hostPort above 65535', manifest: container('image: x\nports:\n- {containerPort: 80, hostPort: 65536}'), path: 'spec.ports[0].hostPort', message: 'must be 0-65535' },
  { name: 'an SCTP port', manifest: container('image: x\nports:\n- {containerPort: 80, protocol: SCTP}'), path: 'spec.ports[0].protocol', message: 'must be TCP or UDP' },
  {
    name: 'a duplicate hostPort and protocol',
    manifest: container('image: x\nports:\n- {containerPort: 80, hostPort: 8080}\n- {containerPort: 81, hostPort: 8080, protocol: TCP}'),
    path: 'spec.ports[1].hostPort',
    message: 'duplicate hostPort 8080/TCP',
  },
  { name: 'a negative hostPort', manifest: container('image: x\nports:\n- {containerPort: 80, hostPort: -1, publish: true}'), path: 'spec.ports[0].hostPort', message: 'must be 0-65535' },
  {
    name: 'a duplicate fixed hostPort even with publish',
    manifest: container('image: x\nports:\n- {containerPort: 80, hostPort: 8080, publish: true}\n- {containerPort: 81, hostPort: 8080}'),
    path: 'spec.ports[1].hostPort',
    message: 'duplicate hostPort 8080/TCP',
  },
  {
    name: 'a duplicate hostPort in a ContainerSet template',
    manifest: containerSet(`${TEMPLATE}\n    ports:\n    - {containerPort: 80, hostPort: 9000, protocol: UDP}\n    - {containerPort: 81, hostPort: 9000, protocol: UDP}`),
    path: 'spec.template.spec.ports[1].hostPort',
    message: 'duplicate hostPort 9000/UDP',
  },
  { name: 'a port name over 15 characters', manifest: container('image: x\nports:\n- {containerPort: 80, name: http-alternative-port}'), path: 'spec.ports[0].name', message: 'no more than 15 characters' },
  { name: 'an env name starting with a digit', manifest: container('image: x\nenv:\n- {name: 1BAD, value: x}'), path: 'spec.env[0].name', message: 'must not start with a digit' },
  {
    name: 'an env var with value and valueFrom',
    manifest: container('image: x\nenv:\n- name: TOKEN\n  value: x\n  valueFrom: {secretKeyRef: {name: creds, key: token}}'),
    path: 'spec.env[0].valueFrom',
    message: 'mutually exclusive',
  },
  { name: 'a secretKeyRef without key', manifest: container('image: x\nenv:\n- name: TOKEN\n  valueFrom: {secretKeyRef: {name: creds}}'), path: 'spec.env[0].valueFrom.secretKeyRef.key', message: 'required' },
  { name: 'a relative mountPath', manifest: container('image: x\nvolumes:\n- {mountPath: data, volumeName: data}'), path: 'spec.volumes[0].mountPath', message: 'must be an absolute path' },
  { name: 'a volume with both sources', manifest: container('image: x\nvolumes:\n- {mountPath: /d, volumeName: data, hostPath: /srv}'), path: 'spec.volumes[0]', message: 'exactly one of volumeName, hostPath, configMap or secret is required' },
  { name: 'a volume with no source', manifest: container('image: x\nvolumes:\n- {mountPath: /d}'), path: 'spec.volumes[0]', message: 'exactly one of volumeName, hostPath, configMap or secret is required' },
  { name: 'a relative hostPath', manifest: container('image: x\nvolumes:\n- {mountPath: /d, hostPath: srv}'), path: 'spec.volumes[0].hostPath', message: 'must be an absolute path' },
  { name: 'a volumeName with a slash', manifest: container('image: x\nvolumes:\n- {mountPath: /d, volumeName: a/b}'), path: 'spec.volumes[0].volumeName', message: 'Docker volume name' },
  { name: 'a CPU of "abc"', manifest: container('image: x\nresources: {limits: {cpu: abc}}'), path: 'spec.resources.limits.cpu', message: 'not a CPU quantity' },
  { name: 'a memory of "10XB"', manifest: container('image: x\nresources: {requests: {memory: 10XB}}'), path: 'spec.resources.requests.memory', message: 'not a memory quantity' },
  { name: 'a negative memory', manifest: container('image: x\nresources: {limits: {memory: "-1"}}'), path: 'spec.resources.limits.memory', message: 'must not be negative' },
  {
    name: 'requests above limits',
    manifest: container('image: x\nresources: {requests: {memory: 1Gi}, limits: {memory: 512Mi}}'),
    path: 'spec.resources.requests.memory',
    message: 'less than or equal to limits.memory (512Mi)',
  },
  { name: 'an unknown restartPolicy', manifest: container('image: x\nrestartPolicy: Sometimes'), path: 'spec.restartPolicy', message: 'one of Always, OnFailure, Never' },
  {
    name: 'a healthcheck with two probes',
    manifest: container('image: x\nhealthcheck:\n  exec: {command: ["true"]}\n  tcpSocket: {port: 80}'),
    path: 'spec.healthcheck',
    message: 'exactly one of exec, httpGet or tcpSocket',
  },
  { name: 'a healthcheck exec without command', manifest: container('image: x\nhealthcheck:\n  exec: {command: []}'), path: 'spec.healthcheck.exec.command', message: 'required' },
  { name: 'a healthcheck httpGet without port', manifest: container('image: x\nhealthcheck:\n  httpGet: {path: /}'), path: 'spec.healthcheck.httpGet.port', message: 'must be 1-65535' },
  {
    name: 'a negative healthcheck interval',
    manifest: container('image: x\nhealthcheck:\n  tcpSocket: {port: 80}\n  intervalSeconds: -5'),
    path: 'spec.healthcheck.intervalSeconds',
    message: 'greater than or equal to 0',
  },
  { name: 'a nodeSelector with a bad key', manifest: container('image: x\nnodeSelector: {"disk type": ssd}'), path: 'spec.nodeSelector[disk type]', message: 'invalid key' },
  // Container: image pulls, config from ConfigMaps and Secrets
  { name: 'an unknown imagePullPolicy', manifest: container('image: x\nimagePullPolicy: Sometimes'), path: 'spec.imagePullPolicy', message: 'one of Always, IfNotPresent, Never, got "Sometimes"' },
  { name: 'an imagePullSecret without name', manifest: container('image: x\nimagePullSecrets: [{}]'), path: 'spec.imagePullSecrets[0].name', message: 'required' },
  { name: 'an imagePullSecret with an uppercase name', manifest: container('image: x\nimagePullSecrets: [{name: Regcred}]'), path: 'spec.imagePullSecrets[0].name', message: 'DNS-1123 subdomain' },
  {
    name: 'an env valueFrom with both a secretKeyRef and a configMapKeyRef',
    manifest: container('image: x\nenv:\n- name: A\n  valueFrom: {secretKeyRef: {name: s, key: k}, configMapKeyRef: {name: c, key: k}}'),
    path: 'spec.env[0].valueFrom',
    message: 'exactly one of secretKeyRef or configMapKeyRef',
  },
  { name: 'an empty env valueFrom', manifest: container('image: x\nenv:\n- {name: A, valueFrom: {}}'), path: 'spec.env[0].valueFrom', message: 'exactly one of secretKeyRef or configMapKeyRef' },
  { name: 'a configMapKeyRef without name', manifest: container('image: x\nenv:\n- {name: A, valueFrom: {configMapKeyRef: {key: k}}}'), path: 'spec.env[0].valueFrom.configMapKeyRef.name', message: 'required' },
  { name: 'a configMapKeyRef key of ".."', manifest: container('image: x\nenv:\n- {name: A, valueFrom: {configMapKeyRef: {name: c, key: ".."}}}'), path: 'spec.env[0].valueFrom.configMapKeyRef.key', message: 'must not be "." or ".."' },
  { name: 'an envFrom with both refs', manifest: container('image: x\nenvFrom:\n- {configMapRef: {name: c}, secretRef: {name: s}}'), path: 'spec.envFrom[0]', message: 'exactly one of configMapRef or secretRef' },
  { name: 'an envFrom without a ref', manifest: container('image: x\nenvFrom:\n- {prefix: APP_}'), path: 'spec.envFrom[0]', message: 'exactly one of configMapRef or secretRef' },
  { name: 'an envFrom configMapRef without name', manifest: container('image: x\nenvFrom:\n- configMapRef: {optional: true}'), path: 'spec.envFrom[0].configMapRef.name', message: 'required' },
  { name: 'an envFrom secretRef with a bad name', manifest: container('image: x\nenvFrom:\n- secretRef: {name: "my_secret"}'), path: 'spec.envFrom[0].secretRef.name', message: 'DNS-1123 subdomain' },
  { name: 'an envFrom prefix starting with a digit', manifest: container('image: x\nenvFrom:\n- {prefix: 1X_, configMapRef: {name: c}}'), path: 'spec.envFrom[0].prefix', message: 'must not start with a digit' },
  {
    name: 'a volume with a configMap and a hostPath',
    manifest: container('image: x\nvolumes:\n- {mountPath: /etc/app, hostPath: /srv, configMap: {name: app}}'),
    path: 'spec.volumes[0]',
    message: 'exactly one of volumeName, hostPath, configMap or secret is required, got 2',
  },
  { name: 'a configMap volume without name', manifest: container('image: x\nvolumes:\n- {mountPath: /etc/app, configMap: {defaultMode: 420}}'), path: 'spec.volumes[0].configMap.name', message: 'required' },
  { name: 'a secret volume without secretName', manifest: container('image: x\nvolumes:\n- {mountPath: /etc/tls, secret: {optional: true}}'), path: 'spec.volumes[0].secret.secretName', message: 'required' },
  {
    name: 'a volume item with a key holding a slash',
    manifest: container('image: x\nvolumes:\n- mountPath: /etc/app\n  configMap: {name: app, items: [{key: "a/b", path: a}]}'),
    path: 'spec.volumes[0].configMap.items[0].key',
    message: "letters, digits, '-', '_' or '.'",
  },
  {
    name: 'a volume item with an absolute path',
    manifest: container('image: x\nvolumes:\n- mountPath: /etc/app\n  configMap: {name: app, items: [{key: conf, path: /etc/passwd}]}'),
    path: 'spec.volumes[0].configMap.items[0].path',
    message: 'must be a relative path',
  },
  {
    name: 'a volume item path that climbs out with ".."',
    manifest: container('image: x\nvolumes:\n- mountPath: /etc/tls\n  secret: {secretName: tls, items: [{key: key, path: "certs/../../key"}]}'),
    path: 'spec.volumes[0].secret.items[0].path',
    message: "must not contain a '..' segment",
  },
  { name: 'a volume item without path', manifest: container('image: x\nvolumes:\n- mountPath: /etc/app\n  configMap: {name: app, items: [{key: conf}]}'), path: 'spec.volumes[0].configMap.items[0].path', message: 'required' },
  {
    name: 'two volume items with the same path',
    manifest: container('image: x\nvolumes:\n- mountPath: /etc/app\n  configMap: {name: app, items: [{key: a, path: conf}, {key: b, path: conf}]}'),
    path: 'spec.volumes[0].configMap.items[1].path',
    message: 'duplicate path "conf"',
  },
  {
    name: 'a volume item mode above 0777',
    manifest: container('image: x\nvolumes:\n- mountPath: /etc/app\n  configMap: {name: app, items: [{key: a, path: a, mode: 512}]}'),
    path: 'spec.volumes[0].configMap.items[0].mode',
    message: 'must be 0-511',
  },
  { name: 'a negative defaultMode', manifest: container('image: x\nvolumes:\n- mountPath: /etc/tls\n  secret: {secretName: tls, defaultMode: -1}'), path: 'spec.volumes[0].secret.defaultMode', message: 'must be 0-511' },
  { name: 'a subPath on a hostPath volume', manifest: container('image: x\nvolumes:\n- {mountPath: /d, hostPath: /srv, subPath: a}'), path: 'spec.volumes[0].subPath', message: 'only be set for a configMap or secret volume' },
  {
    name: 'a subPath with ".."',
    manifest: container('image: x\nvolumes:\n- {mountPath: /etc/app.conf, configMap: {name: app}, subPath: ../app.conf}'),
    path: 'spec.volumes[0].subPath',
    message: "must not contain a '..' segment",
  },
  {
    name: 'a subPath that is not among the projected items',
    manifest: container('image: x\nvolumes:\n- mountPath: /etc/nginx/nginx.conf\n  configMap: {name: web, items: [{key: nginx, path: nginx.conf}]}\n  subPath: other.conf'),
    path: 'spec.volumes[0].subPath',
    message: 'is not one of the paths in items ("nginx.conf")',
  },
  {
    name: 'a subPath naming a directory of a volume without items',
    manifest: container('image: x\nvolumes:\n- {mountPath: /etc/app.conf, configMap: {name: app}, subPath: conf/app}'),
    path: 'spec.volumes[0].subPath',
    message: 'must be a key of the volume when items are not listed',
  },
  { name: 'a template with an unknown imagePullPolicy', manifest: containerSet(`${TEMPLATE}\n    imagePullPolicy: always`), path: 'spec.template.spec.imagePullPolicy', message: 'one of Always, IfNotPresent, Never' },
  { name: 'a template envFrom without a ref', manifest: containerSet(`${TEMPLATE}\n    envFrom: [{prefix: A_}]`), path: 'spec.template.spec.envFrom[0]', message: 'exactly one of configMapRef or secretRef' },
  { name: 'a job template imagePullSecret without name', manifest: cronJob(`schedule: "@daily"\n${JOB}\n    imagePullSecrets: [{name: ""}]`), path: 'spec.jobTemplate.spec.imagePullSecrets[0].name', message: 'required' },
  {
    name: 'a job template secret volume item with an absolute path',
    manifest: cronJob(`schedule: "@daily"\n${JOB}\n    volumes:\n    - mountPath: /k\n      secret: {secretName: s, items: [{key: k, path: /k}]}`),
    path: 'spec.jobTemplate.spec.volumes[0].secret.items[0].path',
    message: 'must be a relative path',
  },
  { name: 'a ComposeStack imagePullSecret with a bad name', manifest: compose('services:\n  web: {image: x}\n', 'imagePullSecrets: [{name: "Reg Cred"}]'), path: 'spec.imagePullSecrets[0].name', message: 'DNS-1123 subdomain' },
  { name: 'a SwarmService imagePullSecret without name', manifest: swarm('image: x\nimagePullSecrets: [{}]'), path: 'spec.imagePullSecrets[0].name', message: 'required' },
  // ContainerSet
  { name: 'negative replicas', manifest: containerSet(`replicas: -1\n${TEMPLATE}`), path: 'spec.replicas', message: 'greater than or equal to 0' },
  { name: 'a selector that misses the template', manifest: containerSet(`selector: {matchLabels: {app: api}}\n${TEMPLATE}`), path: 'spec.selector', message: 'does not match spec.template.metadata.labels' },
  { name: 'a template without labels', manifest: containerSet('template:\n  spec: {image: x}'), path: 'spec.template.metadata.labels', message: 'required' },
  { name: 'a template without image', manifest: containerSet('template:\n  metadata: {labels: {app: web}}\n  spec: {command: [sh]}'), path: 'spec.template.spec.image', message: 'required' },
  { name: 'a template restartPolicy of Never', manifest: containerSet(`${TEMPLATE}\n    restartPolicy: Never`), path: 'spec.template.spec.restartPolicy', message: 'must be Always for a ContainerSet' },
  { name: 'an unknown strategy type', manifest: containerSet(`${TEMPLATE}\nstrategy: {type: BlueGreen}`), path: 'spec.strategy.type', message: 'must be RollingUpdate or Recreate' },
  { name: 'a maxSurge of "abc"', manifest: containerSet(`${TEMPLATE}\nstrategy:\n  rollingUpdate: {maxSurge: abc}`), path: 'spec.strategy.rollingUpdate.maxSurge', message: 'non-negative integer or a percentage' },
  { name: 'a negative maxUnavailable', manifest: containerSet(`${TEMPLATE}\nstrategy:\n  rollingUpdate: {maxUnavailable: -1}`), path: 'spec.strategy.rollingUpdate.maxUnavailable', message: 'non-negative integer or a percentage' },
  {
    name: 'maxSurge and maxUnavailable both zero',
    manifest: containerSet(`${TEMPLATE}\nstrategy:\n  rollingUpdate: {maxSurge: 0, maxUnavailable: "0%"}`),
    path: 'spec.strategy.rollingUpdate.maxUnavailable',
    message: 'may not be 0 when maxSurge is 0',
  },
  { name: 'an autoscale minimum of 0', manifest: containerSet(`${TEMPLATE}\nautoscale: {maxReplicas: 3, targetCpuUtilizationPercent: 80}`), path: 'spec.autoscale.minReplicas', message: 'at least 1' },
  {
    name: 'an autoscale maximum below the minimum',
    manifest: containerSet(`${TEMPLATE}\nautoscale: {minReplicas: 4, maxReplicas: 2, targetCpuUtilizationPercent: 80}`),
    path: 'spec.autoscale.maxReplicas',
    message: 'greater than or equal to minReplicas (4)',
  },
  {
    name: 'an autoscale CPU target above 100%',
    manifest: containerSet(`${TEMPLATE}\nautoscale: {minReplicas: 1, maxReplicas: 2, targetCpuUtilizationPercent: 150}`),
    path: 'spec.autoscale.targetCpuUtilizationPercent',
    message: 'must be 1-100',
  },
  {
    name: 'an autoscale without any target',
    manifest: containerSet(`${TEMPLATE}\nautoscale: {minReplicas: 1, maxReplicas: 2}`),
    path: 'spec.autoscale',
    message: 'at least one target',
  },
  {
    name: 'a negative autoscale scale-down window',
    manifest: containerSet(`${TEMPLATE}\nautoscale: {minReplicas: 1, maxReplicas: 2, targetCpuUtilizationPercent: 50, scaleDownStabilizationSeconds: -1}`),
    path: 'spec.autoscale.scaleDownStabilizationSeconds',
    message: 'greater than or equal to 0',
  },
  // CronJob
  { name: 'a cron minute of 61', manifest: cronJob(`schedule: "61 * * * *"\n${JOB}`), path: 'spec.schedule', message: 'expected range 0-59' },
  { name: 'a cron with 3 fields', manifest: cronJob(`schedule: "* * *"\n${JOB}`), path: 'spec.schedule', message: 'expected 5 fields' },
  { name: 'a cron with 7 fields', manifest: cronJob(`schedule: "0 0 * * * * 2030"\n${JOB}`), path: 'spec.schedule', message: 'expected 5 fields' },
  { name: 'an unknown cron macro', manifest: cronJob(`schedule: "@fortnightly"\n${JOB}`), path: 'spec.schedule', message: 'unknown macro "@fortnightly"' },
  { name: 'an @every with a bad duration', manifest: cronJob(`schedule: "@every 10x"\n${JOB}`), path: 'spec.schedule', message: 'invalid duration "10x"' },
  { name: 'a missing schedule', manifest: cronJob(JOB), path: 'spec.schedule', message: 'required' },
  { name: 'an unknown time zone', manifest: cronJob(`schedule: "@daily"\ntimeZone: Mars/Olympus\n${JOB}`), path: 'spec.timeZone', message: 'unknown time zone "Mars/Olympus"' },
  { name: 'an unknown concurrencyPolicy', manifest: cronJob(`schedule: "@daily"\nconcurrencyPolicy: Queue\n${JOB}`), path: 'spec.concurrencyPolicy', message: 'one of Allow, Forbid, Replace' },
  {
    name: 'a job restartPolicy of Always',
    manifest: cronJob(`schedule: "@daily"\n${JOB}\n    restartPolicy: Always`),
    path: 'spec.jobTemplate.spec.restartPolicy',
    message: 'must be Never or OnFailure for a CronJob',
  },
  { name: 'a negative backoffLimit', manifest: cronJob(`schedule: "@daily"\nbackoffLimit: -1\n${JOB}`), path: 'spec.backoffLimit', message: 'greater than or equal to 0' },
  { name: 'a job template without image', manifest: cronJob('schedule: "@daily"\njobTemplate:\n  spec: {command: [date]}'), path: 'spec.jobTemplate.spec.image', message: 'required' },
  // ComposeStack
  { name: 'a ComposeStack without compose', manifest: `${V}\nkind: ComposeStack\nmetadata: {name: shop}\nspec: {nodeName: n1}`, path: 'spec.compose', message: 'required' },
  { name: 'unparseable compose YAML', manifest: compose('services:\n  web:\n    image: x\n   bad: 1\n'), path: 'spec.compose', message: 'invalid YAML: All mapping items must start at the same column at line 4' },
  { name: 'a compose file that is a list', manifest: compose('- web\n- db\n'), path: 'spec.compose', message: 'must be a YAML mapping' },
  { name: 'a compose file without services', manifest: compose('volumes: {data: {}}\n'), path: 'spec.compose', message: 'services: must be a non-empty mapping' },
  { name: 'a compose service that builds', manifest: compose('services:\n  web:\n    build: .\n'), path: 'spec.compose', message: 'services.web.build: persys cannot build images: set image' },
  { name: 'an unknown compose service key', manifest: compose('services:\n  web: {image: x, foo: 1}\n'), path: 'spec.compose', message: "services.web additional property 'foo' is not allowed" },
  { name: 'a compose env_file not in spec.files', manifest: compose('services:\n  web: {image: x, env_file: .env}\n'), path: 'spec.compose', message: 'services.web.env_file: file ".env" is not in spec.files' },
  { name: 'a compose pull_policy build', manifest: compose('services:\n  web: {image: x, pull_policy: build}\n'), path: 'spec.compose', message: 'services.web.pull_policy: build: persys does not build images' },
  { name: 'a compose secret from the environment', manifest: compose('services:\n  web: {image: x, secrets: [t]}\nsecrets:\n  t: {environment: TOKEN}\n'), path: 'spec.compose', message: 'secrets.t.environment: persys does not support environment' },
  { name: 'a compose stack file outside the project directory', manifest: compose('services:\n  web: {image: x}\n', 'files: {"../etc/app.env": "A=1"}'), path: 'spec.files[../etc/app.env]', message: 'must be a relative path inside the project directory' },
  { name: 'a compose stack file with an absolute path', manifest: compose('services:\n  web: {image: x}\n', 'files: {"/etc/app.env": "A=1"}'), path: 'spec.files[/etc/app.env]', message: 'must be a relative path' },
  { name: 'a compose imagePullSecret with an invalid name', manifest: compose('services:\n  web: {image: x}\n', 'imagePullSecrets: [{name: Reg_Cred}]'), path: 'spec.imagePullSecrets[0].name', message: 'must be a DNS-1123 subdomain' },
  { name: 'a compose port that is not a number', manifest: compose('services:\n  web: {image: x, ports: [abc]}\n'), path: 'spec.compose', message: 'services.web.ports[0]: invalid port "abc"' },
  { name: 'an undeclared compose volume', manifest: compose('services:\n  db: {image: x, volumes: ["data:/d"]}\n'), path: 'spec.compose', message: 'volumes: "data" used by services.db is not declared' },
  {
    name: 'a compose variable spec.env does not set',
    manifest: compose('services:\n  web: {image: "x:${TAG:?set TAG}"}\n', 'env: {OTHER: "1"}'),
    path: 'spec.compose',
    message: 'services.web.image: required variable TAG is missing a value: set TAG',
  },
  { name: 'a negative compose scale', manifest: compose('services:\n  web: {image: x}\n', 'scale: {web: -1}'), path: 'spec.scale[web]', message: 'greater than or equal to 0' },
  { name: 'a scale for a missing service', manifest: compose('services:\n  web: {image: x}\n', 'scale: {api: 2}'), path: 'spec.scale[api]', message: 'no service "api"' },
  // SwarmService
  { name: 'a SwarmService without image', manifest: swarm('replicas: 2'), path: 'spec.image', message: 'required' },
  { name: 'an unknown swarm mode', manifest: swarm('image: x\nmode: daemonset'), path: 'spec.mode', message: 'must be replicated or global' },
  { name: 'replicas on a global service', manifest: swarm('image: x\nmode: global\nreplicas: 2'), path: 'spec.replicas', message: 'only be set when mode is replicated' },
  {
    name: 'a SwarmService env from a Secret',
    manifest: swarm('image: x\nenv:\n- {name: A, valueFrom: {secretKeyRef: {name: s, key: k}}}'),
    path: 'spec.env[0].valueFrom',
    message: 'not supported for a SwarmService',
  },
  { name: 'a swarm targetPort of 0', manifest: swarm('image: x\nports:\n- {publishedPort: 80}'), path: 'spec.ports[0].targetPort', message: 'must be 1-65535' },
  { name: 'an uppercase swarm protocol', manifest: swarm('image: x\nports:\n- {targetPort: 80, protocol: TCP}'), path: 'spec.ports[0].protocol', message: 'must be tcp or udp' },
  { name: 'an unknown publishMode', manifest: swarm('image: x\nports:\n- {targetPort: 80, publishMode: vip}'), path: 'spec.ports[0].publishMode', message: 'must be ingress or host' },
  { name: 'an unknown failureAction', manifest: swarm('image: x\nupdateConfig: {failureAction: retry}'), path: 'spec.updateConfig.failureAction', message: 'one of pause, continue, rollback' },
  { name: 'an unknown update order', manifest: swarm('image: x\nupdateConfig: {order: random}'), path: 'spec.updateConfig.order', message: 'must be stop-first or start-first' },
  // Secret, Lease, Node, Event
  { name: 'secret data that is not base64', manifest: `${V}\nkind: Secret\nmetadata: {name: s}\ndata: {password: "hunter2!"}`, path: 'data[password]', message: 'valid base64' },
  { name: 'a secret key with a slash', manifest: `${V}\nkind: Secret\nmetadata: {name: s}\ndata: {"a/b": YQ==}`, path: 'data[a/b]', message: "letters, digits, '-', '_' or '.'" },
  { name: 'a stringData key with a space', manifest: `${V}\nkind: Secret\nmetadata: {name: s}\nstringData: {"a b": x}`, path: 'stringData[a b]', message: "letters, digits, '-', '_' or '.'" },
  {
    name: 'changed data in an immutable Secret',
    manifest: `${V}\nkind: Secret\nmetadata: {name: s, namespace: default}\nimmutable: true\ndata: {a: Yg==}`,
    opts: { old: { apiVersion: API_VERSION, kind: 'Secret', metadata: { name: 's', namespace: 'default' }, type: 'Opaque', immutable: true, data: { a: 'YQ==' } } },
    path: 'data',
    message: 'field is immutable',
  },
  { name: 'a secret key of "."', manifest: `${V}\nkind: Secret\nmetadata: {name: s}\ndata: {".": YQ==}`, path: 'data[.]', message: 'must not be "." or ".."' },
  // registry credentials
  {
    name: 'a dockerconfigjson Secret without .dockerconfigjson',
    manifest: `${V}\nkind: Secret\nmetadata: {name: regcred}\ntype: persys.dev/dockerconfigjson\ndata: {config: YQ==}`,
    path: 'data[.dockerconfigjson]',
    message: 'required for a Secret of type persys.dev/dockerconfigjson',
  },
  {
    name: 'a Kubernetes dockerconfigjson Secret whose stringData is not JSON',
    manifest: `${V}\nkind: Secret\nmetadata: {name: regcred}\ntype: kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: "{auths: hunter2"}`,
    path: 'data[.dockerconfigjson]',
    message: 'is not valid JSON',
  },
  {
    name: 'a dockerconfigjson without auths',
    manifest: { apiVersion: API_VERSION, kind: 'Secret', metadata: { name: 'regcred' }, type: 'persys.dev/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from('{"credsStore":"desktop"}').toString('base64') } },
    path: 'data[.dockerconfigjson]',
    message: 'must be an object with "auths"',
  },
  {
    name: 'a dockerconfigjson entry without credentials',
    manifest: { apiVersion: API_VERSION, kind: 'Secret', metadata: { name: 'regcred' }, type: 'persys.dev/dockerconfigjson', stringData: { '.dockerconfigjson': '{"auths":{"registry.example:5000":{"email":"a@b.c"}}}' } },
    path: 'data[.dockerconfigjson]',
    message: 'auths["registry.example:5000"] needs username and password, auth, or identitytoken',
  },
  // ConfigMap
  { name: 'a ConfigMap key with a slash', manifest: `${V}\nkind: ConfigMap\nmetadata: {name: app}\ndata: {"conf/app.ini": x}`, path: 'data[conf/app.ini]', message: "letters, digits, '-', '_' or '.'" },
  { name: 'a ConfigMap binaryData key of ".."', manifest: `${V}\nkind: ConfigMap\nmetadata: {name: app}\nbinaryData: {"..": YQ==}`, path: 'binaryData[..]', message: 'must not be "." or ".."' },
  { name: 'a ConfigMap key in data and binaryData', manifest: `${V}\nkind: ConfigMap\nmetadata: {name: app}\ndata: {k: x}\nbinaryData: {k: YQ==}`, path: 'binaryData[k]', message: 'a key may be in data or binaryData, not both' },
  { name: 'ConfigMap binaryData that is not base64', manifest: `${V}\nkind: ConfigMap\nmetadata: {name: app}\nbinaryData: {logo.png: "not base64!"}`, path: 'binaryData[logo.png]', message: 'must be valid base64' },
  {
    name: 'a ConfigMap over 1 MiB',
    manifest: { apiVersion: API_VERSION, kind: 'ConfigMap', metadata: { name: 'big' }, data: { a: 'x'.repeat(700_000) }, binaryData: { b: Buffer.alloc(400_000).toString('base64') } },
    path: 'data',
    message: 'data and binaryData are 1100000 bytes, the limit is 1048576 bytes (1 MiB)',
  },
  {
    name: 'changed binaryData in an immutable ConfigMap',
    manifest: `${V}\nkind: ConfigMap\nmetadata: {name: app, namespace: default}\nimmutable: true\nbinaryData: {a: Yg==}`,
    opts: { old: { apiVersion: API_VERSION, kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default' }, immutable: true, binaryData: { a: 'YQ==' } } },
    path: 'binaryData',
    message: 'field is immutable',
  },
  {
    name: 'an immutable ConfigMap made mutable',
    manifest: `${V}\nkind: ConfigMap\nmetadata: {name: app, namespace: default}\ndata: {a: b}`,
    opts: { old: { apiVersion: API_VERSION, kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default' }, immutable: true, data: { a: 'b' } } },
    path: 'immutable',
    message: 'field is immutable when true',
  },
  { name: 'a negative lease duration', manifest: `${V}\nkind: Lease\nmetadata: {name: l}\nspec: {leaseDurationSeconds: -1}`, path: 'spec.leaseDurationSeconds', message: 'greater than or equal to 0' },
  { name: 'an unknown swarm role', manifest: `${V}\nkind: Node\nmetadata: {name: n1}\nspec: {swarm: {role: leader}}`, path: 'spec.swarm.role', message: 'one of manager, worker, none' },
  { name: 'an Event of an unknown type', manifest: `${V}\nkind: Event\nmetadata: {name: e}\ninvolvedObject: {kind: Container, name: web}\ntype: Error`, path: 'type', message: 'must be Normal or Warning' },
  // status subresource
  {
    name: 'an unknown status field on UpdateStatus',
    manifest: container('image: x\n') + '\nstatus: {phase: Running, bogus: 1}',
    opts: { subresource: 'status' },
    path: 'status.bogus',
    message: 'unknown field "bogus"',
  },
  { name: 'UpdateStatus on a kind without status', manifest: `${V}\nkind: Secret\nmetadata: {name: s}`, opts: { subresource: 'status' }, path: 'status', message: 'has no status subresource' },
];
