// Routing between second Docker engines (each in its own network namespace) through this machine, for
// swarms of such engines in tests and benchmarks: FORWARD rules added, and removed exactly, by comment.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { SecondDocker } from './docker.js';

const run = promisify(execFile);

/** The host-side interface holding `address` (startSecondDocker does not report its name). */
async function interfaceOf(address: string): Promise<string> {
  const out = (await run('ip', ['-o', '-4', 'addr', 'show', 'to', `${address}/32`])).stdout.trim();
  const name = out.split(/\s+/)[1];
  if (!name) throw new Error(`no interface on this machine holds ${address}`);
  return name.replace(/@.*$/, '');
}

/**
 * Lets traffic be routed between the engines' veth links. The host engine's iptables FORWARD policy is
 * DROP, so without these rules the namespaces reach this machine but not each other.
 */
export async function allowForwarding(engines: SecondDocker[], ruleComment: string): Promise<() => Promise<void>> {
  const ifs = await Promise.all(engines.map((e) => interfaceOf(e.hostAddress)));
  const rules: string[][] = [];
  const undo = async () => {
    for (const r of rules.splice(0).reverse()) {
      await run('iptables', ['-D', 'FORWARD', ...r]).catch((e: Error) => console.error(`cleanup: iptables -D FORWARD ${r.join(' ')}: ${e.message}`));
    }
  };
  try {
    const forward = (await run('sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim();
    if (forward !== '1') throw new Error('net.ipv4.ip_forward is off: the engines could not reach each other (not changed here; the host engine usually turns it on)');
    for (const a of ifs) {
      for (const b of ifs) {
        if (a === b) continue;
        const rule = ['-i', a, '-o', b, '-m', 'comment', '--comment', ruleComment, '-j', 'ACCEPT'];
        await run('iptables', ['-I', 'FORWARD', '1', ...rule]);
        rules.push(rule);
      }
    }
  } catch (e) {
    await undo();
    throw e;
  }
  return undo;
}
