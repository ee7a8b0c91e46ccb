/**
 * The audience postings of a version, stored beside its other artifacts by the training: every precomputed
 * customer's candidates and purchases already inverted by item (audience-index.ts buildPostings), so the first
 * audience of a version reads one artifact instead of every customer's entry (100,000 Redis reads and decodes,
 * then the inversion: 80 s at 100,000 customers, 275 s at 420,000; bench/README.md).
 *
 * Format (recommenders/artifact.ts, algorithm `serving-audience`, layout version 2, stored as
 * `serving-audience-2`): customer c of the postings is the training's customer `positions[c]` (its place in the
 * version's user index, serving-artifacts.ts ARTIFACT_USER_IDS), positions ascending, so an id is never stored
 * here and an erasure's blank in the user index ('') names a customer taken out. Arrays: positions, the
 * candidate postings (cand_indptr, cand_users, cand_scores: 8 bytes a posting), the buyers (buy_indptr,
 * buy_users), the customers' columns (orders, last_ts, recent_indptr, recent_items, recent_ts) and `wiped` (1
 * for a customer an erasure wiped, written last). A candidate's anchor and source (5 more bytes a posting in
 * layout 1, 88 MB of 241 MB at 100,000 customers) are not stored: only the k members an audience returns need
 * them, and their entries give them (audience-index.ts explainMember). Layout 1 (`serving-audience`, with
 * cand_anchor and cand_source, no `wiped`), written by the release before, is still read and erased; it is
 * under another name so that release, which reads and patches only layout 1, neither fails on this one nor
 * writes into it (its erasures are finished by the catch-up: audienceRowsLeft).
 *
 * An erasure wipes a customer where their bytes lie (audiencePatchesWithout: their postings become -1, their
 * scores (anchors, sources) and columns zeroed), reading the postings of the items their entry lists only; a
 * store that cannot patch gets the artifact rewritten whole (audienceArtifactWithout). Pure: no IO.
 */
import { ArtifactFormatError, artifactLayout, decodeArtifact, encodeArtifact, type ArrayPlace, type ArtifactPatch, type ArtifactRangeReader, type TypedArray } from '../recommenders/artifact.js';
import { decodeUserEntry } from '../serving/user-entry.js';
import { buildPostings, NO_SOURCE, packEntries, postingsWithout, type AudiencePostings, type PackedEntries } from './audience-index.js';

/** The stored postings' artifact (layout 2). */
export const AUDIENCE_ARTIFACT = 'serving-audience-2';
/** Layout 1's, written by the release before: still read and erased, never written. */
export const AUDIENCE_ARTIFACT_V1 = 'serving-audience';
/** Both, newest first: what a reader tries, and what an erasure scrubs. */
export const AUDIENCE_ARTIFACTS = [AUDIENCE_ARTIFACT, AUDIENCE_ARTIFACT_V1] as const;
const ALGORITHM = 'serving-audience';
const FORMAT = { algorithm: ALGORITHM, version: 2 };
const LAYOUTS = new Set([1, 2]);

export interface StoredAudience {
  /** The training's customer (user index position) of each customer of the postings, ascending. */
  positions: Int32Array;
  postings: AudiencePostings;
  itemCount: number;
  /** 1 for a customer an erasure wiped (layout 2; undefined in layout 1). */
  wiped?: Uint8Array;
}

/** Chunks of packed customers (packEntries), each with the training positions of its customers, in any order. */
export interface PositionedChunk {
  positions: Int32Array;
  packed: PackedEntries;
}

/**
 * The artifact of these chunks: their customers in ascending position, inverted (buildPostings). Empties
 * `chunks`, so the packed lists can go once inverted, before the encoding copies the postings (at 100,000
 * customers: 260 MB packed, 240 MB inverted, 241 MB encoded).
 */
export function audienceArtifactOf(chunks: PositionedChunk[], itemCount: number): Uint8Array {
  const sorted = chunks.splice(0).filter((c) => c.positions.length > 0).sort((a, b) => a.positions[0] - b.positions[0]);
  const positions = new Int32Array(sorted.reduce((n, c) => n + c.positions.length, 0));
  let o = 0;
  for (const c of sorted) {
    positions.set(c.positions, o);
    o += c.positions.length;
  }
  for (let c = 1; c < positions.length; c++) if (!(positions[c] > positions[c - 1])) throw new Error('audience artifact: customers out of order (chunks overlap)');
  const postings = buildPostings(sorted.splice(0).map((c) => c.packed), itemCount);
  return encodeAudienceArtifact({ positions, postings, itemCount });
}

