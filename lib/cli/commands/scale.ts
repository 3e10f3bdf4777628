// `persys scale cs/NAME --replicas N`: sets a ContainerSet's or a replicated SwarmService's spec.replicas,
// kubectl-style, with an optional --current-replicas precondition.
import { str, type Command } from '../command.js';
import { UsageError } from '../usage-error.js';
import { readModifyWrite } from '../read-modify-write.js';
import { parseScaleTarget } from '../target.js';

const wholeNumber = (text: string | undefined, flag: string): number | undefined => {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${flag} must be a whole number ≥ 0, got "${text}"`, 'scale');
  return Number(text);
};

export const scaleCommand: Command = {
  name: 'scale',
  usage: 'persys scale containerset/NAME|swarmservice/NAME --replicas N [--current-replicas N]',
  flags: {
    replicas: { type: 'string', valueName: 'N', description: 'the new number of replicas (required)' },
    'current-replicas': { type: 'string', valueName: 'N', description: 'only scale if the set has exactly this many now' },
  },
  async run(ctx) {
    const { kind, name } = parseScaleTarget(ctx.args);
    const ref = `${kind.toLowerCase()}/${name}`;
    const replicas = wholeNumber(str(ctx.flags, 'replicas'), 'replicas');
    if (replicas === undefined) throw new UsageError('--replicas is required', 'scale');
    const expected = wholeNumber(str(ctx.flags, 'current-replicas'), 'current-replicas');
    await readModifyWrite(ctx.client(), kind, name, ctx.namespace(), (obj) => {
      if (obj.spec?.mode === 'global') {
        throw new UsageError(`${ref} is global: it runs one task per eligible node and has no replica count`, 'scale');
      }
      const current = obj.spec?.replicas ?? 1;
      if (expected !== undefined && current !== expected) {
        throw new UsageError(`expected ${expected} replicas, ${ref} has ${current}`, 'scale');
      }
      return { ...obj, spec: { ...obj.spec, replicas } };
    });
    ctx.io.out(`${ref} scaled`);
    return 0;
  },
};
