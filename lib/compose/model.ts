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

export interface ComposeService {
  name: string;
  image: string;
  /** Replaces the image's entrypoint; a string in the file is split like a shell would (no expansion). */
  entrypoint?: string[];
  /** Replaces the image's cmd. */
  command?: string[];
  /** After ${VAR} / ${VAR:-default} interpolation; list and map forms merged. */
  environment: Record<string, string>;
  ports: ComposePort[];
  volumes: ComposeMount[];
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
   * SHA-256 (hex) of the service's configuration without replicas/scale, depends_on and build: a
   * container whose com.docker.compose.config-hash label differs is recreated; scaling alone never is.
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