/** Layout 2 (anchors and sources left out whatever the postings hold); `wiped` all 0 when not given. */
export function encodeAudienceArtifact({ positions, postings, itemCount, wiped }: StoredAudience): Uint8Array {
  const { candidates: c, buyers: b, customers: u } = postings;
  return encodeArtifact({ ...FORMAT, meta: { itemCount, customers: positions.length } }, {
    positions,
    cand_indptr: c.indptr,
    cand_users: c.users,
    cand_scores: c.scores,
    buy_indptr: b.indptr,
    buy_users: b.users,
    orders: u.orders,
    last_ts: u.lastTs,
    recent_indptr: u.recent.indptr,
    recent_items: u.recent.items,
    recent_ts: u.recent.ts,
    wiped: wiped ?? new Uint8Array(positions.length),
  });
}

/** Layout 1 as the release before wrote it (tests of the reading and erasing of its versions). */
export function encodeAudienceArtifactV1({ positions, postings, itemCount }: StoredAudience): Uint8Array {
  const { candidates: c, buyers: b, customers: u } = postings;
  if (!c.anchor || !c.source) throw new Error('audience artifact layout 1: the postings have no anchors and sources');
  return encodeArtifact({ algorithm: ALGORITHM, version: 1, meta: { itemCount, customers: positions.length } }, {
    positions, cand_indptr: c.indptr, cand_users: c.users, cand_scores: c.scores, cand_anchor: c.anchor, cand_source: c.source,
    buy_indptr: b.indptr, buy_users: b.users, orders: u.orders, last_ts: u.lastTs,
    recent_indptr: u.recent.indptr, recent_items: u.recent.items, recent_ts: u.recent.ts,
  });
}

/**
 * Decodes the artifact, layout 2 or 1 (ArtifactFormatError for another format or layout: the caller builds the
 * index the old way). `share`: the arrays are views of `bytes` (a store read the caller owns), no copy.
 */
export function decodeAudienceArtifact(bytes: Uint8Array, opts: { share?: boolean } = {}): StoredAudience {
  const { header, arrays: a } = decodeArtifact(bytes, undefined, opts);
  if (header.algorithm !== ALGORITHM || !LAYOUTS.has(header.version)) {
    throw new ArtifactFormatError(`expected ${ALGORITHM} v1 or v2, got ${header.algorithm} v${header.version}`);
  }
  const itemCount = Number((header.meta as { itemCount?: unknown } | undefined)?.itemCount);
  const get = <T extends TypedArray>(name: string) => a[name] as T;
  const anchor = header.version === 1 ? { anchor: get<Int32Array>('cand_anchor'), source: get<Uint8Array>('cand_source') } : {};
  return {
    positions: get<Int32Array>('positions'),
    itemCount,
    ...(header.version === 1 ? {} : { wiped: get<Uint8Array>('wiped') }),
    postings: {
      candidates: { indptr: get('cand_indptr'), users: get('cand_users'), scores: get('cand_scores'), ...anchor },
      buyers: { indptr: get('buy_indptr'), users: get('buy_users') },
      customers: { orders: get('orders'), lastTs: get('last_ts'), recent: { indptr: get('recent_indptr'), items: get('recent_items'), ts: get('recent_ts') } },
    },
  };
}

/** Where `position` is among the ascending positions, -1 when absent. */
function customerAt(positions: Int32Array, position: number): number {
  let lo = 0;
  let hi = positions.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (positions[mid] === position) return mid;
    if (positions[mid] < position) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** The artifact rewritten without the customers at these training positions; null when it holds none of them. */
export function audienceArtifactWithout(bytes: Uint8Array, rows: Iterable<number>): Uint8Array | null {
  const stored = decodeAudienceArtifact(bytes);
  let changed = false;
  for (const row of rows) {
    const c = customerAt(stored.positions, row);
    if (c < 0) continue;
    postingsWithout(stored.postings, c);
    if (stored.wiped) stored.wiped[c] = 1;
    changed = true;
  }
  if (!changed) return null;
  return stored.wiped ? encodeAudienceArtifact(stored) : encodeAudienceArtifactV1(stored);
}

/** What an erasure knows of the customers' lists: their entries' candidates and purchases (the entries it found). */
export interface ErasedLists {
  candidates: Int32Array;
  purchased: Int32Array;
}

const i32 = (v: number) => new Uint8Array(Int32Array.of(v).buffer);
/** Ranged reads an erasure sends at once: each is a round trip, and one per listed item each waiting for the last was hundreds per customer. */
const READS_AT_ONCE = 512;
/** Bytes of postings read at once by an erasure (a wave ends once it holds this much). */
const POSTINGS_BYTES_AT_ONCE = 8 << 20;

/** `read` of each of `xs`, READS_AT_ONCE at a time, in their order. */
async function together<T, R>(xs: readonly T[], read: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < xs.length; i += READS_AT_ONCE) out.push(...(await Promise.all(xs.slice(i, i + READS_AT_ONCE).map(read))));
  return out;
}

