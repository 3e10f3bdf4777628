// The machine-readable -o formats: yaml and json (one object, or a kubectl `List`) and name.
import YAML from 'yaml';
import type { Resource } from '../../api/resource.js';

export type OutputFormat = 'table' | 'wide' | 'yaml' | 'json' | 'name';

export function parseOutputFormat(value: string | undefined): OutputFormat | undefined {
  if (value === undefined || value === '') return 'table';
  return (['wide', 'yaml', 'json', 'name'] as const).find((f) => f === value);
}

/** `container/web`: the lowercase kind and the name, as `-o name` prints it. */
export function resourceName(obj: { kind: string; metadata?: { name?: string } }): string {
  return `${obj.kind.toLowerCase()}/${obj.metadata?.name ?? ''}`;
}

export function asList(items: Resource[]): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'List', items };
}

export function toYaml(value: unknown): string {
  return YAML.stringify(value, { lineWidth: 0 }).trimEnd();
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 4);
}

/** An object or list in a structured format; `single` prints one object bare rather than as a List. */
export function formatObjects(format: 'yaml' | 'json' | 'name', objs: Resource[], single: boolean): string {
  if (format === 'name') return objs.map(resourceName).join('\n');
  const value = single && objs.length === 1 ? objs[0] : asList(objs);
  return format === 'yaml' ? toYaml(value) : toJson(value);
}
