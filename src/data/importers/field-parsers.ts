/** Parsers for CSV cells. Each returns null for a value it cannot read, so callers can name the rejection. */

/** A finite number, or null for an empty or non-numeric cell (Number('') would be 0). */
export function parseNumber(cell: string | undefined): number | null {
  const s = cell?.trim();
  if (!s) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/** A whole number (quantities), or null. "6.0" is accepted as 6, "6.5" is not. */
export function parseInteger(cell: string | undefined, decimalComma = false): number | null {
  const n = decimalComma ? parseDecimalComma(cell) : parseNumber(cell);
  return n !== null && Number.isSafeInteger(n) ? n : null;
}

/** A number written with a comma as its decimal mark (`2,55`, `-0,5`), or with a point (`2.55`). */
const DECIMAL_COMMA = /^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)$/;

/**
 * A point followed by three digits and nothing else, after what a thousands separator could follow (1 to 3 digits, not
 * a lone 0): a thousands separator as much as a decimal mark (`1.000`, `12.345`). `0.001` and `1234.567` are no
 * grouping of any locale: decimal points (pandas writes a `;` file's numbers so; Online Retail's PADS rows cost 0.001).
 */
const POINT_OR_THOUSANDS = /^[+-]?[1-9]\d{0,2}\.\d{3}$/;

/**
 * A number of a file saved from a spreadsheet in a locale whose decimal mark is a comma (its fields separated by
 * `;`): `2,55` is 2.55, and `2.55` is read too (pandas writes `;` files with points). Only plain numbers: a
 * thousands separator (`1.234,56`, `1 234`), a currency sign or an exponent make the cell not a number (null), and
 * so does a point before exactly three digits after 1 to 3 others (`1.000`, not `0.001` nor `1234.567`): it is 1000 in
 * German and 1 in English, and either reading would store a value other than the one meant for some files.
 */
export function parseDecimalComma(cell: string | undefined): number | null {
  const s = cell?.trim();
  if (!s || !DECIMAL_COMMA.test(s) || POINT_OR_THOUSANDS.test(s)) return null;
  const n = Number(s.replace(',', '.'));
  return Number.isFinite(n) ? n : null;
}

/** Builds a UTC date only if every field is in range (Date.UTC would roll 2011-02-30 over to March). */
function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms = 0): Date | null {
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  // Date.UTC reads years 0-99 as 1900-1999; a year such as 0001 is meant as written (and refused later as too early).
  if (y < 100) date.setUTCFullYear(y, mo - 1, d);
  const ok =
    date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d &&
    date.getUTCHours() === h && date.getUTCMinutes() === mi && date.getUTCSeconds() === s;
  return ok ? date : null;
}

const SQL_STYLE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const SLASHED = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?$/;
/** `D.M.YYYY H:MM` of a spreadsheet saved in a German (Dutch, Polish, ...) locale: day first in every locale writing it. */
export const DOTTED = /^(\d{1,2})\.(\d{1,2})\.(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?$/;

/** How a slashed date `a/b/yyyy` is read: month first (the original xlsx export, US) or day first (a UK-locale export). */
export type DateOrder = 'mdy' | 'dmy';
export const DATE_ORDERS: readonly DateOrder[] = ['mdy', 'dmy'];

/**
 * Online Retail invoice dates, read as UTC (the shop's local time; the file carries no zone):
 * 'YYYY-MM-DD HH:MM[:SS]' of the CSV exports and 'M/D/YYYY H:MM' of the original xlsx export
 * ('D/M/YYYY H:MM' with `order` dmy), and 'D.M.YYYY H:MM' of a spreadsheet saved in a German locale (day first).
 */
export function parseRetailDate(cell: string | undefined, order: DateOrder = 'mdy'): Date | null {
  const s = cell?.trim() ?? '';
  let m = SQL_STYLE.exec(s);
  if (m) return utc(+m[1], +m[2], +m[3], +m[4], +m[5], m[6] ? +m[6] : 0);
  m = DOTTED.exec(s);
  if (m) return utc(+m[3], +m[2], +m[1], +m[4], +m[5], m[6] ? +m[6] : 0);
  m = SLASHED.exec(s);
  if (!m) return null;
  const [month, day] = order === 'mdy' ? [+m[1], +m[2]] : [+m[2], +m[1]];
  return utc(+m[3], month, day, +m[4], +m[5], m[6] ? +m[6] : 0);
}

/**
 * What one date cell tells of the file's order: 'dmy' for a slashed date whose first number is over 12
 * (13/12/2010), 'mdy' for one whose second is (12/13/2010), null when it tells nothing (both 12 or less,
 * another form, or neither order reads it).
 */
export function dateOrderOf(cell: string | undefined): DateOrder | null {
  const m = SLASHED.exec(cell?.trim() ?? '');
  if (!m) return null;
  const [a, b] = [+m[1], +m[2]];
  if (a > 12 && a <= 31 && b >= 1 && b <= 12) return 'dmy';
  if (b > 12 && b <= 31 && a >= 1 && a <= 12) return 'mdy';
  return null;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * An ISO 8601 timestamp: a date, optionally a time (seconds and fraction optional) and a zone
 * ('Z' or ±HH:MM). Without a zone it is read as UTC, never as the machine's local time, so the same
 * file imports to the same instants everywhere.
 */
export function parseIsoTimestamp(cell: string | undefined): Date | null {
  const m = ISO.exec(cell?.trim() ?? '');
  if (!m) return null;
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const local = utc(+m[1], +m[2], +m[3], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0, ms);
  if (!local) return null;
  const zone = m[8];
  if (!zone || zone.toUpperCase() === 'Z') return local;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = +digits.slice(0, 2);
  const minutes = +digits.slice(2, 4);
  if (hours > 23 || minutes > 59) return null;
  // 10:00+02:00 is 08:00Z: subtract the offset.
  return new Date(local.getTime() - sign * (hours * 60 + minutes) * 60_000);
}

/**
 * Customer ids exported through a spreadsheet arrive as floats ("17850.0", "17850,0" from a locale whose decimal
 * mark is a comma: `decimalComma`); the id is the integer.
 */
export function normalizeCustomerId(cell: string | undefined, decimalComma = false): string {
  const s = cell?.trim() ?? '';
  const m = (decimalComma ? /^(\d+)[.,]0*$/ : /^(\d+)\.0*$/).exec(s);
  return m ? m[1] : s;
}

/** true/false in the spellings spreadsheets produce; null when it is none of them. */
export function parseBoolean(cell: string | undefined): boolean | null {
  const s = cell?.trim().toLowerCase() ?? '';
  if (['true', '1', 'yes', 'y', 't'].includes(s)) return true;
  if (['false', '0', 'no', 'n', 'f'].includes(s)) return false;
  return null;
}
