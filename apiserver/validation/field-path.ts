// Builds field paths in the Kubernetes notation: dots for fields, [i] for list items, [key] for map keys.

/** "spec" + "image" → "spec.image"; "" + "spec" → "spec". */
export function fieldPath(parent: string, field: string): string {
  return parent ? `${parent}.${field}` : field;
}

/** "spec.ports" + 1 → "spec.ports[1]"; "metadata.labels" + "app" → "metadata.labels[app]". */
export function itemPath(parent: string, indexOrKey: number | string): string {
  return `${parent}[${indexOrKey}]`;
}

/** Whether `path` is `ancestor` itself or lies beneath it. */
export function isWithin(path: string, ancestor: string): boolean {
  if (ancestor === '') return true;
  if (!path.startsWith(ancestor)) return false;
  const next = path[ancestor.length];
  return next === undefined || next === '.' || next === '[';
}
