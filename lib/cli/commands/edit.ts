// `persys edit KIND NAME`: the object as YAML in $PERSYS_EDITOR / $KUBE_EDITOR / $EDITOR (vi), saved with
// the resourceVersion it was read at. An invalid edit reopens the file with the error on top, as kubectl
// does; an unchanged or empty file changes nothing (said on stderr, as kubectl says it).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import YAML from 'yaml';
import type { KindInfo } from '../../api/kinds.js';
import type { Resource } from '../../api/resource.js';
import { ApiError } from '../../client/errors.js';
import { str, type Command, type CommandContext } from '../command.js';
import { editFileText, stripComments } from '../edit-file.js';
import { checkEdited, InvalidEditError } from '../field-check.js';
import { parseObjectRefs, refName } from '../object-refs.js';
import { applyMergePatch, createMergePatch, deepEqual } from '../patch.js';
import { toJson, toYaml } from '../printers/output.js';
import { readModifyWrite } from '../read-modify-write.js';
import { UsageError } from '../usage-error.js';

export const editCommand: Command = {
  name: 'edit',
  usage: 'persys edit KIND NAME [-o yaml|json]\npersys edit KIND/NAME [-o yaml|json]',
  description: [
    'Opens the object in an editor: $PERSYS_EDITOR, else $KUBE_EDITOR, else $EDITOR, else vi (run',
    'through sh, so "code --wait" works). On save the object is written with the resourceVersion it',
    'was read at; if it changed meanwhile, your changes are applied to the newer version instead.',
    'An invalid object reopens the file with the error at the top; saving it unchanged again, or',
    'an editor that fails, cancels the edit and keeps a copy of your changes. status is not editable.',
  ].join('\n'),
  flags: {
    output: { type: 'string', short: 'o', valueName: 'FORMAT', default: 'yaml', description: 'the format to edit in: yaml or json' },
  },
  async run(ctx) {
    const format = str(ctx.flags, 'output');
    if (format !== 'yaml' && format !== 'json') throw new UsageError(`--output must be yaml or json, got "${format}"`, 'edit');
    const { refs } = parseObjectRefs(ctx.args, 'edit');
    if (refs.length !== 1) throw new UsageError('edit takes one object: KIND NAME or KIND/NAME', 'edit');
    const { info, name } = refs[0]!;
    const namespace = info.namespaced ? ctx.namespace() : '';
    const original = await ctx.client().get(info.kind, name, namespace);
    const dir = mkdtempSync(join(tmpdir(), 'persys-edit-'));
    const file = join(dir, `${info.singular}-${name}.${format}`);
    let keep = false;
    try {
      await editLoop(ctx, { info, namespace, original, file, format });
      return 0;
    } catch (err) {
      keep = true;
      throw err;
    } finally {
      if (keep) {
        const copy = join(tmpdir(), `persys-edit-${Date.now()}.${format}`);
        try {
          writeFileSync(copy, readFileSync(file));
          ctx.io.err(`A copy of your changes has been stored to "${copy}"`);
        } catch {
          // The editor never wrote the file: there are no changes to keep.
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

interface EditTarget {
  info: KindInfo;
  namespace: string;
  original: Resource;
  file: string;
  format: 'yaml' | 'json';
}

/** Edits until the object is saved or the edit is cancelled; throws when it cannot be saved. */
async function editLoop(ctx: CommandContext, t: EditTarget): Promise<void> {
  const { info, original } = t;
  const name = original.metadata.name ?? '';
  const serialize = (v: unknown) => (t.format === 'json' ? toJson(v) : toYaml(v));
  let text = editFileText(serialize(original));
  let lastInvalid: string | undefined;
  for (;;) {
    writeFileSync(t.file, text);
    await runEditor(ctx.env, t.file);
    const edited = stripComments(readFileSync(t.file, 'utf8'));
    if (!edited) {
      ctx.io.err('Edit cancelled, saved file was empty.');
      return;
    }
    if (edited === lastInvalid) throw new EditCancelledError('Edit cancelled, no valid changes were saved.');
    try {
      const obj: unknown = parseEdited(edited);
      if (deepEqual(obj, original)) {
        ctx.io.err('Edit cancelled, no changes made.');
        return;
      }
      checkEdited(info, original, obj);
      await readModifyWrite(ctx.client(), info.kind, name, t.namespace, (current) => {
        if (current.metadata.resourceVersion === original.metadata.resourceVersion) return obj;
        // Changed since it was read: apply what the user changed to the newer version.
        const merged = applyMergePatch(current, createMergePatch(original, obj));
        checkEdited(info, current, merged);
        return merged;
      });
      ctx.io.out(`${refName(info, name)} edited`);
      return;
    } catch (err) {
      if (!reopens(err)) throw err;
      lastInvalid = edited;
      text = editFileText(edited, { what: `${info.plural} ${JSON.stringify(name)}`, message: (err as Error).message });
    }
  }
}

function parseEdited(text: string): unknown {
  try {
    return YAML.parse(text);
  } catch (err) {
    throw new InvalidEditError(`error parsing the edited object: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Errors the user can fix in the file: it is reopened with them. */
const reopens = (err: unknown): boolean =>
  err instanceof InvalidEditError || (err instanceof ApiError && err.code === Status.INVALID_ARGUMENT);

/** The file was saved again with the changes that were refused: kubectl's way out of the loop. */
export class EditCancelledError extends Error {
  override name = 'EditCancelledError';
}

/** The editor could not be started or exited with a failure. */
export class EditorError extends Error {
  override name = 'EditorError';
}

/** Runs the editor on `file` through sh, with the terminal; throws when it fails. */
async function runEditor(env: NodeJS.ProcessEnv, file: string): Promise<void> {
  const editor = env.PERSYS_EDITOR || env.KUBE_EDITOR || env.EDITOR || 'vi';
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('sh', ['-c', `${editor} "$1"`, 'persys-edit', file], { stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('error', reject);
    child.on('exit', (c) => resolve(c));
  });
  if (code !== 0) throw new EditorError(`there was a problem with the editor "${editor}"`);
}
