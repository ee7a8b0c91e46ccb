import { describe, expect, it } from 'vitest';
import { dataRowSign } from '../../../src/data/importers/header-or-data-row.js';

describe('dataRowSign: a users.csv first line judged against the rows below it', () => {
  it('When the id cell is shaped like the values below it (ID above FR, DE; id above en, fr), Then the line is a data row', () => {
    expect(dataRowSign(['hd-ann', 'ID', 'wholesale'], 1, [['hd-bob', 'FR', 'retail'], ['hd-cy', 'DE', 'vip']])).toMatch(/^its column 2, read as id, holds a value of the length/);
    expect(dataRowSign(['hd-ann', 'id', 'x'], 1, [['hd-bob', 'en', 'y'], ['hd-cy', 'fr', 'z']])).toMatch(/^its column 2/);
  });

  it('When the ids below are unlike the id cell, unique, and no other cell reappears in its column, Then the line is a header', () => {
    expect(dataRowSign(['ID', 'COUNTRY', 'SEGMENT'], 0, [['100231', 'FR', 'vip'], ['100232', 'ID', 'retail'], ['100233', 'DE', 'retail']])).toBeNull();
    expect(dataRowSign(['id', 'country'], 0, [['hd-ann', 'ID'], ['hd-bob', 'FR']])).toBeNull();
  });

  it('When the column read as id repeats values below, Then the line is a data row', () => {
    expect(dataRowSign(['u1', 'Id'], 1, [['u2', 'Fra'], ['u3', 'Fra']])).toMatch(/^the values below it in column 2, read as the customers' ids, repeat/);
  });

  it('When another cell of the line reappears as a value in its own column, Then the line is a data row', () => {
    expect(dataRowSign(['ID', 'u1', 'retail'], 0, [['a-100', 'u2', 'retail'], ['a-101', 'u3', 'vip']])).toBe('its column 3 holds a value that appears again below it in that column');
  });

  it('When no row follows the line, Then nothing says it is data', () => {
    expect(dataRowSign(['hd-ann', 'ID'], 1, [])).toBeNull();
  });
  // A headless file of two-letter ids whose first customer is `id`: its row is shaped as a header named by column names
  // (letters, unlike most values below), and read as one it loses that customer and names the others' attributes by its
  // values. A real header `id,country,segment` above such ids cannot be told from it: refused too (write `ID`).
  it('When the id cell is shaped like the ids below, Then the line is a data row whatever its other cells look like', () => {
    const initials = [['ab', 'Bertram', 'Hamburg'], ['cd', 'Cy', 'Munich'], ['ef', 'Dora', 'Kiel']];
    expect(dataRowSign(['id', 'Anna', 'Berlin'], 0, initials)).toMatch(/^its column 1, read as id, holds a value of the length/);
    expect(dataRowSign(['id'], 0, [['ab'], ['cd'], ['ef']])).toMatch(/^its column 1, read as id/);
    expect(dataRowSign(['ID', 'Anna'], 0, [['AB', 'Bertram'], ['CD', 'Cy']])).toMatch(/^its column 1, read as id/);
    expect(dataRowSign(['id', 'country', 'segment'], 0, [['ab', 'fr', 'retail'], ['cd', 'de', 'vip']])).toMatch(/write that name in the other case, ID above lower-case ids/);
    // Written in the other case, the header is one.
    expect(dataRowSign(['ID', 'country', 'segment'], 0, [['ab', 'fr', 'retail'], ['cd', 'de', 'vip'], ['ef', 'fr', 'retail']])).toBeNull();
  });

  it('When a data row begins with a code shaped like the ids below and holds a value no column is named as, Then it is still a data row', () => {
    // A language code first, then the customer's id (not written as a name): the language codes would be the customers.
    expect(dataRowSign(['id', 'hd-ann', 'retail'], 0, [['en', 'hd-bob', 'vip'], ['fr', 'hd-cy', 'vip']])).toMatch(/^its column 1, read as id/);
    // A country code first, then a numeric customer id.
    expect(dataRowSign(['ID', '100231', 'vip'], 0, [['FR', '100232', 'retail'], ['DE', '100233', 'vip']])).toMatch(/^its column 1, read as id/);
    // Cells written as names but shaped as the values below them (a word among words of its length).
    expect(dataRowSign(['id', 'anna', 'gold'], 0, [['en', 'bert', 'blue'], ['fr', 'cara', 'gold']])).toMatch(/^its column 1, read as id/);
  });
});
