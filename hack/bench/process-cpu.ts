// CPU seconds spent by the benchmark's processes during one phase, from /proc (Linux): on a small
// machine etcd, the API server and the load generator compete for the same cores, and this shows how.
import { readFileSync } from 'node:fs';

// Linux reports utime/stime in clock ticks; USER_HZ is 100 on every mainstream architecture.
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process so far, or undefined when /proc cannot tell. */
export function cpuSeconds(pid: number): number | undefined {
  if (pid === process.pid) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields from after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** CPU seconds the whole machine spent busy so far (all processes, ours and anyone else's). */
export function machineBusySeconds(): number | undefined {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
    const busy = ticks.slice(0, 8).reduce((a, b) => a + b, 0) - ticks[3]! - ticks[4]!;
    return busy / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

export type CpuReport = Record<string, number | undefined>;

/**
 * Starts measuring the named processes; the returned function gives each one's CPU seconds since,
 * plus `machine`: the whole machine's busy CPU seconds, which shows load from anything else running.
 */
export function measureCpu(pids: Record<string, number | undefined>): () => CpuReport {
  const read = (): CpuReport => ({
    ...Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, pid === undefined ? undefined : cpuSeconds(pid)])),
    machine: machineBusySeconds(),
  });
  const start = read();
  return () => {
    const end = read();
    return Object.fromEntries(
      Object.keys(end).map((name) => {
        const [before, after] = [start[name], end[name]];
        return [name, before === undefined || after === undefined ? undefined : after - before];
      }),
    );
  };
}
