// kubectl's JSONPath subset: parsing errors, paths, ranges, filters and literals, on a List like `get` makes.
import { describe, expect, it } from 'vitest';
import { executeTemplate, JsonPathError, parseTemplate } from './jsonpath.js';

const list = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    { metadata: { name: 'web', labels: { app: 'web', 'persys.dev/tier': 'front' } }, spec: { replicas: 3, image: 'nginx:1.27' }, status: { phase: 'Running' } },
    { metadata: { name: 'db', labels: { app: 'db' } }, spec: { replicas: 1, image: 'postgres:16' }, status: { phase: 'Pending' } },
    { metadata: { name: 'api' }, spec: { replicas: 2, image: 'api:2', ports: [{ containerPort: 80 }, { containerPort: 443 }] }, status: { phase: 'Running' } },
  ],
};

const run = (template: string, data: unknown = list, allowMissingKeys?: boolean) =>
  executeTemplate(parseTemplate(template), data, { allowMissingKeys });

describe('jsonpath templates', () => {
  it.each([
    ['{.items[*].metadata.name}', 'web db api'],
    ['{.items[0].metadata.name}', 'web'],
    ['{.items[-1].metadata.name}', 'api'],
    ['{.items[1:].metadata.name}', 'db api'],
    ['{.items[0:2].spec.replicas}', '3 1'],
    ['{.kind}', 'List'],
    ['{$.items[2].spec.ports[*].containerPort}', '80 443'],
    ['{..containerPort}', '80 443'],
    ['{.items[0].metadata.labels}', '{"app":"web","persys.dev/tier":"front"}'],
    ['{.items[0].metadata.labels.persys\\.dev/tier}', 'front'],
    ["{.items[0].metadata.labels['persys.dev/tier']}", 'front'],
    ['{.items[?(@.status.phase=="Running")].metadata.name}', 'web api'],
    ["{.items[?(@.status.phase!='Running')].metadata.name}", 'db'],
    ['{.items[?(@.spec.replicas>1)].metadata.name}', 'web api'],
    ['{.items[?(@.spec.ports)].metadata.name}', 'api'],
    ['{.items[0].metadata.name,.items[1].metadata.name}', 'web db'],
    ['names: {.items[*].metadata.name}!', 'names: web db api!'],
    ['{range .items[*]}{.metadata.name}{"\\t"}{.spec.image}{"\\n"}{end}', 'web\tnginx:1.27\ndb\tpostgres:16\napi\tapi:2\n'],
    ['{range .items[*]}[{range .spec.ports[*]}{.containerPort};{end}]{end}', '[][][80;443;]'],
    ['{range .items}{.metadata.name} {end}', 'web db api '],
    ['{.items[5].metadata.name}', ''],
    ['{.items[*].nothing}', ''],
    ['{.items[0].spec}', '{"replicas":3,"image":"nginx:1.27"}'],
  ])('%s prints %j', (template, want) => {
    expect(run(template)).toBe(want);
  });

  it('runs on a single object as well as on a List', () => {
    expect(run('{.metadata.name}:{.spec.replicas}', list.items[0])).toBe('web:3');
  });

  it.each([
    ['{.items[}', 'error parsing jsonpath {.items[}, unclosed action'],
    ['{.items[*].metadata.name', 'error parsing jsonpath {.items[*].metadata.name, unclosed action'],
    ['{.items[abc]}', 'error parsing jsonpath {.items[abc]}, invalid array index abc'],
    ['{range .items[*]}{.x}', 'error parsing jsonpath {range .items[*]}{.x}, unclosed range: missing {end}'],
    ['{.a}{end}', 'error parsing jsonpath {.a}{end}, not in range, nothing to end'],
    ['{metadata.name}', 'error parsing jsonpath {metadata.name}, unrecognized character in action: "m"'],
    ['{.items[?(@.a==)]}', 'error parsing jsonpath {.items[?(@.a==)]}, a filter needs a value on each side of its operator'],
  ])('rejects %s naming the problem', (template, message) => {
    expect(() => parseTemplate(template)).toThrow(new JsonPathError(message));
  });

  it('fails on a missing key only when missing keys are not allowed', () => {
    expect(run('{.items[0].nope}', list, true)).toBe('');
    expect(() => run('{.items[0].nope}', list, false)).toThrow('error executing jsonpath "{.items[0].nope}": nope is not found');
  });
});
