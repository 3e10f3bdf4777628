// Compose's variable interpolation ($VAR, ${VAR:-default}, ${VAR:?err}, $$ …) over a compose file's
// values, from the stack's spec.env only: the API server's own environment must never leak into a stack.

export class InterpolationError extends Error {
  override readonly name = 'InterpolationError';
}

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;
const OPERATORS = [':-', ':?', ':+', '-', '?', '+'] as const;

const lookup = (env: Record<string, string>, name: string): string | undefined =>
  Object.hasOwn(env, name) ? env[name] : undefined;

/** Index of the `}` closing a `${` whose body starts at `from`; nested `${…}` in defaults count. */
function closingBrace(s: string, from: number): number {
  let depth = 1;
  for (let i = from; i < s.length; i++) {
    if (s[i] === '$' && s[i + 1] === '$') i++;
    else if (s[i] === '$' && s[i + 1] === '{') {
      depth++;
      i++;
    } else if (s[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function invalid(template: string): InterpolationError {
  return new InterpolationError(`invalid interpolation format ${JSON.stringify(template)}: escape a literal $ as $$`);
}

function expandBraced(body: string, template: string, env: Record<string, string>): string {
  const name = NAME.exec(body)?.[0];
  if (!name) throw invalid(template);
  const rest = body.slice(name.length);
  const value = lookup(env, name);
  if (rest === '') return value ?? '';
  const op = OPERATORS.find((o) => rest.startsWith(o));
  if (!op) throw invalid(template);
  // The word after the operator is expanded only when it is used, as in a shell.
  const word = () => interpolate(rest.slice(op.length), env);
  const empty = value === undefined || value === '';
  switch (op) {
    case ':-':
      return empty ? word() : value;
    case '-':
      return value === undefined ? word() : value;
    case ':+':
      return empty ? '' : word();
    case '+':
      return value === undefined ? '' : word();
    case ':?':
    case '?': {
      if (op === ':?' ? !empty : value !== undefined) return value!;
      const why = word();
      throw new InterpolationError(`required variable ${name} is missing a value${why ? `: ${why}` : ''}`);
    }
  }
}

/** Expands one string; an unset variable without a default becomes "" (Compose only warns). */
export function interpolate(template: string, env: Record<string, string>): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) return out + template.slice(i);
    out += template.slice(i, dollar);
    const next = template[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
    } else if (next === '{') {
      const end = closingBrace(template, dollar + 2);
      if (end < 0) throw invalid(template);
      out += expandBraced(template.slice(dollar + 2, end), template, env);
      i = end + 1;
    } else {
      const name = NAME.exec(template.slice(dollar + 1))?.[0];
      if (!name) throw invalid(template);
      out += lookup(env, name) ?? '';
      i = dollar + 1 + name.length;
    }
  }
  return out;
}

/**
 * Interpolates every string value in a parsed compose tree (never keys, never `x-*` extensions,
 * which persys ignores); each failure is reported as "PATH: why" and the value left as it was.
 */
export function interpolateValues(value: unknown, env: Record<string, string>, path: string, report: (message: string) => void): unknown {
  if (typeof value === 'string') {
    try {
      return interpolate(value, env);
    } catch (e) {
      if (!(e instanceof InterpolationError)) throw e;
      report(`${path}: ${e.message}`);
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateValues(v, env, `${path}[${i}]`, report));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = k.startsWith('x-') ? v : interpolateValues(v, env, path ? `${path}.${k}` : k, report);
    }
    return out;
  }
  return value;
}
