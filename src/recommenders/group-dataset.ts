/**
 * Learning per product group (a style's sizes and colours, ItemInfo.itemGroupId): the dataset a
 * population-sensitive source fits on when the catalogue has groups. Each group is one item of it, and a
 * purchase (or view, cart, rating) of any of its variants counts for the group; an item in no group stays
 * an item of its own. Pure: built from a Dataset, no IO.
 */
import type { Dataset, ItemInfo } from './dataset.js';

/**
 * Which group item ("key") each item of a dataset belongs to, and which variant shows a group: its
 * best-selling available variant in the dataset's purchases (units bought; ties: the lower item index), or
 * its best-selling one when none is available.
 */
export interface GroupMap {
  /** Per item index: its key, 0..count-1 (-1: an item the map does not know, as after a remap). */
  key: Int32Array;
  /** Number of keys: the groups, then one per item in none. */
  count: number;
  /** Per key: the item index of the variant that shows it. */
  shown: Int32Array;
}

/**
 * The group map of `ds`, or undefined when no item has a group (the dataset is then used as it is, so a
 * shop without groups fits exactly what it did). Keys are numbered in item order: a group takes the number
 * of its first variant's place among the keys.
 */
export function groupMapOf(ds: Pick<Dataset, 'items' | 'eventItem' | 'eventQuantity'>): GroupMap | undefined {
  const n = ds.items.length;
  const key = new Int32Array(n);
  const byGroup = new Map<string, number>();
  let count = 0;
  let grouped = false;
  for (let i = 0; i < n; i++) {
    const id = ds.items[i].itemGroupId;
    if (!id) {
      key[i] = count++;
      continue;
    }
    grouped = true;
    let k = byGroup.get(id);
    if (k === undefined) byGroup.set(id, (k = count++));
    key[i] = k;
  }
  if (!grouped) return undefined;
  const sold = new Float64Array(n);
  for (let e = 0; e < ds.eventItem.length; e++) if (ds.eventQuantity[e] > 0) sold[ds.eventItem[e]] += ds.eventQuantity[e];
  const shown = new Int32Array(count).fill(-1);
  // An available variant first: serving leaves unavailable products out, and a style whose best-seller sold
  // out would otherwise drop from every list though its other sizes are in stock.
  const rank = (i: number) => (ds.items[i].available ? 1 : 0);
  for (let i = 0; i < n; i++) {
    const k = key[i];
    const at = shown[k];
    if (at < 0 || rank(i) > rank(at) || (rank(i) === rank(at) && sold[i] > sold[at])) shown[k] = i;
  }
  return { key, count, shown };
}

/** A column of item indices as keys (a copy; the dataset's own columns are left as they are). */
function keysOf(items: Int32Array, key: Int32Array): Int32Array {
  const out = new Int32Array(items.length);
  for (let e = 0; e < items.length; e++) out[e] = key[items[e]];
  return out;
}

/**
 * The dataset with each group as one item: item k is key k, with the id and catalog record of the variant
 * that shows it (available when any variant is); every purchase and signal counts for its item's key. Users,
 * orders, times, quantities and prices are the same arrays as `ds`'s.
 */
export function groupDataset(ds: Dataset, map: GroupMap): Dataset {
  const itemIds = Array.from(map.shown, (i) => ds.itemIds[i]);
  const available = new Uint8Array(map.count);
  for (let i = 0; i < ds.items.length; i++) if (ds.items[i].available) available[map.key[i]] = 1;
  const items: ItemInfo[] = Array.from(map.shown, (i, k) => ({ ...ds.items[i], available: available[k] === 1 }));
  const signals = ds.signals && { ...ds.signals, item: keysOf(ds.signals.item, map.key) };
  return {
    ...ds,
    itemIds,
    itemIndex: new Map(itemIds.map((id, k) => [id, k])),
    items,
    eventItem: keysOf(ds.eventItem, map.key),
    ...(signals ? { signals } : {}),
  };
}
