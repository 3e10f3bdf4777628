import { describe, expect, it } from 'vitest';
import { UsageError } from './usage-error.js';
import { parseRunningTarget } from './target.js';

describe('parseRunningTarget', () => {
  it.each([
    [['container/web'], 'web', 1],
    [['ct/web', 'sh'], 'web', 1],
    [['containers/web'], 'web', 1],
    [['container', 'web', 'sh'], 'web', 2],
    [['web', 'sh'], 'web', 1],
  ])('reads %j as container %s', (args, name, consumed) => {
    expect(parseRunningTarget(args, 'logs')).toEqual({ kind: 'Container', name, consumed });
  });

  it('reads composestack/NAME and cps NAME as a ComposeStack', () => {
    expect(parseRunningTarget(['composestack/shop'], 'logs')).toEqual({ kind: 'ComposeStack', name: 'shop', consumed: 1 });
    expect(parseRunningTarget(['cps', 'shop'], 'logs')).toEqual({ kind: 'ComposeStack', name: 'shop', consumed: 2 });
  });

  it.each([[[]], [['node/n1']], [['container/']], [['container']], [['cs/web']]])('refuses %j with a usage error', (args) => {
    expect(() => parseRunningTarget(args, 'exec')).toThrow(UsageError);
  });
});
