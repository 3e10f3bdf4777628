// Every `persys` subcommand: the client's (lib/cli/commands) and the ones that run persys' processes,
// in the order `persys --help` lists them. Each loads only when it runs or shows its --help.
import { CLIENT_COMMANDS, type CommandEntry } from '../lib/cli/commands/index.js';
import type { Io } from '../lib/cli/io.js';
import { main as runMain, type MainDeps } from '../lib/cli/main.js';

export const PERSYS_COMMANDS: readonly CommandEntry[] = [
  { name: 'up', summary: 'Run a complete local persys (etcd, API server, controllers, a node agent) in the foreground', load: async () => (await import('./up.js')).upCommand },
  ...CLIENT_COMMANDS,
  { name: 'pki', summary: 'Manage the cluster PKI (pki init)', load: async () => (await import('./pki.js')).pkiCommand },
  { name: 'certificate', summary: 'Issue a user client certificate and its CLI config (certificate create)', load: async () => (await import('./certificate.js')).certificateCommand },
  { name: 'apiserver', summary: 'Run an API server against an existing etcd', load: async () => (await import('./apiserver.js')).apiserverCommand },
  { name: 'agent', summary: 'Run the node agent on this Docker host', load: async () => (await import('./agent.js')).agentCommand },
  { name: 'hollow-nodes', summary: 'Run many simulated (hollow) nodes in one process, for scale tests', load: async () => (await import('./hollow-nodes.js')).hollowNodesCommand },
  { name: 'controller', summary: 'Run one controller (controller docker)', load: async () => (await import('./controller.js')).controllerCommand },
  { name: 'controllers', summary: 'Run every controller in one process', load: async () => (await import('./controller.js')).controllersCommand },
  { name: 'install', summary: 'Write the systemd unit and settings file of the server or the agent (install server|agent)', load: async () => (await import('./install.js')).installCommand },
];

/** One `persys` invocation with every command; returns the exit code (lib/cli/main.ts). */
export function main(argv: string[], io?: Io, deps: MainDeps = {}): Promise<number> {
  return runMain(argv, io, { commands: PERSYS_COMMANDS, ...deps });
}
