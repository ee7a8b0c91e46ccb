/**
 * The catalog records of products a served version does not know (added after its training), as a cart's
 * list reads them on every ask: kept per version, at most MAX_KEPT of them (least recently used out first), and
 * forgotten when the catalog overlay sees the product change (catalog-overlay.ts), so a product put into a
 * group or renamed is read again within the overlay's interval (about 2 s), as the version's own items are.
 */
import { LRUCache } from 'lru-cache';
import type { ItemInfo } from '../recommenders/dataset.js';
import type { ServingModel } from './serving-model.js';

/** Products kept per version: a storefront's carts hold a few new products each. */
export const MAX_KEPT = 2000;

export interface NewItemRecords {
  /** Kept records by id; `record: null` for an id the catalog lacks. */
  kept: LRUCache<string, { record: ItemInfo | null }>;
  /** Counts the forgettings: a read that began before one keeps nothing (it may hold the record from before). */
  forgotten: number;
}

const recordsOf = (model: ServingModel): NewItemRecords => (model.newItemRecords ??= { kept: new LRUCache({ max: MAX_KEPT }), forgotten: 0 });

/**
 * The records of `ids` (each null when the catalog lacks it), in their order: the kept ones without a read, the
 * others in one `read`, then kept. A failed read throws, and keeps nothing.
 */
export async function newItemRecordsOf(model: ServingModel, ids: readonly string[], read: (ids: string[]) => Promise<ItemInfo[]>): Promise<(ItemInfo | null)[]> {
  const records = recordsOf(model);
  const missing = ids.filter((id) => !records.kept.has(id));
  if (missing.length > 0) {
    const forgotten = records.forgotten;
    const found = new Map((await read(missing)).map((r) => [r.id, r]));
    const got = new Map(missing.map((id) => [id, found.get(id) ?? null]));
    if (records.forgotten === forgotten) for (const [id, record] of got) records.kept.set(id, { record });
    return ids.map((id) => (got.has(id) ? got.get(id)! : (records.kept.get(id)?.record ?? null)));
  }
  return ids.map((id) => records.kept.get(id)?.record ?? null);
}

/** Forgets the kept record of a product that changed (or was created: an id kept as missing). */
export function forgetNewItemRecord(model: ServingModel, id: string): void {
  const records = model.newItemRecords;
  if (!records) return;
  records.forgotten++;
  records.kept.delete(id);
}
