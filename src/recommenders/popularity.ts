import { z } from 'zod';
import { ArtifactFormatError, decodeArtifact, encodeArtifact } from './artifact.js';
import type { Dataset } from './dataset.js';
import { decay } from './decay.js';
import { userItemMatrix } from './interactions.js';
import { parseParams } from './parse-params.js';
import type { Neighbour, Recommender, RecommenderFactory, UserContext } from './recommender.js';
import { itemRemap } from './item-remap.js';
import { OwnItems } from './own-items.js';
import { remapPerItem } from './neighbour-lists.js';
import type { SparseScores } from './sparse-scores.js';
import { TopKHeap } from './top-k-heap.js';

/**
 * The fewest distinct buyers an attribute value needs for a popularity list of its own, unless a recipe says
 * otherwise: a value fewer customers have (an e-mail, a loyalty number, a country of one customer) would list
 * those customers' own purchases. Postgres-counted lists (serving/db-popularity.ts) hold such values back too.
 */
export const DEFAULT_MIN_SEGMENT_BUYERS = 20;

const paramsSchema = z.strictObject({
  /** Half-life of a buyer's weight in days; null = plain distinct-buyer counts. */
  halfLifeDays: z.number().positive().nullable().default(90),
  /** User attributes with their own popularity lists for cold start (first matching one wins). */
  attributes: z.array(z.string().min(1)).default(['country']),
  /** Fewest distinct buyers an attribute value needs before its own list is trusted. */
  minSegmentBuyers: z.int().min(1).default(DEFAULT_MIN_SEGMENT_BUYERS),
  /** Shrinks a segment's list towards global: alpha = buyers / (buyers + segmentShrink). */
  segmentShrink: z.number().min(0).default(50),
});
export type PopularityParams = z.output<typeof paramsSchema>;

/** A user attribute value such as `{ name: 'country', value: 'France' }`. */
export interface AttributeValue {
  name: string;
  value: string;
}

interface Segment extends AttributeValue {
  buyers: number;
  scores: Float32Array;
  max: number;
}

/**
 * The segment of someone with these attributes: their value of the first attribute in `order` (the
 * recipe's `attributes`) that has a segment, as `find` knows segments; undefined when none has. The one
 * rule of scoring (segmentFor) and of serving's segment lists (serving-tables.ts findSegment).
 */
export function firstSegment<S>(
  order: readonly string[],
  attributes: Readonly<Record<string, unknown>>,
  find: (name: string, value: string) => S | undefined,
): S | undefined {
  for (const name of order) {
    const value = attributes[name];
    const s = typeof value === 'string' ? find(name, value) : undefined;
    if (s !== undefined) return s;
  }
  return undefined;
}

/** Popularity with segment lists; serving calls `popularItems` for `GET /v1/popular`. */
export interface PopularityRecommender extends Recommender {
  /** Its parameters: the attributes' order decides a customer's segment, the half-life tells a trend. */
  readonly params: Readonly<PopularityParams>;
  /**
   * Top-k popular items, best first, scored as `scoreUser` would for a visitor with only this
   * attribute: the segment's list blended with global when the segment has enough buyers, else global.
   */
  popularItems(attr: AttributeValue | undefined, k: number): Neighbour[];
  /** Distinct buyers behind a segment's list, 0 when it has none (too few buyers or unknown). */
  segmentBuyers(attr: AttributeValue): number;
  /**
   * The global list's part of a segment's scores: popularItems(attr) scores an item (1 - a) x its global
   * score (popularItems without attr) + a x its share of the segment's best, a = buyers / (buyers + shrink).
   * 1 for a segment without a list of its own.
   */
  segmentGlobalPart(attr: AttributeValue): number;
}

const ALGORITHM = 'popularity';
const VERSION = 1;
const segmentKey = (name: string, value: string) => `${name}\u0000${value}`;
const maxOf = (a: Float32Array) => a.reduce((m, v) => (v > m ? v : m), 0);