/**
 * The patches that wipe the customers at these training positions (`rows`) where they lie, from ranged reads
 * of the artifact: its header and positions, then the postings of the items their entries list (`lists`: their
 * candidates and purchases, in any order) and their recent-purchase ranges. Null when the artifact is laid out
 * otherwise (a format to come) or holds more of the customers than entries were found to say where they are:
 * the caller rewrites it whole. An artifact that is not there gives none.
 */
export async function audiencePatchesWithout(read: ArtifactRangeReader, rows: readonly number[], lists: readonly ErasedLists[]): Promise<ArtifactPatch[] | null> {
  const layout = await artifactLayout(read);
  if (!layout) return [];
  if (layout.header.algorithm !== ALGORITHM || !LAYOUTS.has(layout.header.version)) return null;
  const place = (name: string) => layout.arrays.get(name)!;
  const readInt32 = async (at: ArrayPlace, from: number, to: number) => {
    const bytes = await read(at.offset + from * 4, at.offset + to * 4);
    if (!bytes || bytes.byteLength < (to - from) * 4) throw new Error(`the audience artifact's ${at.type} array was cut short while an erasure read it`);
    return new Int32Array(bytes.slice().buffer, 0, to - from);
  };
  const positionsAt = place('positions');
  const positions = await readInt32(positionsAt, 0, positionsAt.length);
  const found = new Set(rows.map((row) => customerAt(positions, row)).filter((c) => c >= 0));
  if (found.size === 0) return [];
  if (found.size > lists.length) return null;
  const patches: ArtifactPatch[] = [];
  const wipe = async (indptrName: string, usersName: string, items: Iterable<number>, columns: { name: string; bytes: Uint8Array }[]) => {
    const indptrAt = place(indptrName);
    const usersAt = place(usersName);
    const listed = [...new Set(items)].filter((item) => item >= 0 && item + 1 < indptrAt.length);
    const ranges = (await together(listed, (item) => readInt32(indptrAt, item, item + 2))).filter(([from, to]) => to > from);
    // The postings a wave at a time, each wave dropped once its patches are taken: a popular product's postings
    // are every holder's number (345 kB at 100,000 customers), so all of them at once would be tens of MB held.
    for (let r = 0; r < ranges.length; ) {
      let end = r;
      for (let bytes = 0; end < ranges.length && end - r < READS_AT_ONCE && bytes < POSTINGS_BYTES_AT_ONCE; end++) bytes += (ranges[end][1] - ranges[end][0]) * 4;
      const wave = ranges.slice(r, end);
      const postings = await Promise.all(wave.map(([from, to]) => readInt32(usersAt, from, to)));
      r = end;
      wave.forEach(([from], w) => postings[w].forEach((u, k) => {
        if (!found.has(u)) return;
        const p = from + k;
        // The columns before the -1: the store applies a prefix of the patches when it fails between calls, and
        // the retry finds the customer again by their number, so a posting is -1 only with its columns wiped.
        for (const col of columns) {
          const at = place(col.name);
          patches.push({ offset: at.offset + p * col.bytes.byteLength, bytes: col.bytes });
        }
        patches.push({ offset: usersAt.offset + p * 4, bytes: i32(-1) });
      }));
    }
  };
  await wipe('cand_indptr', 'cand_users', lists.flatMap((l) => [...l.candidates]), [
    { name: 'cand_scores', bytes: new Uint8Array(4) },
    // Layout 1's.
    { name: 'cand_anchor', bytes: i32(-1) },
    { name: 'cand_source', bytes: Uint8Array.of(NO_SOURCE) },
  ].filter((col) => layout.arrays.has(col.name)));
  await wipe('buy_indptr', 'buy_users', lists.flatMap((l) => [...l.purchased]), []);
  const customers = [...found];
  const recent = await together(customers, (c) => readInt32(place('recent_indptr'), c, c + 2));
  customers.forEach((c, k) => {
    patches.push({ offset: place('orders').offset + c * 8, bytes: new Uint8Array(8) });
    patches.push({ offset: place('last_ts').offset + c * 8, bytes: new Uint8Array(8) });
    const [from, to] = recent[k];
    if (to > from) {
      patches.push({ offset: place('recent_items').offset + from * 4, bytes: new Uint8Array((to - from) * 4) });
      patches.push({ offset: place('recent_ts').offset + from * 8, bytes: new Uint8Array((to - from) * 8) });
    }
  });
  // Last (layout 2): a customer marked wiped has nothing left, so the catch-up (audienceRowsLeft) skips them.
  if (layout.arrays.has('wiped')) for (const c of customers) patches.push({ offset: place('wiped').offset + c, bytes: Uint8Array.of(1) });
  return patches;
}

