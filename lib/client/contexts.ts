// The client config file's contexts, kubeconfig-style: named sets of connection settings and the
// current one. Pure functions over the parsed file; reading and writing it is in config.ts.
//
//   currentContext: prod
//   contexts:
//     - { name: prod, server: 10.0.0.5:7443, caCert: pki/ca.crt, clientCert: …, clientKey: …, namespace: shop }
//
// The flat format `persys up` writes (server, caCert, … at the top level) is one implicit context
// named "default"; the first write through `persys config` turns it into that named context.

/** The settings one context may hold; absent ones fall back to flags, PERSYS_* and defaults. */
export const CONTEXT_SETTINGS = ['server', 'caCert', 'clientCert', 'clientKey', 'token', 'namespace'] as const;
export type ContextSetting = (typeof CONTEXT_SETTINGS)[number];

export type ContextSettings = Partial<Record<ContextSetting, string>>;

export interface ConfigContext extends ContextSettings {
  name: string;
}

/** The name of the flat format's one implicit context. */
export const IMPLICIT_CONTEXT = 'default';

export interface ConfigFileContent {
  currentContext?: string;
  contexts: ConfigContext[];
  /** The file is in the flat format; `contexts` holds its implicit context. */
  flat: boolean;
  /** Top-level keys persys does not know, kept on write. */
  other: Record<string, unknown>;
}

/** A config file whose content is not what persys expects. */
export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
}

/** The context named on the command line (--context, PERSYS_CONTEXT) or as current does not exist. */
export class ContextNotFoundError extends Error {
  override name = 'ContextNotFoundError';
  constructor(readonly context: string) {
    super(`context was not found for specified context: ${context}`);
  }
}

export const emptyConfigFile = (): ConfigFileContent => ({ contexts: [], flat: false, other: {} });

function settingsOf(raw: Record<string, unknown>, where: string): ContextSettings {
  const out: ContextSettings = {};
  for (const key of CONTEXT_SETTINGS) {
    const v = raw[key];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string') throw new ConfigFileError(`${where}.${key}: must be a string`);
    out[key] = v;
  }
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a parsed config file (YAML.parse output); `file` names it in errors. */
export function parseConfigFile(raw: unknown, file: string): ConfigFileContent {
  if (raw === null || raw === undefined) return emptyConfigFile();
  if (!isRecord(raw)) throw new ConfigFileError(`${file}: must be a mapping`);
  const other: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k !== 'contexts' && k !== 'currentContext' && !(CONTEXT_SETTINGS as readonly string[]).includes(k)) other[k] = v;
  }
  const topLevel = settingsOf(raw, file);
  if (raw.currentContext !== undefined && raw.currentContext !== null && typeof raw.currentContext !== 'string') {
    throw new ConfigFileError(`${file}: currentContext: must be a string`);
  }
  const currentContext = (raw.currentContext as string | null | undefined) || undefined;
  if (raw.contexts === undefined || raw.contexts === null) {
    const flat = Object.keys(topLevel).length > 0;
    return {
      ...(currentContext ? { currentContext } : {}),
      contexts: flat ? [{ name: IMPLICIT_CONTEXT, ...topLevel }] : [],
      flat,
      other,
    };
  }
  if (Object.keys(topLevel).length) {
    throw new ConfigFileError(
      `${file}: has both contexts and top-level ${Object.keys(topLevel).join(', ')}: move those settings into a context`,
    );
  }
  if (!Array.isArray(raw.contexts)) throw new ConfigFileError(`${file}: contexts: must be a list`);
  const seen = new Set<string>();
  const contexts = raw.contexts.map((c: unknown, i): ConfigContext => {
    const where = `${file}: contexts[${i}]`;
    if (!isRecord(c)) throw new ConfigFileError(`${where}: must be a mapping`);
    if (typeof c.name !== 'string' || !c.name) throw new ConfigFileError(`${where}.name: required`);
    if (seen.has(c.name)) throw new ConfigFileError(`${where}.name: duplicate context "${c.name}"`);
    seen.add(c.name);
    return { name: c.name, ...settingsOf(c, where) };
  });
  return { ...(currentContext ? { currentContext } : {}), contexts, flat: false, other };
}

/** The file content to write: always the contexts format (a flat file becomes its "default" context). */
export function serializeConfigFile(c: ConfigFileContent): Record<string, unknown> {
  const currentContext = c.currentContext ?? (c.flat ? IMPLICIT_CONTEXT : undefined);
  return {
    ...(currentContext ? { currentContext } : {}),
    contexts: c.contexts.map((ctx) => ({ ...ctx })),
    ...c.other,
  };
}

/** The current context's name: a flat file's implicit one when nothing else says. */
export function currentContextName(c: ConfigFileContent): string | undefined {
  return c.currentContext ?? (c.flat ? IMPLICIT_CONTEXT : undefined);
}

/**
 * The context a command uses: `name` (from --context or PERSYS_CONTEXT) if given, else the current
 * one; undefined when neither is set. Throws ContextNotFoundError when the named one is missing.
 */
export function selectContext(c: ConfigFileContent, name?: string): ConfigContext | undefined {
  const wanted = name || currentContextName(c);
  if (!wanted) return undefined;
  const found = c.contexts.find((x) => x.name === wanted);
  if (!found) throw new ContextNotFoundError(wanted);
  return found;
}

/** Makes `name` current; throws ConfigFileError (kubectl's words) when there is no such context. */
export function useContext(c: ConfigFileContent, name: string): ConfigFileContent {
  if (!c.contexts.some((x) => x.name === name)) throw new ConfigFileError(`no context exists with the name: "${name}"`);
  return { ...c, flat: false, currentContext: name };
}

/** Creates `name` or changes the given settings of it; the others are kept. */
export function setContext(
  c: ConfigFileContent,
  name: string,
  settings: ContextSettings,
): { content: ConfigFileContent; created: boolean } {
  const created = !c.contexts.some((x) => x.name === name);
  const contexts = created
    ? [...c.contexts, { name, ...settings }]
    : c.contexts.map((x) => (x.name === name ? { ...x, ...settings } : x));
  return { content: { ...c, flat: false, currentContext: currentContextName(c), contexts }, created };
}

/** Removes `name`; when it was current, no context is current afterwards. */
export function deleteContext(c: ConfigFileContent, name: string): { content: ConfigFileContent; wasCurrent: boolean } {
  if (!c.contexts.some((x) => x.name === name)) throw new ContextNotFoundError(name);
  const wasCurrent = currentContextName(c) === name;
  const current = wasCurrent ? undefined : currentContextName(c);
  const content: ConfigFileContent = { contexts: c.contexts.filter((x) => x.name !== name), flat: false, other: c.other };
  if (current) content.currentContext = current;
  return { content, wasCurrent };
}
