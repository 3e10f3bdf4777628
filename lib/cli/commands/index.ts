// The registry of `persys` subcommands. Components add theirs here (one file per command in this
// folder); `persys --help` lists them in registration order.
import type { Command } from '../command.js';
import { agentCommand } from './agent.js';
import { apiResourcesCommand } from './api-resources.js';
import { apiserverCommand } from './apiserver.js';
import { applyCommand } from './apply.js';
import { controllerCommand, controllersCommand } from './controller.js';
import { deleteCommand } from './delete.js';
import { describeCommand } from './describe.js';
import { diffCommand } from './diff.js';
import { execCommand } from './exec.js';
import { getCommand } from './get.js';
import { hollowNodesCommand } from './hollow-nodes.js';
import { logsCommand } from './logs.js';
import { createCommand } from './create.js';
import { cordonCommand, drainCommand, uncordonCommand } from './node-maintenance.js';
import { pkiCommand } from './pki.js';
import { rolloutCommand } from './rollout.js';
import { scaleCommand } from './scale.js';
import { tokenCommand } from './token.js';
import { topCommand } from './top.js';
import { upCommand } from './up.js';
import { versionCommand } from './version.js';

export const commands = new Map<string, Command>();

/** Adds a command; its name and aliases must be unused. */
export function registerCommand(cmd: Command): void {
  for (const n of [cmd.name, ...(cmd.aliases ?? [])]) {
    if (findCommand(n)) throw new Error(`persys command "${n}" is registered twice`);
  }
  commands.set(cmd.name, cmd);
}

export function findCommand(name: string): Command | undefined {
  return commands.get(name) ?? [...commands.values()].find((c) => c.aliases?.includes(name));
}

for (const cmd of [
  upCommand,
  applyCommand,
  createCommand,
  getCommand,
  describeCommand,
  deleteCommand,
  scaleCommand,
  rolloutCommand,
  cordonCommand,
  uncordonCommand,
  drainCommand,
  diffCommand,
  logsCommand,
  execCommand,
  topCommand,
  tokenCommand,
  apiResourcesCommand,
  versionCommand,
  pkiCommand,
  apiserverCommand,
  agentCommand,
  hollowNodesCommand,
  controllerCommand,
  controllersCommand,
]) {
  registerCommand(cmd);
}
