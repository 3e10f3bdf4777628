import { describe, expect, it } from 'vitest';
import { interpolate, interpolateValues, InterpolationError } from './interpolate.js';

const env = { NAME: 'web', EMPTY: '', TAG: '1.2', PORT: '8080' };

describe('interpolate', () => {
  it.each([
    ['a plain string', 'nginx', 'nginx'],
    ['$VAR', 'image-$NAME', 'image-web'],
    ['${VAR}', '${NAME}_x', 'web_x'],
    ['$VAR ended by a non-name character', '$NAME.local', 'web.local'],
    ['an unset $VAR as ""', 'a${MISSING}b', 'ab'],
    ['${VAR:-default} when set', '${TAG:-latest}', '1.2'],
    ['${VAR:-default} when unset', '${MISSING:-latest}', 'latest'],
    ['${VAR:-default} when empty', '${EMPTY:-latest}', 'latest'],
    ['${VAR-default} when empty keeps ""', 'x${EMPTY-latest}', 'x'],
    ['${VAR-default} when unset', '${MISSING-latest}', 'latest'],
    ['${VAR:?err} when set', '${NAME:?need a name}', 'web'],
    ['${VAR?err} when empty', 'x${EMPTY?need it}', 'x'],
    ['${VAR:+alt} when set', '${NAME:+yes}', 'yes'],
    ['${VAR+alt} when unset', 'x${MISSING+yes}', 'x'],
    ['$$ as a literal $', 'echo $$HOME $${NAME}', 'echo $HOME ${NAME}'],
    ['a nested default', '${MISSING:-${NAME}:${PORT}}', 'web:8080'],
    ['a default with a colon and spaces', '${MISSING:-a b:c}', 'a b:c'],
    ['several variables', '$NAME:${PORT}/$TAG', 'web:8080/1.2'],
  ])('expands %s', (_name, template, expected) => {
    expect(interpolate(template, env)).toBe(expected);
  });

  it.each([
    ['${VAR:?err} when unset', '${MISSING:?set MISSING}', 'required variable MISSING is missing a value: set MISSING'],
    ['${VAR:?err} when empty', '${EMPTY:?no}', 'required variable EMPTY is missing a value: no'],
    ['${VAR?err} when unset', '${MISSING?}', 'required variable MISSING is missing a value'],
    ['a lone $ at the end', 'cost 5$', 'invalid interpolation format "cost 5$"'],
    ['$ before a digit', 'echo $1', 'invalid interpolation format'],
    ['an unclosed ${', '${NAME', 'invalid interpolation format'],
    ['an empty ${}', 'a${}b', 'invalid interpolation format'],
    ['an unknown operator', '${NAME/x/y}', 'invalid interpolation format'],
  ])('refuses %s', (_name, template, message) => {
    expect(() => interpolate(template, env)).toThrow(InterpolationError);
    expect(() => interpolate(template, env)).toThrow(message);
  });

  it('does not read the process environment', () => {
    process.env['PERSYS_TEST_ONLY_IN_PROCESS'] = 'leak';
    try {
      expect(interpolate('${PERSYS_TEST_ONLY_IN_PROCESS:-none}', {})).toBe('none');
      expect(interpolate('$constructor$toString', {})).toBe('');
    } finally {
      delete process.env['PERSYS_TEST_ONLY_IN_PROCESS'];
    }
  });
});

describe('interpolateValues', () => {
  it('expands string values at every depth but never keys, numbers or x-* extensions', () => {
    const tree = { services: { $NAME: { image: 'x:${TAG}', command: ['echo', '$NAME'], scale: 2, 'x-note': '${BAD' } } };
    const errors: string[] = [];
    expect(interpolateValues(tree, env, '', (m) => errors.push(m))).toEqual({
      services: { $NAME: { image: 'x:1.2', command: ['echo', 'web'], scale: 2, 'x-note': '${BAD' } },
    });
    expect(errors).toEqual([]);
  });

  it('reports each failure with the path of the value', () => {
    const errors: string[] = [];
    interpolateValues({ services: { web: { image: '${IMAGE:?set IMAGE}', command: ['a', '$1'] } } }, env, '', (m) => errors.push(m));
    expect(errors).toEqual([
      'services.web.image: required variable IMAGE is missing a value: set IMAGE',
      'services.web.command[1]: invalid interpolation format "$1": escape a literal $ as $$',
    ]);
  });
});
