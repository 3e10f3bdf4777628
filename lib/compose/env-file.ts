// A service's env_file (a path, a list, or {path, required}) → the variables of those .env files, read
// from the stack's spec.files in order, a later file overriding an earlier one.
import { parseDotEnv, DotEnvError } from './dotenv.js';
import { ENV_FILE_KEYS, ENV_FILE_UNSUPPORTED } from './keys.js';
import { checkKeys, child, isMap, item, readBoolean, readString, wrongType, type Problems } from './raw.js';
import { missingStackFile, readStackFile } from './stack-files.js';

interface EnvFileRef {
  path: string;
  required: boolean;
  at: string;
}

function refs(v: unknown, path: string, p: Problems): EnvFileRef[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [{ path: v, required: true, at: path }];
  if (!Array.isArray(v)) {
    wrongType(p, path, 'a string or a list', v);
    return [];
  }
  return v.flatMap((entry, i): EnvFileRef[] => {
    const at = item(path, i);
    if (typeof entry === 'string') return [{ path: entry, required: true, at }];
    if (!isMap(entry)) {
      wrongType(p, at, 'a string or a mapping', entry);
      return [];
    }
    checkKeys(entry, at, ENV_FILE_KEYS, p, ENV_FILE_UNSUPPORTED);
    const file = readString(entry['path'], child(at, 'path'), p);
    const required = readBoolean(entry['required'], child(at, 'required'), p) ?? true;
    if (file === undefined) {
      if (entry['path'] === undefined) p.at(at, 'path is required');
      return [];
    }
    return [{ path: file, required, at }];
  });
}

/** The merged variables of `v`'s files; a missing required file or a bad line is reported at its entry. */
export function parseEnvFiles(v: unknown, path: string, files: Record<string, string> | undefined, env: Record<string, string>, p: Problems): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ref of refs(v, path, p)) {
    if (ref.path === '') {
      p.at(ref.at, 'must not be empty');
      continue;
    }
    const text = readStackFile(files, ref.path);
    if (text === undefined) {
      // required: false lets a file be absent, as in Compose.
      if (ref.required) p.at(ref.at, missingStackFile(ref.path));
      continue;
    }
    try {
      Object.assign(out, parseDotEnv(text, env));
    } catch (e) {
      if (!(e instanceof DotEnvError)) throw e;
      p.at(ref.at, `${JSON.stringify(ref.path)} ${e.message}`);
    }
  }
  return out;
}
