// `persys create`: kubectl's imperative creators that persys has — a run of a CronJob, Secrets (generic
// and registry credentials) and ConfigMaps. Each variant lives in its own file; this one holds the flags.
import type { Command } from '../command.js';
import { UsageError } from '../usage-error.js';
import { createConfigMap, createSecret, DEFAULT_DOCKER_SERVER } from './create-config.js';
import { createRun } from './create-run.js';

export const createCommand: Command = {
  name: 'create',
  usage: [
    'persys create secret generic NAME [--type=TYPE] [--from-literal=KEY=VALUE]... [--from-file=[KEY=]PATH]... [--dry-run=client|server] [-o yaml|json|name]',
    'persys create secret docker-registry NAME --docker-username=USER --docker-password=PASSWORD [--docker-server=SERVER] [--docker-email=EMAIL] [--dry-run=client|server] [-o yaml|json|name]',
    'persys create configmap NAME [--from-literal=KEY=VALUE]... [--from-file=[KEY=]PATH]... [--dry-run=client|server] [-o yaml|json|name]',
    'persys create run [NAME] --from=cronjob/NAME',
  ].join('\n'),
  description: [
    'secret generic: a Secret with the given keys (a directory given to --from-file adds each file in it).',
    'secret docker-registry: registry credentials (type persys.dev/dockerconfigjson) for imagePullSecrets;',
    '  only the agent of a node that runs a workload naming the Secret receives it.',
    'configmap: files that are not UTF-8 go into binaryData.',
    "run: a run of a CronJob's job template now; NAME defaults to CRONJOB-manual-XXXXX.",
  ].join('\n'),
  flags: {
    from: { type: 'string', valueName: 'cronjob/NAME', description: 'run: the CronJob whose job template to run (required)' },
    'from-literal': { type: 'string', multiple: true, valueName: 'KEY=VALUE', description: 'secret generic, configmap: a key and its value' },
    'from-file': { type: 'string', multiple: true, valueName: '[KEY=]PATH', description: 'secret generic, configmap: a file (key: its name) or a directory' },
    type: { type: 'string', valueName: 'TYPE', description: 'secret generic: the Secret type (default Opaque)' },
    'docker-server': { type: 'string', valueName: 'SERVER', description: `secret docker-registry: the registry (default ${DEFAULT_DOCKER_SERVER})` },
    'docker-username': { type: 'string', valueName: 'USER', description: 'secret docker-registry: user name (required)' },
    'docker-password': { type: 'string', valueName: 'PASSWORD', description: 'secret docker-registry: password (required)' },
    'docker-email': { type: 'string', valueName: 'EMAIL', description: 'secret docker-registry: email' },
    'dry-run': { type: 'string', valueName: 'MODE', default: 'none', description: 'client: only print the object; server: validate without storing' },
    output: { type: 'string', short: 'o', valueName: 'FORMAT', description: 'yaml, json or name: print the created object' },
  },
  async run(ctx) {
    const [what, ...rest] = ctx.args;
    switch (what) {
      case 'secret':
        return createSecret(ctx, rest);
      case 'configmap':
      case 'cm':
        return createConfigMap(ctx, rest);
      case 'run':
        return createRun(ctx, rest);
      default:
        throw new UsageError(`create supports secret, configmap and run, got ${what ? `"${what}"` : 'nothing'}`, 'create');
    }
  },
};
