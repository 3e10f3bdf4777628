// The completion scripts in real shells: `source <(persys completion bash|zsh)` with the real binary on
// PATH, then the completion function called with the words of a command line, as the shell would.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '../../bin/persys.js');
let dir: string;
let env: Record<string, string>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'persys-completion-'));
  // `persys` on PATH, as an installed CLI is; HOME holds a config with two contexts.
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'persys'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
  chmodSync(join(dir, 'bin', 'persys'), 0o755);
  mkdirSync(join(dir, '.persys'));
  writeFileSync(join(dir, '.persys', 'config.yaml'), 'currentContext: prod\ncontexts:\n  - { name: prod, server: "10.0.0.5:7443" }\n  - { name: dev, server: "127.0.0.1:7443" }\n');
  env = { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, HOME: dir };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function shell(cmd: string, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(cmd, ['-c', script], { cwd: dir, env, timeout: 30_000 }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** COMPREPLY of bash completing the last word of `words` (an empty last word completes a new one). */
async function bashComplete(...words: string[]): Promise<string[]> {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const r = await shell('bash', `source <(persys completion bash) && COMP_WORDS=(${quoted}) && COMP_CWORD=${words.length - 1} && _persys && printf '%s\\n' "\${COMPREPLY[@]}"`);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

describe('persys completion bash', () => {
  it('completes a subcommand prefix', async () => {
    expect(await bashComplete('persys', 'ro')).toEqual(['rollout']);
    expect(await bashComplete('persys', 'de')).toEqual(['describe', 'delete']);
  });

  it('completes the flags of the current subcommand, after global flags and their values', async () => {
    expect(await bashComplete('persys', '-n', 'demo', 'get', '--o')).toEqual(['--output']);
    expect(await bashComplete('persys', 'get', '--w')).toEqual(['--watch']);
    // --replicas is scale's, not get's.
    expect(await bashComplete('persys', 'get', '--re')).toEqual([]);
    expect(await bashComplete('persys', 'scale', '--re')).toEqual(['--replicas']);
    expect(await bashComplete('persys', 'get', '--con')).toEqual(['--config', '--context']);
  });

  it('completes kinds, plurals and short names for a KIND argument, and verbs for others', async () => {
    expect(await bashComplete('persys', 'get', 'containers')).toEqual(['containers', 'containerset', 'containersets']);
    expect(await bashComplete('persys', 'describe', 'cr')).toEqual(['cronjob', 'cronjobs']);
    expect(await bashComplete('persys', 'delete', '-l', 'app=web', 'Sw')).toEqual(['SwarmService']);
    expect(await bashComplete('persys', 'rollout', 'u')).toEqual(['undo']);
    // A kind is only the first argument: the second is a name.
    expect(await bashComplete('persys', 'get', 'cs', 'c')).toEqual([]);
  });

  it('completes context names from the config file', async () => {
    expect(await bashComplete('persys', 'config', 'use-context', '')).toEqual(['prod', 'dev']);
    expect(await bashComplete('persys', '--context', 'd')).toEqual(['dev']);
  });
});

describe('persys completion zsh', () => {
  // zsh is installed by hack/install.sh; without it this fails rather than skipping.
  const zshScript = (words: string[]) =>
    `compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }; ` +
    `source <(persys completion zsh) && words=(${words.map((w) => `'${w}'`).join(' ')}) && CURRENT=${words.length} && _persys`;

  async function zshCandidates(...words: string[]): Promise<string[]> {
    const r = await shell('zsh', zshScript(words));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout.split('\n').filter(Boolean);
  }

  it('is a script zsh parses', async () => {
    const r = await shell('zsh', 'persys completion zsh > _persys && zsh -n _persys');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('offers commands, the current command\'s flags and kinds (zsh matches the prefix itself)', async () => {
    expect(await zshCandidates('persys', 'ge')).toEqual(expect.arrayContaining(['get', 'rollout', 'config']));
    const getFlags = await zshCandidates('persys', 'get', '--o');
    expect(getFlags).toEqual(expect.arrayContaining(['--output', '-A', '--context']));
    expect(getFlags).not.toContain('--replicas');
    const kinds = await zshCandidates('persys', '-n', 'demo', 'get', 'con');
    expect(kinds).toEqual(expect.arrayContaining(['containers', 'ContainerSet', 'cs', 'configmaps']));
    expect(await zshCandidates('persys', 'config', 'use-context', '')).toEqual(['prod', 'dev']);
  });
});