function createPopularity(
  params: PopularityParams,
  itemIds: readonly string[],
  global: Float32Array,
  segments: Omit<Segment, 'max'>[],
): PopularityRecommender {
  const globalMax = maxOf(global);
  const byKey = new Map<string, Segment>();
  for (const s of segments) byKey.set(segmentKey(s.name, s.value), { ...s, max: maxOf(s.scores) });

  /** The user's first attribute (in params order) whose value has its own list. */
  const segmentFor = (attributes: Record<string, string>) => firstSegment(params.attributes, attributes, (name, value) => byKey.get(segmentKey(name, value)));

  // Both lists are divided by their maximum so the blend mixes like with like; scores lie in [0, 1].
  const alphaOf = (s: Segment | undefined) => (s ? s.buyers / (s.buyers + params.segmentShrink) : 0);
  /** The user's scores: item i scores g x global[i] + a x segment[i] (a = 0 without a segment). */
  const mixOf = (attributes: Record<string, string>) => {
    const s = segmentFor(attributes);
    const alpha = alphaOf(s);
    return { segment: s?.scores, g: globalMax > 0 ? (1 - alpha) / globalMax : 0, a: s && s.max > 0 ? alpha / s.max : 0 };
  };
  const scoreOf = ({ segment, g, a }: ReturnType<typeof mixOf>, i: number) => g * global[i] + (segment ? a * segment[i] : 0);
  const score = (attributes: Record<string, string>, out: Float32Array) => {
    const mix = mixOf(attributes);
    for (let i = 0; i < out.length; i++) out[i] = scoreOf(mix, i);
  };

  // Each segment's best items (the global list under key null), computed once per segment and depth
  // (a deeper list is asked for when a customer's own items fill the top: at least twice the last depth,
  // so a run of ever larger purchase histories scores the catalogue a few times, not once per customer).
  const tops = new Map<Segment | null, { limit: number; top: Neighbour[] }>();
  const topOf = (attributes: Record<string, string>, limit: number) => {
    const s = segmentFor(attributes) ?? null;
    let cached = tops.get(s);
    if (!cached || cached.limit < limit) {
      const depth = cached ? Math.max(limit, 2 * cached.limit) : limit;
      const out = new Float32Array(global.length);
      score(s ? { [s.name]: s.value } : {}, out);
      const heap = new TopKHeap(depth);
      for (let i = 0; i < out.length; i++) if (out[i] > 0) heap.push(i, out[i]);
      tops.set(s, (cached = { limit: depth, top: heap.result() }));
    }
    return cached.top;
  };
  const own = new OwnItems();

  return {
    name: ALGORITHM,
    params,
    scoreUser(ctx: UserContext, out: Float32Array) {
      score(ctx.attributes, out);
    },
    /** The `limit` most popular items of the user's segment they have not bought, and their own items (as scored by scoreUser). */
    scoreSparse(ctx: UserContext, out: SparseScores, limit: number) {
      own.mark(ctx.history, global.length);
      const top = topOf(ctx.attributes, limit + own.items.length);
      for (let r = 0, kept = 0; r < top.length && kept < limit; r++) {
        if (own.mask[top[r].item] === 1) continue;
        out.set(top[r].item, top[r].score);
        kept++;
      }
      const mix = mixOf(ctx.attributes);
      for (const i of own.items) {
        const v = Math.fround(scoreOf(mix, i));
        if (v > 0) out.set(i, v);
      }
    },
    popularItems(attr, k) {
      const out = new Float32Array(global.length);
      score(attr ? { [attr.name]: attr.value } : {}, out);
      const top = new TopKHeap(k);
      for (let i = 0; i < out.length; i++) if (out[i] > 0) top.push(i, out[i]);
      return top.result();
    },
    segmentBuyers(attr) {
      return byKey.get(segmentKey(attr.name, attr.value))?.buyers ?? 0;
    },
    segmentGlobalPart(attr) {
      return 1 - alphaOf(byKey.get(segmentKey(attr.name, attr.value)));
    },
    toArtifact() {
      const all = new Float32Array(segments.length * global.length);
      segments.forEach((s, j) => all.set(s.scores, j * global.length));
      return encodeArtifact(
        {
          algorithm: ALGORITHM,
          version: VERSION,
          trainedAt: new Date().toISOString(),
          params,
          meta: { itemIds, segments: segments.map(({ name, value, buyers }) => ({ name, value, buyers })) },
        },
        { global, segments: all },
      );
    },
  };
}

