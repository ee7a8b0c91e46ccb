import { distance } from 'fastest-levenshtein';

/** A header name as compared here: lower-cased, without spaces, underscores or other separators. */
const bare = (name: string) => name.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');

/**
 * Names other exports give the columns of the generic files (bare, see above): exact matches only, so a hint is
 * never a guess from a resemblance (a `note` is no `value`).
 */
const OTHER_NAMES: Record<string, string[]> = {
  user_id: ['user', 'customer', 'customerid', 'client', 'clientid', 'buyer', 'buyerid'],
  item_id: ['item', 'product', 'productid', 'sku', 'stockcode', 'article', 'articleid'],
  quantity: ['qty', 'quantities', 'units', 'count'],
  price: ['unitprice', 'priceeur', 'priceusd', 'pricegbp', 'pricechf', 'itemprice', 'saleprice', 'unitcost', 'cost'],
  order_id: ['order', 'orderno', 'ordernumber', 'invoice', 'invoiceid', 'invoiceno', 'transactionid', 'basketid'],
  event_id: ['id', 'eventid'],
  type: ['eventtype', 'action', 'kind'],
  value: ['rating', 'stars', 'score'],
  title: ['name', 'productname', 'itemname', 'producttitle'],
  description: ['desc', 'descr', 'productdescription'],
  categories: ['category', 'productcategory', 'department', 'aisle'],
  available: ['availability', 'instock', 'isavailable'],
  ts: ['timestamp', 'time', 'date', 'datetime', 'eventtime', 'eventdate', 'orderdate', 'invoicedate', 'createdat', 'occurredat', 'purchasedat'],
};

/** OTHER_NAMES by the bare name of the column, so that a format spelling its columns otherwise (Online Retail's `Quantity`) finds them. */
const OTHER_NAMES_BY_BARE = new Map(Object.entries(OTHER_NAMES).map(([column, names]) => [bare(column), names]));

/** `a` with two adjacent letters swapped is `b` (`titel`, `pirce`): one slip of the fingers, not a resemblance. */
function swapped(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const at = [...a].findIndex((c, i) => c !== b[i]);
  return at >= 0 && at + 1 < a.length && a[at] === b[at + 1] && a[at + 1] === b[at] && a.slice(at + 2) === b.slice(at + 2);
}

/**
 * The column of the format a header name likely stands for, among `wanted` (the known columns a file lacks):
 * the same name written otherwise (`User ID`), a name other exports use (`unit_price`, `qty`, `timestamp`), a
 * misspelling of a long name (two edits at most, as config.ts tells a misspelt variable: `catgories`), or two
 * letters swapped in a name of 5 or more (`titel`). Other slips of short names are too alike to guess (`ts`,
 * `type`, `tape`; a `prize` is no `price`). Undefined when none.
 */
export function likelyColumn(name: string, wanted: readonly string[]): string | undefined {
  const b = bare(name);
  if (b === '') return undefined;
  return (
    wanted.find((w) => bare(w) === b || OTHER_NAMES_BY_BARE.get(bare(w))?.includes(b)) ??
    wanted.find((w) => (bare(w).length >= 6 && distance(bare(w), b) <= 2) || (bare(w).length >= 5 && swapped(bare(w), b)))
  );
}

/**
 * What to do about a first line that lacks the `missing` columns, for every importer: it is a data row (a file
 * sent without its header) or a header under other names, and nothing tells which, so the advice covers both;
 * and it points at the columns whose names likely are the missing ones (likelyColumn) by place, never quoting a
 * name of that line, which may be a customer's data. `isKnown(i)`: column i already is a column of the format
 * (never pointed at). E.g. `add that line if the file begins with a data row, or rename the columns holding them
 * (column 1 may be user_id, column 3 quantity)`.
 */
export function addOrRenameAdvice(names: readonly string[], missing: readonly string[], isKnown: (i: number) => boolean): string {
  return `add that line if the file begins with a data row, or rename the columns holding them${pointersTo(names, missing, isKnown)}`;
}

/**
 * ` (column 1 may be user_id, column 3 quantity)`: the columns whose names likely are the `missing` ones, by place
 * (likelyColumn; a column `isKnown` is the format's already), or '' when none.
 */
export function pointersTo(names: readonly string[], missing: readonly string[], isKnown: (i: number) => boolean): string {
  const likely = names.flatMap((n, i) => {
    const meant = isKnown(i) ? undefined : likelyColumn(n, missing);
    return meant ? [{ at: i + 1, meant }] : [];
  });
  return likely.length > 0 ? ` (${likely.map((l, k) => `column ${l.at}${k === 0 ? ' may be' : ''} ${l.meant}`).join(', ')})` : '';
}
