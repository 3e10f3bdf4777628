// The .env format of Compose's env_file (compose-go's dotenv): KEY=VALUE lines, comments, `export`,
// single quotes literal, double quotes with escapes, ${VAR} expanded from the stack's variables.
import { interpolate, InterpolationError } from './interpolate.js';

export class DotEnvError extends Error {
  override readonly name = 'DotEnvError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Double-quoted escapes; `\$` is a literal $ (written $$ for the expansion that follows). */
function unescapeDoubleQuoted(s: string): string {
  return s.replace(/\\(.)/gs, (match, c: string) => {
    switch (c) {
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case '\\':
      case '"':
        return c;
      case '$':
        return '$$';
      default:
        return match;
    }
  });
}

/** Index of the quote closing a value opened at `from - 1`, across lines; -1 if none. */
function closingQuote(text: string, from: number, quote: string): number {
  for (let i = from; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}

/**
 * Parses a .env file into its variables, in order. Unquoted and double-quoted values expand
 * ${VAR}, $VAR and ${VAR:-default} from `env` first, then from the variables defined above them (as
 * compose-go does); a bare KEY takes its value from `env` and is left out when env lacks it.
 * Throws DotEnvError naming the line.
 */
export function parseDotEnv(text: string, env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const expand = (value: string, line: number): string => {
    try {
      return interpolate(value, { ...out, ...env });
    } catch (e) {
      if (e instanceof InterpolationError) throw new DotEnvError(line, e.message);
      throw e;
    }
  };
  const src = text.replace(/\r\n?/g, '\n');
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const eol = src.indexOf('\n', i) < 0 ? src.length : src.indexOf('\n', i);
    const startLine = line;
    const raw = src.slice(i, eol).trim();
    if (raw === '' || raw.startsWith('#')) {
      i = eol + 1;
      line++;
      continue;
    }
    const body = raw.replace(/^export\s+/, '');
    const sep = body.search(/[=:]/);
    if (sep < 0) {
      // A bare name: the variable of that name from the environment, or nothing.
      if (!KEY.test(body)) throw new DotEnvError(startLine, `invalid variable name ${JSON.stringify(body)}`);
      if (Object.hasOwn(env, body)) out[body] = env[body]!;
      i = eol + 1;
      line++;
      continue;
    }
    const key = body.slice(0, sep).trim();
    if (!KEY.test(key)) throw new DotEnvError(startLine, `invalid variable name ${JSON.stringify(key)}`);
    // The value starts after the separator in the original text (a quoted value may span lines).
    const lineStart = i + src.slice(i, eol).indexOf(body);
    let v = lineStart + sep + 1;
    while (src[v] === ' ' || src[v] === '\t') v++;
    const quote = src[v];
    if (quote === '"' || quote === "'") {
      const end = closingQuote(src, v + 1, quote);
      if (end < 0) throw new DotEnvError(startLine, `unterminated ${quote === '"' ? 'double' : 'single'} quote in the value of ${key}`);
      const inner = src.slice(v + 1, end);
      out[key] = quote === "'" ? inner : expand(unescapeDoubleQuoted(inner), startLine);
      line += (inner.match(/\n/g) ?? []).length;
      const after = src.indexOf('\n', end);
      i = after < 0 ? src.length : after + 1;
      line++;
      continue;
    }
    // Unquoted: to the end of the line, a " #" starting a comment.
    let value = src.slice(v, eol);
    const comment = value.search(/\s#/);
    if (comment >= 0) value = value.slice(0, comment);
    out[key] = expand(value.trim(), startLine);
    i = eol + 1;
    line++;
  }
  return out;
}
