import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formulaEscaped, formulaUnescaped } from '../../../src/exports/csv-formulas.js';

describe('CSV cells and spreadsheet formulas', () => {
  it('When text starts like a formula, Then its cell starts with a quote; plain numbers and other text stay as they are', () => {
    for (const text of ['=1+1', '+cmd|calc', '-2+3+cmd|x', '@SUM(A1)', '\t=1', '\r=1', '\uFF1D1', '\uFF0B1', '\uFF0D1', '\uFF201']) expect(formulaEscaped(text)).toBe(`'${text}`);
    for (const text of ['-42', '+447911123456', '3.5', 'mug', '17850', 'a=b', '']) expect(formulaEscaped(text)).toBe(text);
    expect(formulaEscaped("'=x")).toBe("''=x");
  });

  it('When any text is escaped and read back, Then it is the text it was, and two texts never share a cell', () => {
    const text = fc.oneof(fc.string(), fc.stringMatching(/^['=+\-@\t\r]{1,3}[a-z0-9]{0,3}$/));
    fc.assert(fc.property(text, (t) => formulaUnescaped(formulaEscaped(t)) === t));
    fc.assert(fc.property(text, text, (a, b) => a === b || formulaEscaped(a) !== formulaEscaped(b)));
  });
});
