/**
 * What tuning's coverage requirement divides by (issue 11, fifty-first session). A validation window's lists
 * can only show what was bought before the window starts, and blend-cache.ts counted coverage against that
 * window's own catalogue; the model a training serves, and the held-out report of it, count against every
 * product bought before the training's end. On a shop that adds products every season the windows' catalogues
 * are the smaller (fashion SEED 73: 3,629-3,679 styles against 4,273 at 2026-10-01), so the windows judged a
 * coverage the served lists would not have. With tune.coverageCatalogue `served` the windows count against the
 * served catalogue. It is not the default: it mends one of two ways the windows' count parts from a held-out
 * report's, and the other (a tuning sample's customers list fewer items than every customer's lists) goes the other
 * way; on Online Retail 2011-07-15's validation period it cost 1.0% of novel NDCG for coverage the held-out lists
 * already had (bench/README "Tuning's coverage counted as the served lists are").
 * Pure: the caller passes the purchases and the catalogue.
 */

/** What the windows' novel coverage divides by: `window` (default) each window's own train catalogue, `served` the catalogue the trained model will have. */
export const COVERAGE_CATALOGUES = ['window', 'served'] as const;
export type CoverageCatalogueRule = (typeof COVERAGE_CATALOGUES)[number];
import type { ItemInfo } from '../recommenders/dataset.js';
import type { PurchaseColumns } from './purchase-columns.js';

/**
 * The keys the catalogue of a model trained on the purchases before `before` holds, as a split's train
 * catalogue counts them for coverage (eval-groups.ts groupKeysOf): each product group once and each product
 * in no group once; without any groups, each product once.
 */
export function catalogueKeysBefore(c: PurchaseColumns, items: Iterable<ItemInfo> | undefined, before: number): number {
  const groupOf = new Map<string, string>();
  for (const item of items ?? []) if (item.itemGroupId) groupOf.set(item.id, item.itemGroupId);
  const bought = new Uint8Array(c.itemIds.length);
  for (let i = 0; i < c.length; i++) if (c.ts[i] < before) bought[c.item[i]] = 1;
  const groups = new Set<string>();
  let own = 0;
  bought.forEach((b, i) => {
    if (!b) return;
    const g = groupOf.get(c.itemIds[i]);
    if (g === undefined) own++;
    else groups.add(g);
  });
  return groups.size + own;
}
