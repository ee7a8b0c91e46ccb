import { describe, expect, it } from 'vitest';
import { printable } from '../../../src/cli/printable.js';

describe('printable', () => {
  it('When an id holds control or bidirectional characters, Then each is a \\u escape and the rest is as written', () => {
    expect(printable('\u001b[2Jgone')).toBe(String.raw`\u001b[2Jgone`);
    expect(printable('a\u009b31mb')).toBe(String.raw`a\u009b31mb`);
    expect(printable('x\u007f\ty\r\n')).toBe(String.raw`x\u007f\u0009y\u000d\u000a`);
    expect(printable('abc\u202edef\u2066')).toBe(String.raw`abc\u202edef\u2066`);
  });

  it('When an id is ordinary text in any script, Then it is unchanged', () => {
    for (const id of ['85123A', 'WHITE HANGING HEART', 'café', '商品-42', '👩‍👩‍👧 gift', 'a\\u001b']) expect(printable(id)).toBe(id);
  });
});
