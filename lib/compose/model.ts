// The compose project persys runs, normalized from a compose-spec file: what the API server validates
// (parse.ts) and what a node agent brings up through the Docker API (node-agent/compose/).

export type DependsOnCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface ComposePort {
  /** Port inside the container. */
  target: number;
  /** Port on the node; undefined lets Docker pick one (as `ports: ["80"]`). */
  published?: number;
  protocol: 'tcp' | 'udp';
  hostIp?: string;
}

export interface ComposeMount {
  type: 'volume' | 'bind' | 'tmpfs';
  /** volume: the key of a top-level volume (or undefined for an anonymous volume); bind: an absolute host path. */
  source?: string;
  target: string;
  readOnly: boolean;
}

export interface ComposeHealthcheck {
  /** Docker's form: ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"]. */
  test: string[];
  intervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  startPeriodMs?: number;
}

export interface ComposeServiceNetwork {
  /** Key of a network in ComposeProject.networks ('default' for the implicit one). */
  key: string;
  /** Extra DNS names on that network; the service name is always one. */
  aliases: string[];
}

/**
 * When the node agent pulls a service's image (compose-spec pull_policy; Compose's default is missing):
 * always: before every container it creates; missing: only when the node lacks the image; never: not at
 * all (a missing image is an error). The file's if_not_present is read as missing; build is refused.
 */
export type ComposePullPolicy = 'always' | 'missing' | 'never';

/**
 * Where the content of a mounted file comes from.
 * - ConfigMap / Secret: a persys object in the stack's namespace (a top-level config or secret with
 *   `external: true`), read by the agent at run time. `key` is the object's key whose value becomes the
 *   file (`x-persys-key`); without it the object must have exactly one key, which the agent checks.
 * - inline: content the stack itself carries (a top-level `content:`, or `file:` read from spec.files).
 */
export type ComposeFileSource =
  | { kind: 'ConfigMap'; name: string; key?: string }
  | { kind: 'Secret'; name: string; key?: string }
  | { kind: 'inline'; content: string };

/**
 * One file a service's `configs:` or `secrets:` puts into its containers. The files are read-only to
 * the container; when the source's content changes the agent rewrites the file in place (the content
 * is not part of configHash, so a change never recreates a container).
 */
export interface ComposeFileMount {
  /** Where the file is declared, for messages: "configs.nginx_conf" or "secrets.db_password". */
  origin: string;
  /** Absolute path in the container: default /<source> for configs, /run/secrets/<source> for secrets. */
  target: string;
  /** File permission bits, default 0o444 (as Compose). */
  mode: number;
  /** Owner of the file, default 0 (root). */
  uid: number;
  gid: number;
  source: ComposeFileSource;
}

export interface ComposeService {
  name: string;
  image: string;
  /** pull_policy, default 'missing'; not part of configHash (as in Compose). */
  pullPolicy: ComposePullPolicy;
  /** Replaces the image's entrypoint; a string in the file is split like a shell would (no expansion). */
  entrypoint?: string[];
  /** Replaces the image's cmd. */
  command?: string[];
  /**
   * After ${VAR} / ${VAR:-default} interpolation; list and map forms merged, over the variables of the
   * service's env_file files (read from the stack's spec.files, in order; environment wins).
   */
  environment: Record<string, string>;
  ports: ComposePort[];
  volumes: ComposeMount[];
  /** The service's configs then secrets, in the file's order; targets are distinct from volumes'. */
  fileMounts: ComposeFileMount[];
  healthcheck?: ComposeHealthcheck;
  /** no (default), always, on-failure[:N], unless-stopped. */
  restart: string;
  labels: Record<string, string>;
  /** deploy.replicas (or scale), with the stack's spec.scale override applied. Default 1. */
  replicas: number;
  resources: {
    /** deploy.resources.limits.cpus as nano-CPUs. */
    nanoCpus?: number;
    memoryBytes?: number;
    memoryReservationBytes?: number;
  };
  dependsOn: { service: string; condition: DependsOnCondition }[];
  networks: ComposeServiceNetwork[];
  workingDir?: string;
  user?: string;
  hostname?: string;
  /**
   * SHA-256 (hex) of the service's configuration without replicas/scale, depends_on, build, pull_policy
   * and the content of fileMounts (their targets, modes, owners and source names count): a container
   * whose com.docker.compose.config-hash label differs is recreated; scaling alone never is.
   */
  configHash: string;
}

export interface ComposeNetwork {
  key: string;
  /** Docker name: PROJECT_KEY (PROJECT_default for the implicit one), or `name:`, or the external name. */
  name: string;
  external: boolean;
  driver?: string;
  labels: Record<string, string>;
}

export interface ComposeVolume {
  key: string;
  /** Docker name: PROJECT_KEY, or `name:`, or the external name. */
  name: string;
  external: boolean;
  driver?: string;
  labels: Record<string, string>;
}

export interface ComposeProject {
  /** Compose project name (lowercase). */
  name: string;
  /** In the file's order. */
  services: ComposeService[];
  /** Networks services use, the implicit default one included when a service uses it. */
  networks: ComposeNetwork[];
  volumes: ComposeVolume[];
}

export interface ParseComposeOptions {
  projectName: string;
  /** Variables for interpolation (the stack's spec.env); nothing is read from the process environment. */
  env: Record<string, string>;
  /** Per-service replica overrides (the stack's spec.scale). */
  scale: Record<string, number>;
  /**
   * Files the compose file names by relative path (the stack's spec.files: path → content), for
   * env_file and the `file:` of configs and secrets. "./a.env" and "a.env" name the same file.
   */
  files?: Record<string, string>;
}

/** Either a project or the problems found, each naming its place ("services.web.ports[0]: …"). */
export type ParseComposeResult = { project: ComposeProject; errors: [] } | { project?: undefined; errors: string[] };

/** Docker Compose's labels (com.docker.compose.*), written on everything persys creates for a stack. */
export const COMPOSE_LABELS = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  containerNumber: 'com.docker.compose.container-number',
  configHash: 'com.docker.compose.config-hash',
  oneoff: 'com.docker.compose.oneoff',
  version: 'com.docker.compose.version',
  image: 'com.docker.compose.image',
  dependsOn: 'com.docker.compose.depends_on',
  configFiles: 'com.docker.compose.project.config_files',
  workingDir: 'com.docker.compose.project.working_dir',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
} as const;
