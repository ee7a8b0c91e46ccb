import { describe, expect, it } from 'vitest';
import { parseDecimalComma } from '../../../src/data/importers/field-parsers.js';

/**
 * A `;` file's number with a point before exactly three digits is refused as ambiguous (`1.000`: a thousand in German,
 * one in English). Only a number a thousands separator could have written is: a first group of 1 to 3 digits that is
 * not 0. `0.001` and `1234.567` are no grouping of any locale, and pandas writes them so in a `;` file (Online
 * Retail's PADS rows cost 0.001): refused, they stopped the import of such a file at data row 157,196.
 */
describe('a number of a ; file (parseDecimalComma)', () => {
  it('When a point before three digits can only be a decimal point (0.001, -0.125, 1234.567), Then it is read', () => {
    expect(parseDecimalComma('0.001')).toBe(0.001);
    expect(parseDecimalComma('-0.125')).toBe(-0.125);
    expect(parseDecimalComma('1234.567')).toBe(1234.567);
  });

  it('When it could be a thousands separator (1.000, 12.345, 100.000, -1.000), Then it is still refused', () => {
    for (const cell of ['1.000', '12.345', '100.000', '-1.000', '+1.000']) expect(parseDecimalComma(cell), cell).toBeNull();
  });

  it('When it is a decimal comma or a plain number, Then it is read as before', () => {
    expect(parseDecimalComma('2,55')).toBe(2.55);
    expect(parseDecimalComma('0,001')).toBe(0.001);
    expect(parseDecimalComma('2.55')).toBe(2.55);
    expect(parseDecimalComma('1.234,56')).toBeNull();
  });
});
