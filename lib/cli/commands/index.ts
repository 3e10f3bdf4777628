// The table of the client's `persys` subcommands: one file per command in this folder, loaded only
// when that command runs or shows its --help, so `persys --help` and a client command load only what
// they use. The commands that run persys' processes (up, apiserver, agent, …) are in cmd/commands.ts.
import type { Command } from '../command.js';

export interface CommandEntry {
  name: string;
  /** One line for the command list in `persys --help`. */
  summary: string;
  load(): Promise<Command>;
}

export const CLIENT_COMMANDS: readonly CommandEntry[] = [
  { name: 'apply', summary: 'Create or update objects from manifest files', load: async () => (await import('./apply.js')).applyCommand },
  { name: 'create', summary: 'Create a Secret, a ConfigMap, or a run of a CronJob now', load: async () => (await import('./create.js')).createCommand },
  { name: 'get', summary: 'Display one or many objects', load: async () => (await import('./get.js')).getCommand },
  { name: 'describe', summary: 'Show details of an object and its events', load: async () => (await import('./describe.js')).describeCommand },
  { name: 'edit', summary: 'Edit an object in your editor and save it', load: async () => (await import('./edit.js')).editCommand },
  { name: 'patch', summary: 'Change fields of an object with a JSON merge patch or a JSON patch', load: async () => (await import('./patch.js')).patchCommand },
  { name: 'label', summary: 'Add, change or remove labels of objects', load: async () => (await import('./label.js')).labelCommand },
  { name: 'annotate', summary: 'Add, change or remove annotations of objects', load: async () => (await import('./label.js')).annotateCommand },
  { name: 'set', summary: 'Set the image of a ContainerSet, Container, SwarmService or CronJob (set image)', load: async () => (await import('./set.js')).setCommand },
  { name: 'delete', summary: 'Delete objects by name, selector or manifest', load: async () => (await import('./delete.js')).deleteCommand },
  { name: 'scale', summary: 'Set the number of replicas of a ContainerSet or SwarmService', load: async () => (await import('./scale.js')).scaleCommand },
  { name: 'rollout', summary: 'Watch, list, undo or restart the rollout of a ContainerSet', load: async () => (await import('./rollout.js')).rolloutCommand },
  { name: 'cordon', summary: 'Mark a node unschedulable', load: async () => (await import('./node-maintenance.js')).cordonCommand },
  { name: 'uncordon', summary: 'Mark a node schedulable again', load: async () => (await import('./node-maintenance.js')).uncordonCommand },
  { name: 'drain', summary: 'Cordon a node and move its Containers elsewhere', load: async () => (await import('./node-maintenance.js')).drainCommand },
  { name: 'diff', summary: 'Show what apply would change (exit 0: none, 1: changes, 2: error)', load: async () => (await import('./diff.js')).diffCommand },
  { name: 'events', summary: 'List events, oldest first; -w follows new ones', load: async () => (await import('./events.js')).eventsCommand },
  { name: 'wait', summary: 'Wait for objects to be deleted, or to have a condition or a field value', load: async () => (await import('./wait.js')).waitCommand },
  { name: 'logs', summary: "Print a container's or a compose stack's logs", load: async () => (await import('./logs.js')).logsCommand },
  { name: 'exec', summary: 'Run a command in a container', load: async () => (await import('./exec.js')).execCommand },
  { name: 'run', summary: 'Run an image in a new Container; with --rm -it, a debugging shell', load: async () => (await import('./run.js')).runCommand },
  { name: 'top', summary: 'Show CPU and memory use of nodes or containers', load: async () => (await import('./top.js')).topCommand },
  { name: 'auth', summary: 'Check what you (or another user) may do: auth can-i VERB KIND', load: async () => (await import('./auth.js')).authCommand },
  { name: 'node', summary: "Revoke a node's certificates and close its stream (node revoke)", load: async () => (await import('./node.js')).nodeCommand },
  { name: 'token', summary: 'Create join tokens for new nodes, or bearer tokens for ServiceAccounts', load: async () => (await import('./token.js')).tokenCommand },
  { name: 'api-resources', summary: 'List the kinds the server supports', load: async () => (await import('./api-resources.js')).apiResourcesCommand },
  { name: 'config', summary: 'Show and change the contexts of the client config file', load: async () => (await import('./config.js')).configCommand },
  { name: 'completion', summary: 'Print a bash or zsh completion script', load: async () => (await import('./completion.js')).completionCommand },
  { name: 'version', summary: 'Print the client and server versions', load: async () => (await import('./version.js')).versionCommand },
];

export function findCommand(commands: readonly CommandEntry[], name: string): CommandEntry | undefined {
  return commands.find((c) => c.name === name);
}
