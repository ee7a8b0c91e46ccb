import { basename } from 'node:path';
import { AppError } from '../../errors.js';
import type { CsvDelimiter } from './csv-source.js';
import { parseDecimalComma, parseNumber } from './field-parsers.js';

/** Thrown by a `;` file's number reader for a cell that is not a number: the importer names its row (notANumber). */
export class NotANumber extends Error {
  constructor(readonly column: string) {
    super(`column ${column} is not a number`);
  }
}

/** Reads a number column's cell: null for an empty one; `column` names it (the format's name) if it is not a number. */
export type NumberReader = (cell: string | undefined, column: string) => number | null;

/**
 * The number reader of a file with `delimiter`. A `,` file's numbers are read as before: a cell that is not one is
 * null, the row refused under its rule (`bad_number`, `malformed_number`). A `;` file is a spreadsheet saved in a
 * locale whose decimal mark is a comma: `2,55` is read as 2.55 (parseDecimalComma), and a cell that is still not a
 * number throws NotANumber. Such a cell is the locale's way of writing a number the import cannot read (a thousands
 * separator, a currency sign) more often than a typo, and would refuse the file's rows one by one: the import stops,
 * naming it. Only the cells a row's rules read are read: a return's price is not.
 */
export function numberReader(delimiter: CsvDelimiter): NumberReader {
  if (delimiter === ',') return (cell) => parseNumber(cell);
  return (cell, column) => {
    if (!cell?.trim()) return null;
    const n = parseDecimalComma(cell);
    if (n === null) throw new NotANumber(column);
    return n;
  };
}

/** A whole number read by `read`, or null (a cell that is a number but not whole too). */
export const wholeNumber = (read: NumberReader, cell: string | undefined, column: string): number | null => {
  const n = read(cell, column);
  return n !== null && Number.isSafeInteger(n) ? n : null;
};

/**
 * The import's error for a `;` file's cell that is not a number: the file, the data row (1 is the first after the
 * header), the column's place and name (from a header the import has recognised, so a name, not a value of a row). `beforeImport`: found by
 * the check made before anything is written (the submission's, the first rows); else the import stopped at it. `ending`, when given, says
 * what follows instead (a reader of the file that imports nothing: npm run tune's).
 */
export function notANumber(file: string, dataRow: number, place: number, name: string, beforeImport: boolean, ending?: string): AppError {
  const message =
    `${basename(file)}: data row ${dataRow}, column ${place} (${name}) is not a number. A file whose fields are separated by ";" writes its numbers ` +
    'with a decimal comma (2,55) or point (2.55), without thousands separators, currency signs or spaces; ' +
    (ending ??
      (beforeImport
        ? 'nothing was imported. Mend the file and import it'
        : 'the import stopped there: the rows before it are imported, none from it on. Mend the file and import it again (rows already imported are not added twice)'));
  return new AppError('UNPROCESSABLE', message);
}
