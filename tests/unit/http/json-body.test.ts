import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from '../../../src/http/plugins/json-body.js';

describe('JSON nesting depth', () => {
  it('When brackets nest up to the limit, Then the body passes; one level more, Then it does not', () => {
    expect(nestsDeeperThan('{"a":[{"b":[1]}]}', 4)).toBe(false);
    expect(nestsDeeperThan('{"a":[{"b":[[1]]}]}', 4)).toBe(true);
    expect(nestsDeeperThan('[]', 1)).toBe(false);
  });

  it('When brackets sit inside strings (escaped quotes included), Then they are not counted', () => {
    expect(nestsDeeperThan('{"a":"[[[[{{{{"}', 1)).toBe(false);
    expect(nestsDeeperThan('{"a":"\\"[[[[[","b":1}', 1)).toBe(false);
    expect(nestsDeeperThan('{"a":"\\\\","b":[[1]]}', 2)).toBe(true);
  });

  it('When siblings each nest within the limit, Then depth is not summed across them', () => {
    expect(nestsDeeperThan(`[${Array.from({ length: 1000 }, () => '[[1]]').join(',')}]`, 3)).toBe(false);
  });
});
