// `persys set image KIND/NAME CONTAINER=IMAGE`: kubectl's set image for the kinds that run one image,
// written back with the object's resourceVersion (re-read and re-applied on a conflict).
import { type Command } from '../command.js';
import { formatError } from '../errors.js';
import { refName, resolveObjectRefs, SELECT_FLAGS } from '../object-refs.js';
import { readModifyWrite } from '../read-modify-write.js';
import { IMAGE_KINDS, imageOf, parseImagePairs, withImage } from '../set-image.js';
import { UsageError } from '../usage-error.js';

export const setCommand: Command = {
  name: 'set',
  usage: 'persys set image KIND/NAME... CONTAINER=IMAGE...\npersys set image KIND NAME... CONTAINER=IMAGE...\npersys set image KIND (-l SELECTOR | --all) CONTAINER=IMAGE...',
  description: [
    `set image works on ${IMAGE_KINDS.join(', ')}.`,
    "Each runs one container (persys has no pods), so CONTAINER is `*`, the object's own name, or the",
    "name in its template's metadata. An unknown CONTAINER is an error and changes nothing. A",
    'ContainerSet rolls the new image out. As in kubectl, an object that already has the image is left',
    'alone and not listed.',
    '',
    'Examples:',
    '  persys set image cs/web web=nginx:1.27',
    "  persys set image cs -l app=web '*=nginx:1.27'",
    '  persys set image cronjob/tick tick=busybox:1.36',
  ].join('\n'),
  flags: { ...SELECT_FLAGS },
  async run(ctx) {
    const [sub, ...args] = ctx.args;
    if (sub !== 'image') throw new UsageError(`set needs a subcommand: image${sub ? ` (got "${sub}")` : ''}`, 'set');
    const pairArgs = args.filter((a) => a.includes('='));
    if (!pairArgs.length) throw new UsageError('at least one image update is required', 'set');
    let pairs: [string, string][];
    try {
      pairs = parseImagePairs(pairArgs);
    } catch (err) {
      throw new UsageError((err as Error).message, 'set');
    }
    const targets = await resolveObjectRefs(ctx, args.filter((a) => !a.includes('=')), 'set');
    const client = ctx.client();
    let failed = false;
    for (const { info, name } of targets) {
      if (!IMAGE_KINDS.includes(info.kind)) {
        failed = true;
        ctx.io.err(`error: ${refName(info, name)} has no image to set: set image works on ${IMAGE_KINDS.join(', ')}`);
        continue;
      }
      try {
        const written = await readModifyWrite(client, info.kind, name, info.namespaced ? ctx.namespace() : '', (current) => {
          const next = withImage(current, pairs);
          return imageOf(next) === imageOf(current) ? undefined : next;
        });
        // kubectl says nothing about an object whose image was already the one asked for.
        if (written) ctx.io.out(`${refName(info, name)} image updated`);
      } catch (err) {
        failed = true;
        ctx.io.err(formatError(err, ctx.config().server));
      }
    }
    return failed ? 1 : 0;
  },
};
