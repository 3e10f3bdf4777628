import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { parseContainerTarget } from './target.js';

describe('parseContainerTarget', () => {
  it.each([
    [['container/web'], 'web', 1],
    [['ct/web', 'sh'], 'web', 1],
    [['containers/web'], 'web', 1],
    [['container', 'web', 'sh'], 'web', 2],
    [['web', 'sh'], 'web', 1],
  ])('reads %j as container %s', (args, name, consumed) => {
    expect(parseContainerTarget(args, 'logs')).toEqual({ name, consumed });
  });

  it.each([[[]], [['node/n1']], [['container/']], [['container']], [['cs/web']]])('refuses %j with a usage error', (args) => {
    expect(() => parseContainerTarget(args, 'exec')).toThrow(UsageError);
  });
});
