// Fields of a JSON object that its kind's message lacks. The wire form has no room for them (the
// conversion drops them), so a client must refuse them before sending: the server cannot see them.

/** One field the kind does not have, at its path in the object ("spec.imagee"). */
export interface UnknownField {
  path: string;
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Walks `json` beside `message`, its conversion by the kind's codec (fromJSON), which has a key for
 * every field of each message it holds and exactly the given keys of each map: a key of `json` the
 * message lacks is a field the kind does not have. Null and undefined values are absent in JSON.
 */
export function unknownFields(json: unknown, message: unknown, path = ''): UnknownField[] {
  const out: UnknownField[] = [];
  walk(json, message, path, out);
  return out;
}

function walk(json: unknown, message: unknown, path: string, out: UnknownField[]): void {
  if (Array.isArray(json)) {
    if (!Array.isArray(message)) return;
    for (let i = 0; i < json.length; i++) walk(json[i], message[i], `${path}[${i}]`, out);
    return;
  }
  if (!isObject(json) || !isObject(message)) return;
  for (const key of Object.keys(json)) {
    const v = json[key];
    if (v === null || v === undefined) continue;
    const p = path ? `${path}.${key}` : key;
    if (!Object.hasOwn(message, key)) out.push({ path: p, message: `unknown field ${JSON.stringify(key)}` });
    else walk(v, message[key], p, out);
  }
}
