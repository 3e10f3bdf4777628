// The config file's contexts: reading both formats, choosing one, and the edits `persys config` makes.
import { describe, expect, it } from 'vitest';
import {
  ContextNotFoundError,
  deleteContext,
  parseConfigFile,
  selectContext,
  serializeConfigFile,
  setContext,
  useContext,
  type ConfigFileContent,
} from './contexts.js';

const FLAT = { server: '127.0.0.1:7443', caCert: 'pki/ca.crt', clientCert: 'pki/admin.crt', clientKey: 'pki/admin.key', namespace: 'default' };
const TWO = {
  currentContext: 'prod',
  contexts: [
    { name: 'prod', server: '10.0.0.5:7443', namespace: 'shop' },
    { name: 'dev', server: '127.0.0.1:7443' },
  ],
};
const parse = (raw: unknown): ConfigFileContent => parseConfigFile(raw, 'config.yaml');

describe('parseConfigFile', () => {
  it('reads the flat format as one current context named "default"', () => {
    const c = parse(FLAT);
    expect(c.flat).toBe(true);
    expect(c.contexts).toEqual([{ name: 'default', ...FLAT }]);
    expect(selectContext(c)).toEqual({ name: 'default', ...FLAT });
  });

  it('reads an empty or missing file as no contexts and nothing selected', () => {
    for (const raw of [null, undefined, {}]) {
      const c = parse(raw);
      expect(c.contexts).toEqual([]);
      expect(selectContext(c)).toBeUndefined();
    }
  });

  it.each([
    [{ contexts: {} }, 'config.yaml: contexts: must be a list'],
    [{ contexts: [{ server: 'x' }] }, 'config.yaml: contexts[0].name: required'],
    [{ contexts: [{ name: 'a' }, { name: 'a' }] }, 'config.yaml: contexts[1].name: duplicate context "a"'],
    [{ contexts: [{ name: 'a', server: 7443 }] }, 'config.yaml: contexts[0].server: must be a string'],
    [{ server: 'x:1', contexts: [{ name: 'a' }] }, 'config.yaml: has both contexts and top-level server: move those settings into a context'],
    [['a'], 'config.yaml: must be a mapping'],
  ])('rejects %j: %s', (raw, message) => {
    expect(() => parse(raw)).toThrow(message);
  });
});

describe('selectContext', () => {
  it('picks the current context, or the one named', () => {
    const c = parse(TWO);
    expect(selectContext(c)?.name).toBe('prod');
    expect(selectContext(c, 'dev')).toEqual({ name: 'dev', server: '127.0.0.1:7443' });
  });

  it('fails with kubectl\'s words for a named or current context that does not exist', () => {
    expect(() => selectContext(parse(TWO), 'staging')).toThrow(new ContextNotFoundError('staging'));
    expect(() => selectContext(parse({ ...TWO, currentContext: 'gone' }))).toThrow('context was not found for specified context: gone');
  });

  it('selects nothing when the file has contexts but no current one', () => {
    expect(selectContext(parse({ contexts: TWO.contexts }))).toBeUndefined();
  });
});

describe('context edits', () => {
  it('keeps a flat file\'s settings as the current context "default" when another is added', () => {
    const { content, created } = setContext(parse(FLAT), 'prod', { server: '10.0.0.5:7443' });
    expect(created).toBe(true);
    expect(serializeConfigFile(content)).toEqual({
      currentContext: 'default',
      contexts: [{ name: 'default', ...FLAT }, { name: 'prod', server: '10.0.0.5:7443' }],
    });
  });

  it('changes only the given settings of an existing context', () => {
    const { content, created } = setContext(parse(TWO), 'prod', { namespace: 'web' });
    expect(created).toBe(false);
    expect(content.contexts[0]).toEqual({ name: 'prod', server: '10.0.0.5:7443', namespace: 'web' });
    expect(content.currentContext).toBe('prod');
  });

  it('switches the current context, refusing an unknown one', () => {
    expect(useContext(parse(TWO), 'dev').currentContext).toBe('dev');
    expect(() => useContext(parse(TWO), 'x')).toThrow('no context exists with the name: "x"');
  });

  it('deletes a context; deleting the current one leaves none current', () => {
    const other = deleteContext(parse(TWO), 'dev');
    expect(other).toMatchObject({ wasCurrent: false, content: { currentContext: 'prod' } });
    const current = deleteContext(parse(TWO), 'prod');
    expect(current.wasCurrent).toBe(true);
    expect(serializeConfigFile(current.content)).toEqual({ contexts: [{ name: 'dev', server: '127.0.0.1:7443' }] });
    expect(() => deleteContext(parse(TWO), 'x')).toThrow(ContextNotFoundError);
  });

  it('keeps top-level keys it does not know when writing', () => {
    const c = parse({ ...TWO, preferences: { colors: true } });
    expect(serializeConfigFile(useContext(c, 'dev'))).toMatchObject({ currentContext: 'dev', preferences: { colors: true } });
  });
});
