// The host side of Service VIPs: iptables (whichever backend the host's `iptables` is, as Docker uses) and
// one route. persys touches only its own chains, the two jumps into them and the VIP range's route.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { ownChainsIn, POSTROUTING_CHAIN, SERVICES_CHAIN } from './rules.js';

const run = promisify(execFile);
const TIMEOUT_MS = 10_000;
/** Seconds iptables waits for the xtables lock that Docker also takes. */
const LOCK_WAIT = '5';

/** The jumps from the built-in chains into persys's own, each recognised by its comment. */
const JUMPS = [
  { chain: 'PREROUTING', target: SERVICES_CHAIN, comment: 'persys service VIPs' },
  { chain: 'POSTROUTING', target: POSTROUTING_CHAIN, comment: 'persys service traffic' },
] as const;
const jumpArgs = (j: (typeof JUMPS)[number]) => ['-m', 'comment', '--comment', j.comment, '-j', j.target];

/** A command that failed, with what it printed: the message a Node condition shows. */
export class HostCommandError extends Error {
  override readonly name = 'HostCommandError';
}

/** file + args, run in network namespace `netns` (a path such as /var/run/netns/NAME) when given. */
const inNetns = (netns: string | undefined, file: string, args: string[]): [string, string[]] =>
  netns ? ['nsenter', [`--net=${netns}`, file, ...args]] : [file, args];

async function command(netns: string | undefined, file: string, args: string[]): Promise<string> {
  try {
    return (await run(...inNetns(netns, file, args), { timeout: TIMEOUT_MS })).stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string; code?: string | number };
    const why = err.code === 'ENOENT' ? `${file} is not installed` : (err.stderr?.trim() || err.message).split('\n')[0];
    throw new HostCommandError(`${file} ${args.join(' ')}: ${why}`);
  }
}

function restore(netns: string | undefined, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(...inNetns(netns, 'iptables-restore', ['-w', LOCK_WAIT, '--noflush']), { stdio: ['pipe', 'ignore', 'pipe'], timeout: TIMEOUT_MS });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()).slice(-4000));
    child.once('error', (e: Error & { code?: string }) =>
      reject(new HostCommandError(e.code === 'ENOENT' ? 'iptables-restore is not installed' : `iptables-restore: ${e.message}`)),
    );
    child.once('close', (code) => (code === 0 ? resolve() : reject(new HostCommandError(`iptables-restore: ${stderr.trim().split('\n')[0] || `exit code ${code}`}`))));
    child.stdin.on('error', () => undefined); // the exit code tells
    child.stdin.end(text);
  });
}

/** What the VIP loop needs from the host; a fake in unit tests, this module on a real node. */
export interface VipHost {
  /** persys chains that exist in the nat table now. */
  ownChains(): Promise<Set<string>>;
  /** Rewrites persys chains (iptables-restore --noflush input). */
  apply(natText: string): Promise<void>;
  /** Puts back the jumps into persys chains and the VIP range's unreachable route when missing. */
  ensureHooks(serviceCidr: string): Promise<void>;
  /** Whether persys chains or the VIP range's route exist (an earlier run's). */
  leftovers(serviceCidr: string): Promise<boolean>;
  /** Removes the jumps, persys chains and the route: the node no longer does VIPs. */
  removeAll(serviceCidr: string): Promise<void>;
}

/**
 * The VipHost of this machine, or of network namespace `netns` (a path such as /var/run/netns/NAME: tests
 * program a namespace from outside it).
 */
export function iptablesHost(netns?: string): VipHost {
  const cmd = (file: string, args: string[]) => command(netns, file, args);
  const host: VipHost = {
    async ownChains() {
      return ownChainsIn(await cmd('iptables-save', ['-t', 'nat']));
    },

    apply: (text) => restore(netns, text),

    async ensureHooks(serviceCidr) {
      // The route comes first: no moment where a VIP packet could leave the node. A route of someone
      // else's for the same range is never taken over: that network is in use here.
      const existing = (await cmd('ip', ['route', 'show', 'exact', serviceCidr])).trim();
      if (!existing) await cmd('ip', ['route', 'add', 'unreachable', serviceCidr]);
      else if (!existing.startsWith('unreachable ')) {
        throw new HostCommandError(
          `the VIP range ${serviceCidr} is already routed on this node (${existing.split('\n')[0]}): it must be a range unused here (the API server's and the agents' --service-cluster-ip-range)`,
        );
      }
      for (const j of JUMPS) {
        const present = await cmd('iptables', ['-w', LOCK_WAIT, '-t', 'nat', '-C', j.chain, ...jumpArgs(j)]).then(
          () => true,
          () => false,
        );
        if (!present) await cmd('iptables', ['-w', LOCK_WAIT, '-t', 'nat', '-I', j.chain, '1', ...jumpArgs(j)]);
      }
    },

    async leftovers(serviceCidr) {
      if ((await host.ownChains()).size) return true;
      return !!(await cmd('ip', ['route', 'show', 'type', 'unreachable', serviceCidr])).trim();
    },

    async removeAll(serviceCidr) {
      for (const j of JUMPS) {
        // Every copy (an old agent may have inserted one twice); -D fails once none is left.
        for (let i = 0; i < 10; i++) {
          const removed = await cmd('iptables', ['-w', LOCK_WAIT, '-t', 'nat', '-D', j.chain, ...jumpArgs(j)]).then(
            () => true,
            () => false,
          );
          if (!removed) break;
        }
      }
      const chains = [...(await host.ownChains())].sort();
      if (chains.length) await restore(netns, ['*nat', ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n'));
      const routes = await cmd('ip', ['route', 'show', 'type', 'unreachable', serviceCidr]);
      if (routes.trim()) await cmd('ip', ['route', 'del', 'unreachable', serviceCidr]);
    },
  };
  return host;
}
