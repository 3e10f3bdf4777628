// `persys scale cs/NAME --replicas N`: sets a ContainerSet's spec.replicas, kubectl-style, with an
// optional --current-replicas precondition.
import { str, type Command } from '../command.js';
import { UsageError } from '../errors.js';
import { readModifyWrite } from '../read-modify-write.js';
import { parseContainerSetTarget } from '../target.js';

const wholeNumber = (text: string | undefined, flag: string): number | undefined => {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${flag} must be a whole number ≥ 0, got "${text}"`, 'scale');
  return Number(text);
};

export const scaleCommand: Command = {
  name: 'scale',
  summary: 'Set the number of replicas of a ContainerSet',
  usage: 'persys scale containerset/NAME --replicas N [--current-replicas N]',
  flags: {
    replicas: { type: 'string', valueName: 'N', description: 'the new number of replicas (required)' },
    'current-replicas': { type: 'string', valueName: 'N', description: 'only scale if the set has exactly this many now' },
  },
  async run(ctx) {
    const name = parseContainerSetTarget(ctx.args, 'scale');
    const replicas = wholeNumber(str(ctx.flags, 'replicas'), 'replicas');
    if (replicas === undefined) throw new UsageError('--replicas is required', 'scale');
    const expected = wholeNumber(str(ctx.flags, 'current-replicas'), 'current-replicas');
    await readModifyWrite(ctx.client(), 'ContainerSet', name, ctx.namespace(), (set) => {
      const current = set.spec?.replicas ?? 1;
      if (expected !== undefined && current !== expected) {
        throw new UsageError(`expected ${expected} replicas, containerset/${name} has ${current}`, 'scale');
      }
      return { ...set, spec: { ...set.spec, replicas } };
    });
    ctx.io.out(`containerset/${name} scaled`);
    return 0;
  },
};
