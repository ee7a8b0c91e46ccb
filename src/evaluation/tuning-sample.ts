import type { PurchaseRow } from '../recommenders/dataset.js';
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
  const ranked = ids.map((id) => ({ id, h: fnv1a(id) })).sort((a, b) => a.h - b.h || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const keep = new Set(ranked.slice(0, max).map((r) => r.id));
  const users = input.users ? [...input.users].filter((u) => keep.has(u.id)) : undefined;
  let latest = Number.NEGATIVE_INFINITY;
  for (const e of events) latest = Math.max(latest, e.ts);
  return {
    input: { events: events.filter((e) => keep.has(e.userId)), items: input.items, ...(users ? { users } : {}) },
    customers: ids.length,
    kept: max,
    end: new Date(latest + 1).toISOString(),
  };
}
