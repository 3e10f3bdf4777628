// depends_on across services: every target must exist and the graph must have no cycle, or no
// start order exists (Compose refuses both the same way).
import type { Problems } from './raw.js';

interface Node {
  name: string;
  dependsOn: { service: string }[];
}

export function checkDependencies(services: Node[], p: Problems): void {
  const byName = new Map(services.map((s) => [s.name, s]));
  for (const s of services) {
    for (const d of s.dependsOn) {
      if (!byName.has(d.service)) p.at(`services.${s.name}.depends_on`, `service ${JSON.stringify(d.service)} is not defined`);
    }
  }
  // Depth-first search; a back edge to a service still on the stack closes a cycle.
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (s: Node): void => {
    state.set(s.name, 'visiting');
    stack.push(s.name);
    for (const d of s.dependsOn) {
      const next = byName.get(d.service);
      if (!next) continue;
      if (state.get(next.name) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(next.name)), next.name];
        const id = [...cycle.slice(0, -1)].sort().join(',');
        if (!reported.has(id)) p.at(`services.${cycle[0]}.depends_on`, `dependency cycle: ${cycle.join(' -> ')}`);
        reported.add(id);
      } else if (!state.has(next.name)) visit(next);
    }
    stack.pop();
    state.set(s.name, 'done');
  };
  for (const s of services) if (!state.has(s.name)) visit(s);
}
