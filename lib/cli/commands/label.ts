// `persys label` and `persys annotate`: add, change (with --overwrite) and remove labels or
// annotations of objects named, or chosen by -l / --all, each by a read-modify-write on its resourceVersion.
import { bool, type Command } from '../command.js';
import { formatError } from '../errors.js';
import { isUpdateArg, parseMapUpdates, updateMap, type MetadataField } from '../metadata-updates.js';
import { refName, resolveObjectRefs, SELECT_FLAGS } from '../object-refs.js';
import { readModifyWrite } from '../read-modify-write.js';

function metadataCommand(name: 'label' | 'annotate', field: MetadataField): Command {
  const noun = field === 'labels' ? 'label' : 'annotation';
  return {
    name,
    usage: `persys ${name} KIND NAME... KEY=VALUE... KEY-... [--overwrite]\npersys ${name} KIND/NAME... KEY=VALUE... [--overwrite]\npersys ${name} KIND (-l SELECTOR | --all) KEY=VALUE... [--overwrite]`,
    description: [
      `KEY=VALUE sets ${field === 'labels' ? 'a label' : 'an annotation'}, KEY- removes one. A key that already has a value is`,
      'changed only with --overwrite. The server checks keys and values as it does for apply.',
      '',
      'Examples:',
      field === 'labels'
        ? `  persys label cs web tier=front\n  persys label ct -l app=web zone=b --overwrite\n  persys label ct/web tier-`
        : `  persys annotate cs web owner='team a'\n  persys annotate ct --all note=checked --overwrite\n  persys annotate ct/web owner-`,
    ].join('\n'),
    flags: {
      overwrite: { type: 'boolean', description: `allow changing ${noun}s that already have a value` },
      ...SELECT_FLAGS,
    },
    async run(ctx) {
      const update = parseMapUpdates(ctx.args.filter(isUpdateArg), field, name);
      const targets = await resolveObjectRefs(ctx, ctx.args.filter((a) => !isUpdateArg(a)), name);
      const overwrite = bool(ctx.flags, 'overwrite');
      const client = ctx.client();
      let failed = false;
      for (const { info, name: objName } of targets) {
        const namespace = info.namespaced ? ctx.namespace() : '';
        const ref = refName(info, objName);
        try {
          let notFound: string[] = [];
          const written = await readModifyWrite(client, info.kind, objName, namespace, (current) => {
            const result = updateMap(current.metadata[field], update, overwrite, field);
            notFound = result.notFound;
            const before = JSON.stringify(Object.entries(current.metadata[field] ?? {}).sort());
            if (JSON.stringify(Object.entries(result.map).sort()) === before) return undefined;
            return { ...current, metadata: { ...current.metadata, [field]: result.map } };
          });
          for (const key of notFound) ctx.io.out(`${noun} ${JSON.stringify(key)} not found.`);
          if (field === 'annotations') ctx.io.out(`${ref} annotated`);
          else ctx.io.out(`${ref} ${written ? 'labeled' : 'not labeled'}`);
        } catch (err) {
          failed = true;
          ctx.io.err(formatError(err, ctx.config().server));
        }
      }
      return failed ? 1 : 0;
    },
  };
}

export const labelCommand = metadataCommand('label', 'labels');
export const annotateCommand = metadataCommand('annotate', 'annotations');
