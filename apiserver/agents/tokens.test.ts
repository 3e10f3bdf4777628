import { describe, expect, it } from 'vitest';
import { JoinTokenError, parseToken } from './tokens.js';

describe('parseToken', () => {
  it('splits "<id>.<secret>"', () => {
    expect(parseToken('abc123.0123456789abcdef')).toEqual({ id: 'abc123', secret: '0123456789abcdef' });
  });

  it.each(['', 'abc123', 'ABC123.0123456789abcdef', 'abc12.0123456789abcdef', 'abc123.0123456789abcde', 'abc123.0123456789abcdef.x', 'abc123:0123456789abcdef'])(
    'refuses %j as malformed',
    (t) => {
      expect(() => parseToken(t)).toThrow(JoinTokenError);
    },
  );
});
