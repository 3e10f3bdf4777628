// Which compose-spec keys persys maps, ignores or refuses. A key outside these tables is not in
// the compose-spec at all and is reported as Compose reports it ("additional property … is not allowed").

/*
 * Service keys, by what persys does with them:
 *
 *   mapped     image command entrypoint environment ports volumes tmpfs healthcheck restart labels
 *              deploy scale depends_on networks working_dir user hostname cpus mem_limit mem_reservation
 *              pull_policy env_file (from spec.files) configs secrets
 *   ignored    build (only when image is set: the image is used, never built), expose (documentation:
 *              services reach each other on every port of the project network), develop and attach
 *              (used only by `compose watch` and `compose up` attaching to logs)
 *   refused    the rest of the compose-spec, with the reason in SERVICE_UNSUPPORTED below.
 */

const FILES = 'the API server has no project directory to read files from';
const ISOLATION = "a stack may not change its containers' isolation from the node";
const NOT_YET = 'the node agent cannot set it yet';

export const TOP_LEVEL_KEYS: ReadonlySet<string> = new Set(['version', 'name', 'services', 'networks', 'volumes', 'configs', 'secrets']);

export const TOP_LEVEL_UNSUPPORTED: Readonly<Record<string, string>> = {
  include: `${FILES}; put the services in one file`,
  models: 'there is no model runner on persys nodes',
};

export const SERVICE_KEYS: ReadonlySet<string> = new Set([
  'image', 'command', 'entrypoint', 'environment', 'ports', 'volumes', 'tmpfs', 'healthcheck', 'restart', 'labels',
  'deploy', 'scale', 'depends_on', 'networks', 'working_dir', 'user', 'hostname', 'cpus', 'mem_limit', 'mem_reservation',
  'pull_policy', 'env_file', 'configs', 'secrets', 'build', 'expose', 'develop', 'attach',
]);

export const SERVICE_UNSUPPORTED: Readonly<Record<string, string>> = {
  label_file: `${FILES}; put the labels in labels`,
  extends: `${FILES}; write the service out in full`,
  container_name: 'containers are named PROJECT-SERVICE-N so Docker Compose recognises them and replicas can scale',
  network_mode: "services join the project's networks (PROJECT_default unless networks: says otherwise)",
  links: 'services reach each other by service name on the project network',
  external_links: 'services reach each other by service name on the project network',
  volumes_from: 'share a named volume instead',
  profiles: 'every service in the file runs; there is no way to activate a profile',
  privileged: ISOLATION,
  cap_add: ISOLATION,
  cap_drop: ISOLATION,
  devices: ISOLATION,
  device_cgroup_rules: ISOLATION,
  security_opt: ISOLATION,
  pid: ISOLATION,
  ipc: ISOLATION,
  uts: ISOLATION,
  userns_mode: ISOLATION,
  cgroup: ISOLATION,
  cgroup_parent: ISOLATION,
  sysctls: ISOLATION,
  runtime: ISOLATION,
  isolation: ISOLATION,
  gpus: ISOLATION,
  use_api_socket: ISOLATION,
  credential_spec: ISOLATION,
  provider: 'provider services run outside Docker',
  models: 'there is no model runner on persys nodes',
  ...Object.fromEntries(
    [
      'annotations', 'blkio_config', 'cpu_count', 'cpu_percent', 'cpu_shares', 'cpu_quota', 'cpu_period', 'cpu_rt_period',
      'cpu_rt_runtime', 'cpuset', 'dns', 'dns_opt', 'dns_search', 'domainname', 'extra_hosts', 'group_add', 'init', 'logging',
      'mac_address', 'mem_swappiness', 'memswap_limit', 'oom_kill_disable', 'oom_score_adj', 'pids_limit', 'platform',
      'post_start', 'pre_stop', 'pull_refresh_after', 'read_only', 'shm_size', 'stdin_open', 'stop_grace_period',
      'stop_signal', 'storage_opt', 'tty', 'ulimits',
    ].map((k) => [k, NOT_YET]),
  ),
};

