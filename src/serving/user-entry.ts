/**
 * Per-user serving entries, one keyed entry per known user and table (read one at a time per request):
 *   serving-users           the user's purchases, latest items, popularity segment and hybrid candidates
 *   serving-user-<source>   the candidates of one single strategy (for `strategy=<source>` comparisons)
 * Candidate lists hold the top non-purchased items and, after them in the same score order, the user's
 * own best-scored purchases (so excludePurchased=false still has them); item indices refer to the
 * version's item table.
 */
import { decodeRecord, encodeRecord, type RecordLayout } from './packed-record.js';

export const USERS_TABLE = 'serving-users';
export const strategyTable = (strategy: string) => `serving-user-${strategy}`;

/** Scored candidates, best first. */
export interface Candidates {
  items: Int32Array;
  scores: Float32Array;
}

export interface UserEntry {
  /** Index of the user's popularity segment in the popular table, -1 = global. */
  segment: number;
  /** Distinct orders in training. */
  orders: number;
  /** Latest training purchase (epoch ms). */
  lastTs: number;
  /** Distinct purchased items, ascending (binary search). */
  purchased: Int32Array;
  /** The latest distinct purchases, newest first, with their times: the "because you bought" anchors. */
  recentItems: Int32Array;
  recentTs: Float64Array;
  hybrid: Candidates & {
    /** Bit k set = hybridSources[k] contributed a meaningful share of the item's score. */
    sourceMask: Uint32Array;
    /**
     * Index in hybridSources of the source with the largest part of each candidate's score (hybrid.ts
     * dominantSource): the source that put it on the list, and the only one its explanation speaks for.
     */
    dominant: Uint8Array;
    /**
     * The purchase (item index) related to each candidate by its dominant source's neighbour lists, the
     * X of "because you bought X"; -1 when the dominant source has no such lists or none lists it.
     */
    because: Int32Array;
  };
}

const USER_LAYOUT: RecordLayout = {
  magic: 0x31555352, // "RSU1"
  version: 3,
  arrays: [Float64Array, Int32Array, Int32Array, Float64Array, Int32Array, Float32Array, Uint32Array, Int32Array, Uint8Array],
};
/**
 * Entries of versions trained before the dominant source was recorded: no `dominant`, and `because`
 * as anchor * 4 + index into V2_ANCHOR_SOURCES. Still read, so such a version keeps serving after an
 * upgrade until the next training.
 */
const USER_LAYOUT_V2: RecordLayout = { ...USER_LAYOUT, version: 2, arrays: USER_LAYOUT.arrays.slice(0, 8) };
// Source names, not families: that layout's builder read the neighbour lists of sources so named only.
const V2_ANCHOR_SOURCES = ['cooccurrence', 'item-knn', 'content'];
const STRATEGY_LAYOUT: RecordLayout = {
  magic: 0x31535352, // "RSS1"
  version: 1,
  arrays: [Int32Array, Float32Array],
};

export function encodeUserEntry(e: UserEntry): Uint8Array {
  return encodeRecord(USER_LAYOUT, [
    Float64Array.of(e.segment, e.orders, e.lastTs),
    e.purchased,
    e.recentItems,
    e.recentTs,
    e.hybrid.items,
    e.hybrid.scores,
    e.hybrid.sourceMask,
    e.hybrid.because,
    e.hybrid.dominant,
  ]);
}

/** The layout version of a record (0 when too short to have one). */
const layoutVersion = (bytes: Uint8Array) => (bytes.byteLength < 6 ? 0 : bytes[4] | (bytes[5] << 8));

/**
 * Decodes an entry. `hybridSources` (the version's source names) is needed only for entries of the
 * previous layout, whose dominant source is taken as the source of their stored anchor when that source
 * is among the item's (else the item's first source, with no anchor).
 */
export function decodeUserEntry(bytes: Uint8Array, hybridSources: readonly string[] = []): UserEntry {
  if (layoutVersion(bytes) === USER_LAYOUT_V2.version) return fromV2(decodeRecord(USER_LAYOUT_V2, bytes) as EntryArrays, hybridSources);
  const [scalars, purchased, recentItems, recentTs, items, scores, sourceMask, because, dominant] = decodeRecord(USER_LAYOUT, bytes) as [
    Float64Array,
    Int32Array,
    Int32Array,
    Float64Array,
    Int32Array,
    Float32Array,
    Uint32Array,
    Int32Array,
    Uint8Array,
  ];
  return {
    segment: scalars[0],
    orders: scalars[1],
    lastTs: scalars[2],
    purchased,
    recentItems,
    recentTs,
    hybrid: { items, scores, sourceMask, dominant, because },
  };
}

type EntryArrays = [Float64Array, Int32Array, Int32Array, Float64Array, Int32Array, Float32Array, Uint32Array, Int32Array];

function fromV2([scalars, purchased, recentItems, recentTs, items, scores, sourceMask, codes]: EntryArrays, names: readonly string[]): UserEntry {
  const dominant = new Uint8Array(items.length);
  const because = new Int32Array(items.length).fill(-1);
  for (let c = 0; c < items.length; c++) {
    const k = codes[c] >= 0 ? names.indexOf(V2_ANCHOR_SOURCES[codes[c] & 3]) : -1;
    if (k >= 0 && sourceMask[c] & (1 << k)) {
      dominant[c] = k;
      because[c] = codes[c] >> 2;
    } else dominant[c] = Math.max(0, 31 - Math.clz32(sourceMask[c] & -sourceMask[c]));
  }
  return { segment: scalars[0], orders: scalars[1], lastTs: scalars[2], purchased, recentItems, recentTs, hybrid: { items, scores, sourceMask, dominant, because } };
}

export function encodeCandidates(c: Candidates): Uint8Array {
  return encodeRecord(STRATEGY_LAYOUT, [c.items, c.scores]);
}

export function decodeCandidates(bytes: Uint8Array): Candidates {
  const [items, scores] = decodeRecord(STRATEGY_LAYOUT, bytes) as [Int32Array, Float32Array];
  return { items, scores };
}

/** Binary search in an ascending Int32Array. */
export function sortedHas(sorted: Int32Array, item: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid];
    if (v === item) return true;
    if (v < item) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
