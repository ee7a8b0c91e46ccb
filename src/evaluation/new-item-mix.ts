/**
 * How new a period's demand is (issue 11, fifty-eighth session): the nested check bench/new-item-mix.ts asks whether
 * the held-out month's novel coverage moves with the share of its lists that want a fresh product. A period's novel
 * targets are products bought before it (splits.ts keeps a test purchase only when the product is in train), so the
 * newest a list can show, or a target be, is a product first bought shortly before the period. Keys are the blend
 * cache's: group keys (eval-groups.ts groupKeysOf) where the catalogue has groups, else item indices. Pure.
 */

/** Each key's first purchase: the earliest `eventTs` of any event whose item has that key (Infinity for a key never bought). */
export function keyFirstBought(eventItem: ArrayLike<number>, eventTs: ArrayLike<number>, keyCount: number, keyOf?: ArrayLike<number>): Float64Array {
  const first = new Float64Array(keyCount).fill(Number.POSITIVE_INFINITY);
  for (let e = 0; e < eventItem.length; e++) {
    const k = keyOf ? keyOf[eventItem[e]] : eventItem[e];
    if (eventTs[e] < first[k]) first[k] = eventTs[e];
  }
  return first;
}

export interface FreshShare {
  /** Lists (or keys) counted. */
  total: number;
  /** Of them, those with a fresh key. */
  fresh: number;
  /** fresh / total, 0 when there are none. */
  share: number;
}

const shareOf = (fresh: number, total: number): FreshShare => ({ total, fresh, share: total > 0 ? fresh / total : 0 });

/**
 * The novel lists (user -> target keys; a user with none is no list) with at least one target key first bought in
 * [from, to), over all the novel lists.
 */
export function freshTargetShare(novel: ReadonlyMap<number, ReadonlySet<number>>, keyFirst: ArrayLike<number>, from: number, to: number): FreshShare {
  let total = 0;
  let fresh = 0;
  for (const keys of novel.values()) {
    if (keys.size === 0) continue;
    total++;
    for (const k of keys) {
      if (keyFirst[k] >= from && keyFirst[k] < to) {
        fresh++;
        break;
      }
    }
  }
  return shareOf(fresh, total);
}

/** The catalogue's keys first bought in [from, to), over its keys. */
export function freshKeyShare(keyFirst: ArrayLike<number>, from: number, to: number): FreshShare {
  let fresh = 0;
  for (let k = 0; k < keyFirst.length; k++) if (keyFirst[k] >= from && keyFirst[k] < to) fresh++;
  return shareOf(fresh, keyFirst.length);
}
