/**
 * A directory of the generic import CSVs (docs/import-formats.md: events.csv, items.csv, users.csv) read into
 * memory, no database: what the benchmarks on synthetic shops tune and score on. A product's `item_group_id`
 * (its style) is kept as the importer keeps it, so a shop with groups is learnt, listed and judged per group
 * (one definition: src/evaluation/eval-groups.ts reads ItemInfo.itemGroupId, as training and evaluation do).
 */
import { join } from 'node:path';
import { readCsvRecords } from '../../src/data/importers/csv-source.js';
import type { ItemInfo, PurchaseRow, UserInfo } from '../../src/recommenders/dataset.js';

/** Records of DIR/NAME as objects by header. */
async function* records(dir: string, name: string): AsyncGenerator<Record<string, string>> {
  let header: string[] | undefined;
  for await (const rec of readCsvRecords(join(dir, name))) {
    if (!header) header = rec;
    else yield Object.fromEntries(header.map((h, i) => [h, rec[i] ?? '']));
  }
}

/** DIR's purchases (in time order, without the lines the importer refuses for their quantity), products and customers. */
export async function readGenericShop(dir: string): Promise<{ events: PurchaseRow[]; items: ItemInfo[]; users: UserInfo[] }> {
  const events: PurchaseRow[] = [];
  for await (const r of records(dir, 'events.csv')) {
    // The importer refuses a quantity <= 0 (non_positive_quantity: a return line), so a shop read here has none either.
    if (r.quantity && Number(r.quantity) <= 0) continue;
    events.push({ userId: r.user_id, itemId: r.item_id, orderId: r.order_id || null, ts: Date.parse(r.ts), quantity: Number(r.quantity || 1), price: r.price ? Number(r.price) : null });
  }
  events.sort((a, b) => a.ts - b.ts);
  const items: ItemInfo[] = [];
  for await (const r of records(dir, 'items.csv')) {
    items.push({ id: r.id, title: r.title, description: r.description || null, categories: r.categories ? r.categories.split('|') : [], price: r.price ? Number(r.price) : null, attributes: { brand: r.brand, origin: r.origin, currency: r.currency }, available: !['false', 'no'].includes(r.available), itemGroupId: r.item_group_id || null });
  }
  const users: UserInfo[] = [];
  for await (const r of records(dir, 'users.csv')) users.push({ id: r.id, attributes: { country: r.country, region: r.region, tier: r.tier } });
  return { events, items, users };
}
