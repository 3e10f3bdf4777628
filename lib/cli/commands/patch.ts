// `persys patch KIND NAME -p PATCH [--type merge|json]`: applies a JSON merge patch or a JSON patch to
// a fresh read of the object and writes the result with that read's resourceVersion (re-read and
// re-applied on a conflict), so a patch is applied whole to one version or not at all.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import type { Resource } from '../../api/resource.js';
import { str, type Command } from '../command.js';
import { formatError } from '../errors.js';
import { checkEdited } from '../field-check.js';
import { parseObjectRefs, refName } from '../object-refs.js';
import { applyJsonPatch, applyMergePatch, deepEqual } from '../patch.js';
import { readModifyWrite } from '../read-modify-write.js';
import { UsageError } from '../usage-error.js';

export const patchCommand: Command = {
  name: 'patch',
  usage: 'persys patch KIND NAME -p PATCH [--type merge|json]\npersys patch KIND/NAME... -p PATCH [--type merge|json]',
  description: [
    'PATCH is JSON (or YAML). --type merge (the default) is a JSON merge patch (RFC 7386): objects merge,',
    'null removes a field, lists are replaced whole. persys kinds carry no strategic-merge metadata, so',
    "kubectl's default (strategic) is not offered. --type json is a JSON patch (RFC 6902): a list of",
    'add, remove, replace, move, copy and test operations on JSON pointers such as /spec/replicas.',
    '',
    'The patch is applied to the object as read and written back with its resourceVersion, so a',
    'concurrent change is never overwritten (on a conflict the patch is applied again to a fresh read).',
    'A patch that leaves the object invalid is refused by the server and nothing is stored.',
    '',
    'Examples:',
    `  persys patch cs web -p '{"spec":{"replicas":3}}'`,
    `  persys patch ct/web --type json -p '[{"op":"replace","path":"/spec/image","value":"nginx:1.27"}]'`,
    `  persys patch cs web -p '{"metadata":{"labels":{"tier":null}}}'     # removes a label`,
  ].join('\n'),
  flags: {
    patch: { type: 'string', short: 'p', valueName: 'PATCH', description: 'the patch, as JSON or YAML' },
    'patch-file': { type: 'string', valueName: 'FILE', description: 'read the patch from FILE' },
    type: { type: 'string', valueName: 'TYPE', default: 'merge', description: 'merge (RFC 7386) or json (RFC 6902)' },
  },
  async run(ctx) {
    const type = str(ctx.flags, 'type');
    if (type === 'strategic') {
      throw new UsageError('strategic merge patch is not supported: persys kinds have no patch strategies; use --type merge or --type json', 'patch');
    }
    if (type !== 'merge' && type !== 'json') throw new UsageError(`--type must be merge or json, got "${type}"`, 'patch');
    const text = readPatchText(str(ctx.flags, 'patch'), str(ctx.flags, 'patch-file'));
    const patch = parsePatch(text);
    const apply = (obj: Resource): unknown => (type === 'json' ? applyJsonPatch(obj, patch) : applyMergePatch(obj, patch));
    const { refs } = parseObjectRefs(ctx.args, 'patch');
    if (!refs.length) throw new UsageError('you must specify the NAME of the object to patch', 'patch');

    const client = ctx.client();
    let failed = false;
    for (const { info, name } of refs) {
      const namespace = info.namespaced ? ctx.namespace() : '';
      let readVersion = '';
      try {
        const written = await readModifyWrite(client, info.kind, name, namespace, (current) => {
          readVersion = current.metadata.resourceVersion ?? '';
          const next = apply(current);
          checkEdited(info, current, next);
          return deepEqual(next, current) ? undefined : next;
        });
        const changed = written && written.metadata.resourceVersion !== readVersion;
        ctx.io.out(`${refName(info, name)} patched${changed ? '' : ' (no change)'}`);
      } catch (err) {
        failed = true;
        ctx.io.err(formatError(err, ctx.config().server));
      }
    }
    return failed ? 1 : 0;
  },
};

function readPatchText(inline: string | undefined, file: string | undefined): string {
  if (inline !== undefined && file !== undefined) throw new UsageError('give either --patch or --patch-file, not both', 'patch');
  if (file !== undefined) return readFileSync(file, 'utf8');
  if (inline === undefined) throw new UsageError('must specify --patch or --patch-file containing the contents of the patch', 'patch');
  return inline;
}

function parsePatch(text: string): unknown {
  try {
    return YAML.parse(text);
  } catch (err) {
    throw new UsageError(`unable to parse ${JSON.stringify(text)}: ${(err as Error).message.split('\n')[0]}`, 'patch');
  }
}
