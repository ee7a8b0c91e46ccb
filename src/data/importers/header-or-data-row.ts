/**
 * Tells whether the first line of a users.csv is its header or a data row, judged against the rows below it, as
 * Python's csv.Sniffer.has_header does. Every line of users.csv parses as a header (any column but `id` is an
 * attribute), so a file sent without its header whose first row holds the value `id` or `ID` in any column (a
 * language code, Indonesia's country code) would store every row's value of that column as a customer, silently.
 * Pure: no IO (the caller reads the sample).
 */

/** A value's length and the kinds of characters it holds (lower, upper case letters, digits, others). */
function shape(value: string): string {
  const kinds = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{Ll}\p{Lu}\p{Nd}]/u].map((kind) => (kind.test(value) ? 1 : 0)).join('');
  return `${[...value].length}:${kinds}`;
}

/**
 * Most of `values` have `cell`'s length and kinds of characters. A line whose id cell is so shaped is a data row whatever
 * its other cells are: `id,country,segment` above the two-letter ids `ab`, `cd` cannot be told from a headless file
 * whose first customer is `id` (`id,Anna,Berlin` above `ab,Bertram,Hamburg`, or ids alone), whose row read as the header
 * loses that customer and names every other's attributes by its values. Refused, the file is mended by writing the
 * name in the other case (`ID` above lower-case ids), which the import matches as `id`.
 */
const shapedLikeMost = (cell: string, values: string[]) => {
  const want = shape(cell);
  return values.filter((v) => shape(v) === want).length * 2 > values.length;
};

/**
 * Why the first line `header`, whose column `idColumn` (0-based) would be read as the customers' ids, is
 * probably a data row given the `rows` below it; null when nothing says so (or no row is there to judge by).
 * Names columns by place only: the line may be a customer's row. The signs:
 * - its id cell has the length and kinds of characters of most values below it in that column (`ID` above `FR`
 *   and `DE`; a header's `id` above ids such as `100231` has not; see shapedLikeMost);
 * - the values below it in that column repeat (a customer's id is unique);
 * - another of its cells appears again as a value in its own column (a column's name is not one of its values).
 */
export function dataRowSign(header: string[], idColumn: number, rows: string[][]): string | null {
  const column = (j: number) => rows.map((r) => (r[j] ?? '').trim()).filter((v) => v !== '');
  const ids = column(idColumn);
  if (ids.length === 0) return null;
  if (shapedLikeMost(header[idColumn].trim(), ids)) {
    return `its column ${idColumn + 1}, read as id, holds a value of the length and kinds of characters of the values below it (if the line is the header, write that name in the other case, ID above lower-case ids, id above upper-case ones)`;
  }
  if (new Set(ids).size < ids.length) return `the values below it in column ${idColumn + 1}, read as the customers' ids, repeat (an id is unique)`;
  for (let j = 0; j < header.length; j++) {
    const cell = header[j].trim();
    if (j !== idColumn && cell !== '' && column(j).includes(cell)) return `its column ${j + 1} holds a value that appears again below it in that column`;
  }
  return null;
}
