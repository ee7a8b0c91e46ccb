import { purchaseRowOf, type Dataset, type PurchaseRow } from '../recommenders/dataset.js';
import type { SplitInput } from './splits.js';

/** 32-bit FNV-1a of a string: a stable, platform-independent customer draw. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface CustomerSample {
  input: SplitInput;
  /** Customers with purchases in the input, and how many of them the sample keeps. */
  customers: number;
  kept: number;
  /**
   * When customers were left out: just after the input's latest purchase (ISO), where validation
   * windows must still end (the sample's own latest purchase may be earlier).
   */
  end?: string;
}

/**
 * At most `max` customers with every purchase of theirs (and their attributes), the same ones on every
 * run: those with the smallest hash of their id. Under the cap the input is returned as is. Tuning on
 * such a sample costs the same for any shop larger than the cap, and a sampled customer keeps their
 * whole history, so each fold's training and validation purchases stay consistent.
 */
export function sampleCustomers(input: SplitInput, max: number): CustomerSample {
  // Tuning reads its input many times, so it is an array already; anything else is read once here.
  const events = Array.isArray(input.events) ? (input.events as PurchaseRow[]) : [...input.events];
  const ids = [...new Set(events.map((e) => e.userId))];
  if (ids.length <= max) return { input: { ...input, events }, customers: ids.length, kept: ids.length };
  const keep = drawCustomers(ids, max);
  let latest = Number.NEGATIVE_INFINITY;
  for (const e of events) latest = Math.max(latest, e.ts);
  return {
    input: { events: events.filter((e) => keep.has(e.userId)), items: input.items, ...usersOf(input.users, keep) },
    customers: ids.length,
    kept: max,
    end: new Date(latest + 1).toISOString(),
  };
}

/**
 * sampleCustomers of a dataset's purchases (as purchaseRowsOf gives them) with its catalog, without
 * making a row of every purchase first: only the sampled customers' purchases become rows. At 16x
 * Online Retail the rows of every purchase were a gigabyte of heap held through all of tuning.
 */
export function sampleDatasetCustomers(ds: Dataset, catalog: Pick<SplitInput, 'items' | 'users'>, max: number): CustomerSample {
  const n = ds.eventUser.length;
  const buyers = new Uint8Array(ds.userIds.length);
  for (let e = 0; e < n; e++) buyers[ds.eventUser[e]] = 1;
  const ids = ds.userIds.filter((_, u) => buyers[u] === 1);
  const keep = ids.length <= max ? null : drawCustomers(ids, max);
  const kept = keep ? new Uint8Array(ds.userIds.length) : buyers;
  if (keep) ds.userIds.forEach((id, u) => keep.has(id) && (kept[u] = 1));
  const events: PurchaseRow[] = [];
  let latest = Number.NEGATIVE_INFINITY;
  for (let e = 0; e < n; e++) {
    latest = Math.max(latest, ds.eventTs[e]);
    if (kept[ds.eventUser[e]] === 1) events.push(purchaseRowOf(ds, e));
  }
  if (!keep) return { input: { events, ...catalog }, customers: ids.length, kept: ids.length };
  return { input: { events, items: catalog.items, ...usersOf(catalog.users, keep) }, customers: ids.length, kept: max, end: new Date(latest + 1).toISOString() };
}

/** The `max` customers with the smallest hash of their id (ties by id): the same ones on every run. */
function drawCustomers(ids: string[], max: number): Set<string> {
  const ranked = ids.map((id) => ({ id, h: fnv1a(id) })).sort((a, b) => a.h - b.h || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return new Set(ranked.slice(0, max).map((r) => r.id));
}

const usersOf = (users: SplitInput['users'], keep: Set<string>) => (users ? { users: [...users].filter((u) => keep.has(u.id)) } : {});
