import { distance } from 'fastest-levenshtein';

/** A header name as compared here: lower-cased, without spaces, underscores or other separators. */
const bare = (name: string) => name.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');

/**
 * Names other exports give the columns of events.csv (bare, see above): exact matches only, so a hint is
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
  ts: ['timestamp', 'time', 'date', 'datetime', 'eventtime', 'eventdate', 'orderdate', 'invoicedate', 'createdat', 'occurredat', 'purchasedat'],
};

/**
 * The column of the format a header name likely stands for, among `wanted` (the known columns a file lacks):
 * the same name written otherwise (`User ID`), a name other exports use (`unit_price`, `qty`, `timestamp`), or a
 * misspelling of a long name (two edits at most, as config.ts tells a misspelt variable; short names are too
 * alike to guess: `ts`, `type`). Undefined when none.
 */
export function likelyColumn(name: string, wanted: readonly string[]): string | undefined {
  const b = bare(name);
  if (b === '') return undefined;
  return (
    wanted.find((w) => bare(w) === b || OTHER_NAMES[w]?.includes(b)) ??
    wanted.find((w) => bare(w).length >= 6 && distance(bare(w), b) <= 2)
  );
}
