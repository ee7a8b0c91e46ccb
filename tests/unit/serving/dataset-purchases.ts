import type { Dataset, PurchaseRow } from '../../../src/recommenders/dataset.js';

/** A customer's purchases in `ds`, as Postgres would return them to serving (`ServingDeps.purchases`). */
export function purchaseRowsOf(ds: Dataset, userId: string): PurchaseRow[] {
  const u = ds.userIndex.get(userId);
  const rows: PurchaseRow[] = [];
  for (let e = 0; e < ds.eventUser.length; e++) {
    if (ds.eventUser[e] !== u) continue;
    rows.push({ userId, itemId: ds.itemIds[ds.eventItem[e]], orderId: `o${ds.eventOrder[e]}`, ts: ds.eventTs[e], quantity: ds.eventQuantity[e], price: null });
  }
  return rows;
}