/**
 * Fits popularity. An item's score is its number of distinct buyers, each weighted by how recently
 * they last bought it: score(i) = sum over buyers u of 0.5^((now - lastTs(u,i)) / halfLife).
 * Counting buyers rather than units keeps one wholesaler buying 500 pieces from outweighing 50 shoppers.
 * The same sum restricted to users with attribute value v gives the segment list of v.
 */
function fit(ds: Dataset, params: PopularityParams): PopularityRecommender {
  const m = userItemMatrix(ds);
  const itemCount = ds.itemIds.length;
  const global = new Float32Array(itemCount);
  const groups = new Map<string, { name: string; value: string; users: number[] }>();
  for (let u = 0; u < m.rows; u++) {
    if (m.indptr[u] === m.indptr[u + 1]) continue;
    for (let k = m.indptr[u]; k < m.indptr[u + 1]; k++) global[m.indices[k]] += decay(ds.now, m.lastTs[k], params.halfLifeDays);
    for (const name of params.attributes) {
      const value = ds.userAttributes[u]?.[name];
      if (value === undefined) continue;
      const key = segmentKey(name, value);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { name, value, users: [] }));
      g.users.push(u);
    }
  }
  const segments: Omit<Segment, 'max'>[] = [];
  // Sorted so the artifact (and any tie-breaking) does not depend on Map insertion order.
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!;
    if (g.users.length < params.minSegmentBuyers) continue;
    const scores = new Float32Array(itemCount);
    for (const u of g.users) {
      for (let k = m.indptr[u]; k < m.indptr[u + 1]; k++) scores[m.indices[k]] += decay(ds.now, m.lastTs[k], params.halfLifeDays);
    }
    segments.push({ name: g.name, value: g.value, buyers: g.users.length, scores });
  }
  return createPopularity(params, [...ds.itemIds], global, segments);
}

function fromArtifact(bytes: Uint8Array, ds: Pick<Dataset, 'itemIds'>): PopularityRecommender {
  const { header, arrays } = decodeArtifact(bytes, { algorithm: ALGORITHM, version: VERSION });
  const params = parseParams(ALGORITHM, paramsSchema, header.params);
  const meta = header.meta as { itemIds: string[]; segments: { name: string; value: string; buyers: number }[] };
  const n = meta.itemIds.length;
  const { global, segments: all } = arrays;
  if (!(global instanceof Float32Array) || global.length !== n || !(all instanceof Float32Array) || all.length !== meta.segments.length * n) {
    throw new ArtifactFormatError('popularity artifact: arrays do not match the header');
  }
  // Items added to the catalogue since training score 0; removed ones disappear.
  const map = itemRemap(meta.itemIds, ds.itemIds);
  const segments = meta.segments.map((s, j) => ({ ...s, scores: remapPerItem(all.slice(j * n, (j + 1) * n), map) }));
  return createPopularity(params, [...ds.itemIds], remapPerItem(global, map), segments);
}

/** Time-decayed distinct-buyer popularity, globally and per user attribute value (cold start). */
export const popularityFactory = {
  name: ALGORITHM,
  parseParams: (raw: unknown) => parseParams(ALGORITHM, paramsSchema, raw),
  fit,
  fromArtifact,
} satisfies RecommenderFactory<PopularityParams>;

/** Narrows a fitted recommender (e.g. one loaded by name from a model version) to popularity. */
export function isPopularityRecommender(r: Recommender): r is PopularityRecommender {
  return r.name === ALGORITHM && typeof (r as Partial<PopularityRecommender>).popularItems === 'function';
}
