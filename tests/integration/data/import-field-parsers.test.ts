import { describe, expect, it } from 'vitest';
import { dateOrderOf, normalizeCustomerId, parseBoolean, parseInteger, parseIsoTimestamp, parseNumber, parseRetailDate } from '../../../src/data/importers/field-parsers.js';

// Pure cell parsers of the importers; kept beside the import suites they serve.
describe('import field parsers', () => {
  it('When an Online Retail date comes in either export format, Then it is read as that wall time in UTC', () => {
    expect(parseRetailDate('2010-12-01 08:26:00')?.toISOString()).toBe('2010-12-01T08:26:00.000Z');
    expect(parseRetailDate('12/1/2010 8:26')?.toISOString()).toBe('2010-12-01T08:26:00.000Z');
    expect(parseRetailDate('2/29/2012 23:59')?.toISOString()).toBe('2012-02-29T23:59:00.000Z');
    for (const bad of ['', '2011-02-29 10:00:00', '13/1/2010 8:26', '2010-12-01', '2010-12-01 24:00:00', 'yesterday']) expect(parseRetailDate(bad)).toBeNull();
  });

  it('When a slashed Online Retail date is read day first, Then day and month swap places, and only a date one order reads tells the order', () => {
    expect(parseRetailDate('01/12/2010 08:26', 'dmy')?.toISOString()).toBe('2010-12-01T08:26:00.000Z');
    expect(parseRetailDate('13/12/2010 9:00', 'dmy')?.toISOString()).toBe('2010-12-13T09:00:00.000Z');
    expect(parseRetailDate('2010-12-01 08:26:00', 'dmy')?.toISOString()).toBe('2010-12-01T08:26:00.000Z');
    expect(parseRetailDate('12/13/2010 9:00', 'dmy')).toBeNull();
    expect(['13/12/2010 9:00', '12/13/2010 9:00', '01/12/2010 8:26', '12/12/2010 8:26', '32/12/2010 8:26', '13/13/2010 8:26', '2010-12-13 09:00:00', ''].map(dateOrderOf)).toEqual([
      'dmy', 'mdy', null, null, null, null, null, null,
    ]);
  });

  it('When an ISO timestamp has a zone, a fraction or none, Then the instant is right and a missing zone means UTC', () => {
    expect(parseIsoTimestamp('2024-03-01T12:00:00+02:00')?.toISOString()).toBe('2024-03-01T10:00:00.000Z');
    expect(parseIsoTimestamp('2024-03-01T12:00:00-0530')?.toISOString()).toBe('2024-03-01T17:30:00.000Z');
    expect(parseIsoTimestamp('2024-03-01 12:00:00.25')?.toISOString()).toBe('2024-03-01T12:00:00.250Z');
    expect(parseIsoTimestamp('2024-03-01')?.toISOString()).toBe('2024-03-01T00:00:00.000Z');
    // Years below 100 are the years written, not 19xx (Date.UTC's reading), so a 0001-01-01 default is seen as such.
    expect(parseIsoTimestamp('0001-01-01T00:00:00Z')?.toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(parseIsoTimestamp('0099-12-31')?.toISOString()).toBe('0099-12-31T00:00:00.000Z');
    expect(parseIsoTimestamp('0004-02-29')?.toISOString()).toBe('0004-02-29T00:00:00.000Z');
    expect(parseIsoTimestamp('0001-02-29')).toBeNull();
    for (const bad of ['', '2024-13-01', '2024-02-30T00:00:00Z', '2024-03-01T12:00:00+25:00', '1709290800', 'March 1, 2024']) expect(parseIsoTimestamp(bad)).toBeNull();
  });

  it('When numbers, booleans and spreadsheet customer ids are read, Then empty or foreign text is refused', () => {
    expect([parseNumber('2.55'), parseNumber(' -1 '), parseNumber(''), parseNumber('abc'), parseNumber('Infinity')]).toEqual([2.55, -1, null, null, null]);
    expect([parseInteger('6'), parseInteger('6.0'), parseInteger('6.5'), parseInteger('')]).toEqual([6, 6, null, null]);
    expect([parseBoolean('TRUE'), parseBoolean('0'), parseBoolean('no'), parseBoolean('maybe')]).toEqual([true, false, false, null]);
    expect([normalizeCustomerId('17850.0'), normalizeCustomerId(' 17850 '), normalizeCustomerId('A17'), normalizeCustomerId('')]).toEqual(['17850', '17850', 'A17', '']);
  });
});
