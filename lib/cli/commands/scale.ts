// `persys scale cs/NAME --replicas N`: sets a ContainerSet's spec.replicas, kubectl-style, with an
// optional --current-replicas precondition.
import { status as Status } from '@grpc/grpc-js';
import { findKind } from '../../api/kinds.js';
import { ApiError } from '../../client/client.js';
import { str, type Command } from '../command.js';
import { UsageError } from '../errors.js';

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
    const target = ctx.args[0] ?? '';
    const [kindName, name] = target.includes('/') ? target.split('/', 2) : [target, ctx.args[1]];
    if (findKind(kindName ?? '')?.kind !== 'ContainerSet' || !name) {
      throw new UsageError('scale works on ContainerSets: use containerset/NAME (or cs/NAME)', 'scale');
    }
    const replicas = wholeNumber(str(ctx.flags, 'replicas'), 'replicas');
    if (replicas === undefined) throw new UsageError('--replicas is required', 'scale');
    const expected = wholeNumber(str(ctx.flags, 'current-replicas'), 'current-replicas');
    const client = ctx.client();
    for (let attempt = 0; ; attempt++) {
      const set = await client.get('ContainerSet', name, ctx.namespace());
      const current = set.spec?.replicas ?? 1;
      if (expected !== undefined && current !== expected) {
        throw new UsageError(`expected ${expected} replicas, containerset/${name} has ${current}`, 'scale');
      }
      try {
        // The resourceVersion from the read makes this a compare-and-swap: a concurrent edit is retried.
        await client.update({ ...set, spec: { ...set.spec, replicas } });
        ctx.io.out(`containerset/${name} scaled`);
        return 0;
      } catch (err) {
        if (!(err instanceof ApiError && err.code === Status.ABORTED) || attempt >= 5) throw err;
      }
    }
  },
};
