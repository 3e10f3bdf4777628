// `persys install server|agent`: writes the systemd unit of one side of persys and its settings file, from
// the copies in manifests/systemd, with ExecStart naming this persys binary. A settings file that exists is
// kept (it holds the operator's settings and the join token); enabling the unit is left to systemctl.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bool, str, type Command } from '../lib/cli/command.js';
import { UsageError } from '../lib/cli/usage-error.js';
import { PACKAGE_ROOT } from '../lib/package-files.js';

const SIDES = {
  server: { unit: 'persys-server.service', env: 'server.env' },
  agent: { unit: 'persys-agent.service', env: 'agent.env' },
} as const;
type Side = keyof typeof SIDES;

/** The binary the shipped units name; install puts the running one in its place. */
export const UNIT_BINARY = '/usr/local/bin/persys';

export interface InstallFile {
  path: string;
  content: string;
  mode: number;
  /** Left as it is when it exists. */
  keep: boolean;
}

/** What `persys install SIDE` writes under `root`, with `binary` in ExecStart. */
export function installFiles(side: Side, root: string, binary: string): InstallFile[] {
  const templates = join(PACKAGE_ROOT, 'manifests/systemd');
  const { unit, env } = SIDES[side];
  const unitText = readFileSync(join(templates, unit), 'utf8');
  const execStart = `ExecStart=${UNIT_BINARY} `;
  if (!unitText.includes(execStart)) throw new Error(`${unit}: no "${execStart}" line to point at ${binary}`);
  return [
    { path: join(root, 'etc/systemd/system', unit), content: unitText.replace(execStart, `ExecStart=${binary} `), mode: 0o644, keep: false },
    // It will hold the join token: readable by root only.
    { path: join(root, 'etc/persys', env), content: readFileSync(join(templates, env), 'utf8'), mode: 0o600, keep: true },
  ];
}

const NEXT_STEPS: Record<Side, string[]> = {
  server: [
    'Next: set the listen address (and an etcd of your own, if any) in /etc/persys/server.env;',
    '  persys pki init --data-dir /var/lib/persys --server-host ADDRESS   # each name or IP agents dial',
    '  systemctl daemon-reload && systemctl enable --now persys-server',
  ],
  agent: [
    'Next: set PERSYS_SERVER, PERSYS_TOKEN and PERSYS_CA_CERT_HASH in /etc/persys/agent.env (`persys token create` prints them);',
    '  systemctl daemon-reload && systemctl enable --now persys-agent',
  ],
};

export const installCommand: Command = {
  name: 'install',
  usage: 'persys install server|agent [--root DIR] [--binary PATH] [--dry-run]',
  description:
    'server: persys-server.service (`persys up --agent=false`) and /etc/persys/server.env.\n' +
    'agent: persys-agent.service (`persys agent`) and /etc/persys/agent.env.\n' +
    'Units go to /etc/systemd/system (replaced); a settings file that exists is kept. README: "Running as a service".',
  flags: {
    root: { type: 'string', valueName: 'DIR', default: '/', description: 'install under this directory instead of /' },
    binary: { type: 'string', valueName: 'PATH', description: 'the persys executable ExecStart runs (default: this one)' },
    'dry-run': { type: 'boolean', description: 'print the files instead of writing them' },
  },
  async run(ctx) {
    const side = ctx.args[0];
    if (ctx.args.length !== 1 || (side !== 'server' && side !== 'agent')) throw new UsageError('name one side: persys install server|agent', 'install');
    const binary = resolve(str(ctx.flags, 'binary') ?? process.argv[1] ?? UNIT_BINARY);
    if (/\s/.test(binary)) throw new UsageError(`--binary: "${binary}" contains whitespace, which ExecStart would split`, 'install');
    const dryRun = bool(ctx.flags, 'dry-run');
    for (const f of installFiles(side, resolve(str(ctx.flags, 'root')!), binary)) {
      const kept = f.keep && existsSync(f.path);
      if (dryRun) {
        ctx.io.out(kept ? `# ${f.path} exists and would be kept` : `# ${f.path}\n${f.content}`);
      } else if (kept) {
        ctx.io.out(`kept ${f.path} (exists)`);
      } else {
        mkdirSync(dirname(f.path), { recursive: true, mode: 0o755 });
        writeFileSync(f.path, f.content, { mode: f.mode });
        ctx.io.out(`wrote ${f.path}`);
      }
    }
    if (!dryRun) for (const line of NEXT_STEPS[side]) ctx.io.err(line);
    return 0;
  },
};