// deploy: replicas, resources and restart_policy are mapped; mode must be replicated; labels,
// placement, update_config, rollback_config and endpoint_mode only matter to Swarm, which Compose ignores too.
export const DEPLOY_KEYS: ReadonlySet<string> = new Set(['mode', 'replicas', 'resources', 'restart_policy', 'labels', 'placement', 'update_config', 'rollback_config', 'endpoint_mode']);
export const RESOURCES_KEYS: ReadonlySet<string> = new Set(['limits', 'reservations']);
export const LIMITS_KEYS: ReadonlySet<string> = new Set(['cpus', 'memory']);
// reservations.cpus is accepted and ignored: Docker has no CPU reservation outside Swarm.
export const RESERVATIONS_KEYS: ReadonlySet<string> = new Set(['cpus', 'memory']);
export const RESOURCE_UNSUPPORTED: Readonly<Record<string, string>> = { pids: NOT_YET, devices: ISOLATION, generic_resources: NOT_YET };
export const RESTART_POLICY_KEYS: ReadonlySet<string> = new Set(['condition', 'delay', 'max_attempts', 'window']);

// start_interval is ignored: it only speeds up probes during the start period.
export const HEALTHCHECK_KEYS: ReadonlySet<string> = new Set(['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable']);

// mode, name and app_protocol describe the port; they do not change how it is published here.
export const PORT_KEYS: ReadonlySet<string> = new Set(['target', 'published', 'host_ip', 'protocol', 'mode', 'name', 'app_protocol']);

// consistency only matters to Docker Desktop's file sharing.
export const MOUNT_KEYS: ReadonlySet<string> = new Set(['type', 'source', 'target', 'read_only', 'consistency']);
export const MOUNT_UNSUPPORTED: Readonly<Record<string, string>> = { bind: NOT_YET, volume: NOT_YET, tmpfs: NOT_YET, image: NOT_YET };

export const DEPENDS_ON_KEYS: ReadonlySet<string> = new Set(['condition', 'restart', 'required']);

// priority and gw_priority only order the attachments; persys attaches in the file's order.
export const SERVICE_NETWORK_KEYS: ReadonlySet<string> = new Set(['aliases', 'priority', 'gw_priority']);
export const SERVICE_NETWORK_UNSUPPORTED: Readonly<Record<string, string>> = Object.fromEntries(
  ['ipv4_address', 'ipv6_address', 'link_local_ips', 'mac_address', 'driver_opts', 'interface_name'].map((k) => [k, NOT_YET]),
);

// attachable only matters to Swarm overlay networks.
export const NETWORK_KEYS: ReadonlySet<string> = new Set(['driver', 'external', 'name', 'labels', 'attachable']);
export const NETWORK_UNSUPPORTED: Readonly<Record<string, string>> = Object.fromEntries(
  ['driver_opts', 'ipam', 'internal', 'enable_ipv4', 'enable_ipv6'].map((k) => [k, NOT_YET]),
);

export const VOLUME_KEYS: ReadonlySet<string> = new Set(['driver', 'external', 'name', 'labels']);
export const VOLUME_UNSUPPORTED: Readonly<Record<string, string>> = { driver_opts: NOT_YET };

// env_file's long syntax; format (raw) is not read yet.
export const ENV_FILE_KEYS: ReadonlySet<string> = new Set(['path', 'required']);
export const ENV_FILE_UNSUPPORTED: Readonly<Record<string, string>> = { format: 'env files are read in the .env format only' };

/*
 * Top-level configs and secrets: external (a persys ConfigMap / Secret; x-persys-key picks its key),
 * content (inline) or file (from spec.files). labels only matter to Swarm's config objects, which are
 * not made here; name names the external object.
 */
export const FILE_OBJECT_KEYS: ReadonlySet<string> = new Set(['external', 'name', 'content', 'file', 'labels']);
export const FILE_OBJECT_UNSUPPORTED: Readonly<Record<string, string>> = {
  environment: "a stack may not read the node's environment; use content with ${VAR} from spec.env, or an external Secret",
  template_driver: 'contents are used as they are',
  driver: 'there is no secret store on persys nodes but persys Secrets; use external: true',
  driver_opts: 'there is no secret store on persys nodes but persys Secrets; use external: true',
};

// A service's long configs/secrets entry.
export const FILE_MOUNT_KEYS: ReadonlySet<string> = new Set(['source', 'target', 'uid', 'gid', 'mode']);
