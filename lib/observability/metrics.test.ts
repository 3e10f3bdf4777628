// The process registry: build info and Node's process metrics in every process, one registry each.
import { describe, expect, it } from 'vitest';
import { packageVersion } from '../package-files.js';
import { createRegistry } from './metrics.js';

describe('createRegistry', () => {
  it('exports persys_build_info 1 with the package version and the Node.js version', async () => {
    const text = await createRegistry().metrics();
    const line = text.split('\n').find((l) => l.startsWith('persys_build_info{'));
    expect(line).toBe(`persys_build_info{version="${packageVersion()}",node_version="${process.version}",platform="${process.platform}/${process.arch}"} 1`);
  });

  it('exports process CPU and resident memory, and can be made twice in one process', async () => {
    const a = await createRegistry().getMetricsAsJSON();
    const b = await createRegistry().getMetricsAsJSON();
    for (const names of [a, b].map((m) => m.map((x) => x.name))) {
      expect(names).toEqual(expect.arrayContaining(['persys_build_info', 'process_cpu_seconds_total', 'process_resident_memory_bytes']));
    }
  });
});