/**
 * The training positions of the customers an erasure took out of the version (their id blank in its user index,
 * `readUserIds`) whose postings the artifact (`readAudience`, layout 2) does not mark wiped: those a replica of
 * the release before erased (it knows only layout 1, so it blanked the id and left these postings). From ranged
 * reads of the two headers, the user index's offsets (a blank id is an empty string: ids are 1 character or more),
 * the artifact's positions and its `wiped` bytes (900 kB at 100,000 customers), not the postings. Empty when either
 * artifact is not there or the artifact is layout 1 (the release before erased it itself), also when either is
 * evicted between these reads (an `allkeys-*` maxmemory policy takes the postings first): postings gone hold no
 * customer, and a version's index is then built from its entries, which the erasure deleted. Such an eviction
 * failed the whole catch-up (every version after it unchecked) until the next read of the erasures.
 */
export async function audienceRowsLeft(readAudience: ArtifactRangeReader, readUserIds: ArtifactRangeReader): Promise<number[]> {
  // Each step's reads at once (one round trip to Redis for the two layouts, one for the three arrays): the start's
  // scrub makes this check of every kept version, and each sequential read was a round trip of a slow Redis's.
  // The user index's layout is asked beside the artifact's, and only looked at (its failure too) for a layout-2 artifact.
  const indexRead = artifactLayout(readUserIds);
  indexRead.catch(() => {});
  const layout = await artifactLayout(readAudience);
  if (!layout || layout.header.algorithm !== ALGORITHM || layout.header.version !== 2) return [];
  const index = await indexRead;
  const offsetsAt = index?.arrays.get('offsets');
  if (!offsetsAt || offsetsAt.type !== 'u32') return [];
  /** The array's bytes; null when the artifact is gone (evicted since its layout was read). */
  const readArray = async (read: ArtifactRangeReader, at: ArrayPlace, width: number) => {
    const bytes = await read(at.offset, at.offset + at.length * width);
    if (!bytes) return null;
    // There but shorter: rewritten meanwhile at another length, so the offsets read are stale.
    if (bytes.byteLength < at.length * width) throw new Error(`an artifact's ${at.type} array was cut short while the erasure catch-up read it`);
    return bytes.slice();
  };
  const positionsAt = layout.arrays.get('positions')!;
  const wipedAt = layout.arrays.get('wiped')!;
  const [offsetBytes, positionBytes, wiped] = await Promise.all([readArray(readUserIds, offsetsAt, 4), readArray(readAudience, positionsAt, 4), readArray(readAudience, wipedAt, 1)]);
  if (!offsetBytes || !positionBytes || !wiped) return [];
  const offsets = new Uint32Array(offsetBytes.buffer, 0, offsetsAt.length);
  const positions = new Int32Array(positionBytes.buffer, 0, positionsAt.length);
  const rows: number[] = [];
  for (let c = 0; c < positions.length; c++) {
    const row = positions[c];
    if (wiped[c] === 0 && row + 1 < offsets.length && offsets[row + 1] === offsets[row]) rows.push(row);
  }
  return rows;
}

/**
 * Collects a training's customers as the serving build hands on their users-table rows (in chunks, in any
 * order), decoded as a serving process decodes them and packed, then gives the artifact. `userIds` is the
 * version's user index (its positions are the artifact's customers).
 */
export function audienceCollector(userIds: readonly string[], sourceCount: number) {
  const at = new Map<string, number>();
  userIds.forEach((id, u) => at.set(id, u));
  const chunks: PositionedChunk[] = [];
  return {
    add(rows: readonly (readonly [string, Uint8Array])[]): void {
      const positions = new Int32Array(rows.length);
      const entries = rows.map(([id, bytes], k) => {
        const u = at.get(id);
        if (u === undefined) throw new Error(`audience artifact: customer ${id} is not in the version's user index`);
        positions[k] = u;
        return decodeUserEntry(bytes);
      });
      if (rows.length > 0) chunks.push({ positions, packed: packEntries(entries, sourceCount) });
    },
    artifact: (itemCount: number) => audienceArtifactOf(chunks, itemCount),
  };
}
