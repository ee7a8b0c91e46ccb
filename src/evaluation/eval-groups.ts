/**
 * Product groups in offline evaluation and tuning: serving keeps one product per group (serving/picker.ts) and,
 * where purchases are left out, leaves out the groups of what the customer bought. A list measured without
 * those rules is not the list served, so the evaluation ranks by them too when the catalogue has groups.
 * Pure: the caller passes each item's group.
 */
import type { EvalMode } from './splits.js';

/** Each train item's group number (-1: a group of its own), and how many groups there are. */
export interface EvalGroups {
  of: Int32Array;
  count: number;
}

/** The groups of items given each one's group id (null or absent: its own); undefined when none has one. */
export function evalGroupsOf(items: readonly { itemGroupId?: string | null }[]): EvalGroups | undefined {
  const numbers = new Map<string, number>();
  const of = new Int32Array(items.length).fill(-1);
  for (const [i, item] of items.entries()) {
    const id = item.itemGroupId;
    if (!id) continue;
    let g = numbers.get(id);
    if (g === undefined) numbers.set(id, (g = numbers.size));
    of[i] = g;
  }
  return numbers.size === 0 ? undefined : { of, count: numbers.size };
}

/** A set of group numbers cleared per user by forgetting only what was added. */
export class GroupSet {
  private readonly member: Uint8Array;
  private readonly added: number[] = [];
  constructor(count: number) {
    this.member = new Uint8Array(count);
  }
  add(g: number): void {
    if (g < 0 || this.member[g]) return;
    this.member[g] = 1;
    this.added.push(g);
  }
  has(g: number): boolean {
    return g >= 0 && this.member[g] === 1;
  }
  clear(): void {
    for (const g of this.added) this.member[g] = 0;
    this.added.length = 0;
  }
}

/**
 * Where `item` (score `s`) goes in a best-first list of `n` (`items`, `scores`) that keeps one item per group:
 * -1 when it does not enter (a better or equal-ranked item of its group is on it); otherwise the index of the
 * worse item of its group it replaces, or `n` when it takes a new place. Ranking as topK: a higher score, then
 * the lower item index.
 */
export function groupSlot(item: number, s: number, group: number, groupOf: Int32Array, items: ArrayLike<number>, scores: ArrayLike<number>, n: number): number {
  if (group < 0) return n;
  for (let p = 0; p < n; p++) {
    const other = items[p];
    if (groupOf[other] !== group) continue;
    // `other` ranks above the offer: kept, the offer refused.
    return scores[p] > s || (scores[p] === s && other < item) ? -1 : p;
  }
  return n;
}

/**
 * What relevance and coverage count when the catalogue has groups: a shop's list shows a style and the customer
 * picks its size or colour on the product's page, so a listed product is a hit when the customer bought any
 * product of its group, and each group counts once. Each train item's key: its group's (0..groups-1), or one of
 * its own for an item in none (groups, groups+1, ...); `count` keys in all.
 */
export interface GroupKeys {
  key: Int32Array;
  count: number;
}

export function groupKeysOf(groups: EvalGroups): GroupKeys {
  const key = new Int32Array(groups.of.length);
  let count = groups.count;
  for (let i = 0; i < key.length; i++) key[i] = groups.of[i] >= 0 ? groups.of[i] : count++;
  return { key, count };
}

/** The keys of a list's items, in its order. */
export function keysOfList(keys: GroupKeys, list: readonly number[]): number[] {
  return list.map((i) => keys.key[i]);
}

/** The relevant items of a split's test users, by mode, as it has them (train user index -> train item indices). */
export type TestSets = Record<EvalMode, Map<number, ReadonlySet<number>>>;

/**
 * The test users' relevant groups (keys of groupKeysOf) by mode: the groups of the items they bought in the test
 * window, each once. In mode `novel` a group counts only when the user bought none of its products before the
 * cutoff (`trainItems(u)`: what user u bought then), as served lists leave such groups out; a user left with none
 * is no test user of that mode. Keys of the maps stay in ascending user order.
 */
export function groupTestSets(test: TestSets, groups: EvalGroups, keys: GroupKeys, trainItems: (u: number) => ArrayLike<number>): TestSets {
  const bought = new GroupSet(groups.count);
  const out = {} as TestSets;
  for (const mode of Object.keys(test) as EvalMode[]) {
    const byUser = new Map<number, ReadonlySet<number>>();
    for (const [u, items] of test[mode]) {
      if (mode === 'novel') {
        const own = trainItems(u);
        for (let p = 0; p < own.length; p++) bought.add(groups.of[own[p]]);
      }
      const relevant = new Set<number>();
      for (const i of items) if (!bought.has(groups.of[i])) relevant.add(keys.key[i]);
      bought.clear();
      if (relevant.size > 0) byUser.set(u, relevant);
    }
    out[mode] = byUser;
  }
  return out;
}
