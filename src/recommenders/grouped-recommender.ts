/**
 * A population-sensitive recommender family learning per product group where the catalogue has groups
 * (group-dataset.ts): fitted on the dataset whose items are the groups, each group's score then goes to
 * the one variant that shows it (its best-selling available one, group-dataset.ts), so a style's sales split over ten sizes count as
 * the style's, and a list of candidates holds one variant per style. On a catalogue without groups the
 * family fits exactly as it did (the same model, the same artifact bytes). Pure: no IO.
 *
 * `perGroup` in a source's params says whether it learns per group when the dataset has groups; absent, the
 * family's default (registry.ts: ALS and EASE per product, as the fashion shop's validation window chose). The variant shown is the group's best-selling available one, not the customer's own size; serving lists a sibling in its place when it cannot list it (src/serving/picker.ts).
 */
import { ArtifactFormatError, artifactLayout, decodeArtifact, encodeArtifact } from './artifact.js';
import type { Dataset } from './dataset.js';
import { groupDataset, groupMapOf, type GroupMap } from './group-dataset.js';
import { itemRemap } from './item-remap.js';
import { AppError } from '../errors.js';
import type { BoughtTogether, CooccurrenceRecommender } from './cooccurrence.js';
import type { FitContext, HistoryEntry, Neighbour, Recommender, RecommenderFactory, UserContext } from './recommender.js';
import { SparseScores } from './sparse-scores.js';

const ALGORITHM = 'grouped';
const VERSION = 1;
const ARTIFACT = { algorithm: ALGORITHM, version: VERSION };

/** The group map and the ids the model was fitted on (its artifact keeps both). */
interface GroupModelMap extends GroupMap {
  itemIds: readonly string[];
}

/** The model of `inner`, fitted on the group dataset of `map`, scoring the items of `map`. */
export class GroupedRecommender implements Recommender {
  readonly name: string;
  readonly forgetUsers?: (rows: ReadonlySet<number>) => void;
  private readonly dense: Float32Array;
  private readonly sparse: SparseScores;
  private readonly candidates: SparseScores;
  /** similarItems per key, with the k it was asked for. */
  private readonly similar = new Map<number, { k: number; list: Neighbour[] }>();
  /** Present when the inner model is co-occurrence: its pairs of groups, each as the variant that shows it. */
  readonly boughtTogether?: (item: number, k: number) => BoughtTogether[];
  /**
   * Present when the inner model ranks pools (ALS): the pool's groups ranked by the item's group, each as
   * the variant that shows it, so serving's neighbour tables of a large catalogue cost items x pool, not
   * groups x groups (serving-tables.ts).
   */
  readonly similarAmong?: (item: number, pool: readonly number[], k: number) => Neighbour[];

  constructor(
    readonly inner: Recommender,
    private readonly map: GroupModelMap,
  ) {
    this.name = inner.name;
    this.dense = new Float32Array(map.count);
    this.sparse = new SparseScores(map.count);
    this.candidates = new SparseScores(map.count);
    if (inner.forgetUsers) this.forgetUsers = (rows) => inner.forgetUsers!(rows);
    if (!inner.scoreSparse) this.scoreSparse = undefined;
    if (!inner.scoreCandidates) this.scoreCandidates = undefined;
    if (!inner.similarItems) this.similarItems = undefined;
    this.similarAmong = this.poolRanking(inner);
    const pairs = (inner as Partial<CooccurrenceRecommender>).boughtTogether;
    if (typeof pairs === 'function') {
      this.boughtTogether = (item, k) => {
        const key = this.keyOf(item);
        if (key < 0) return [];
        const out: BoughtTogether[] = [];
        for (const p of pairs.call(inner, key, k)) if (map.shown[p.item] >= 0 && p.item !== key) out.push({ ...p, item: map.shown[p.item] });
        return out;
      };
    }
  }

  private poolRanking(inner: Recommender): ((item: number, pool: readonly number[], k: number) => Neighbour[]) | undefined {
    const among = (inner as { similarAmong?: (item: number, pool: readonly number[], k: number) => Neighbour[] }).similarAmong;
    if (typeof among !== 'function') return undefined;
    return (item, pool, k) => {
      const key = this.keyOf(item);
      if (key < 0) return [];
      const keys = [...new Set(pool.map((i) => this.keyOf(i)))].filter((g) => g >= 0 && g !== key);
      const out: Neighbour[] = [];
      for (const n of among.call(inner, key, keys, k)) if (this.map.shown[n.item] >= 0) out.push({ item: this.map.shown[n.item], score: n.score });
      return out;
    };
  }

  private keyOf(item: number): number {
    return Number.isInteger(item) && item >= 0 && item < this.map.key.length ? this.map.key[item] : -1;
  }

  /** The context with each history item as its group's key (items the map does not know are left out). */
  private groupContext(ctx: UserContext): UserContext {
    const history: HistoryEntry[] = [];
    for (const h of ctx.history) {
      const k = this.keyOf(h.item);
      if (k >= 0) history.push({ item: k, ts: h.ts, quantity: h.quantity, order: h.order });
    }
    return { ...ctx, history };
  }

  scoreUser(ctx: UserContext, out: Float32Array): void {
    this.inner.scoreUser(this.groupContext(ctx), this.dense);
    out.fill(0);
    const { shown } = this.map;
    for (let k = 0; k < shown.length; k++) if (shown[k] >= 0 && shown[k] < out.length) out[shown[k]] = this.dense[k];
  }

  scoreSparse?(ctx: UserContext, out: SparseScores, limit: number): void {
    const g = this.sparse;
    g.clear();
    this.inner.scoreSparse!(this.groupContext(ctx), g, limit);
    this.spread(g, out);
  }

  scoreCandidates?(ctx: UserContext, items: SparseScores, out: SparseScores): void {
    const { shown } = this.map;
    const asked = this.candidates;
    asked.clear();
    for (let p = 0; p < items.size; p++) {
      const i = items.item(p);
      const k = this.keyOf(i);
      // Only the variant that shows a group gets its score (as scoreUser gives it).
      if (k >= 0 && shown[k] === i) asked.set(k, 1);
    }
    const g = this.sparse;
    g.clear();
    this.inner.scoreCandidates!(this.groupContext(ctx), asked, g);
    this.spread(g, out);
  }

  /** Sets each key's score on the variant that shows it. */
  private spread(g: SparseScores, out: SparseScores): void {
    const { shown } = this.map;
    for (let p = 0; p < g.size; p++) {
      const k = g.item(p);
      if (shown[k] >= 0) out.set(shown[k], g.values[k]);
    }
  }

  /** The item's group's neighbour groups, each as the variant that shows it (computed once per group). */
  similarItems?(item: number, k: number): Neighbour[] {
    const key = this.keyOf(item);
    if (key < 0) return [];
    let known = this.similar.get(key);
    if (known === undefined || known.k < k) {
      const list: Neighbour[] = [];
      for (const n of this.inner.similarItems!(key, k)) {
        const shown = this.map.shown[n.item];
        if (shown >= 0 && n.item !== key) list.push({ item: shown, score: n.score });
      }
      this.similar.set(key, (known = { k, list }));
    }
    return known.list.slice(0, k);
  }

  toArtifact(): Uint8Array {
    const { itemIds, key, shown } = this.map;
    return encodeArtifact(
      { ...ARTIFACT, trainedAt: new Date().toISOString(), meta: { itemIds: [...itemIds], inner: this.inner.name } },
      { key, shown, inner: this.inner.toArtifact() },
    );
  }
}

/** The algorithm an artifact names in its header (undefined for bytes that are not an artifact). */
function algorithmOf(bytes: Uint8Array): string | undefined {
  try {
    if (bytes.byteLength < 10) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const length = view.getUint32(6, true);
    const match = /"algorithm":"([^"]*)"/.exec(new TextDecoder().decode(bytes.subarray(10, Math.min(10 + length, 200))));
    return match?.[1];
  } catch {
    return undefined;
  }
}

/** A grouped artifact's parts: the fitted map (by the ids it was fitted on) and the inner model's bytes. */
function decodeGrouped(bytes: Uint8Array): { map: GroupModelMap; inner: Uint8Array } {
  const { header, arrays } = decodeArtifact(bytes, ARTIFACT);
  const meta = header.meta as { itemIds?: unknown };
  const { key, shown, inner } = arrays;
  if (!Array.isArray(meta?.itemIds) || !(key instanceof Int32Array) || !(shown instanceof Int32Array) || !(inner instanceof Uint8Array) || key.length !== meta.itemIds.length) {
    throw new ArtifactFormatError('grouped artifact: bad layout');
  }
  return { map: { itemIds: meta.itemIds as string[], key, shown, count: shown.length }, inner };
}

/** The fitted map re-indexed onto `current` ids: new items are in no key; a key whose shown variant is gone shows its first variant left. */
function remapGroups(map: GroupModelMap, current: readonly string[]): GroupModelMap {
  const remap = itemRemap(map.itemIds, current);
  if (!remap) return map;
  const key = Int32Array.from(remap, (old) => (old >= 0 ? map.key[old] : -1));
  const at = new Map<number, number>();
  remap.forEach((old, i) => old >= 0 && at.set(old, i));
  const shown = Int32Array.from(map.shown, (old) => at.get(old) ?? -1);
  for (let i = 0; i < key.length; i++) if (key[i] >= 0 && shown[key[i]] < 0) shown[key[i]] = i;
  return { itemIds: current, key, shown, count: map.count };
}

/** Whether a family's params ask for per-product learning (`perGroup: false`); the flag is not the family's own. */
const splitParams = (params: unknown, byDefault: boolean): { perGroup: boolean; own: unknown } => {
  if (params === null || typeof params !== 'object' || !('perGroup' in params)) return { perGroup: byDefault, own: params };
  const { perGroup, ...own } = params as { perGroup: unknown };
  return { perGroup: perGroup === true, own };
};

/**
 * `factory` learning per group where the dataset has groups. Its params take `perGroup` (boolean; absent =
 * `byDefault`, true unless given) beside the family's own; its artifacts are the family's own when fitted per product, and always with
 * `asOwnFamily` (for a family whose scores do not depend on the customer's history: popularity).
 */
export function learningPerGroup<P>(factory: RecommenderFactory<P>, opts: { asOwnFamily?: boolean; byDefault?: boolean } = {}): RecommenderFactory<P> {
  const byDefault = opts.byDefault ?? true;
  const out: RecommenderFactory<P> = {
    name: factory.name,
    parseParams(raw: unknown): P {
      if (raw === null || typeof raw !== 'object' || !('perGroup' in raw)) return factory.parseParams(raw);
      const { perGroup, ...own } = raw as { perGroup: unknown };
      if (typeof perGroup !== 'boolean') {
        const message = `${factory.name}.perGroup: expected a boolean (false learns per product where the catalogue has groups)`;
        throw new AppError('INVALID_RECIPE', message, [message]);
      }
      return { ...(factory.parseParams(own) as object), perGroup } as P;
    },
    fit(ds: Dataset, params: P, ctx?: FitContext): Recommender {
      const { perGroup, own } = splitParams(params, byDefault);
      const map = perGroup ? groupMapOf(ds) : undefined;
      if (!map) return factory.fit(ds, own as P, ctx);
      // A source that scores no history (popularity) is its own family again: the groups' scores on the
      // variants that show them, by loading the group model onto the items by id (the shown variant has
      // its group's id there), so serving's popular tables read it as any popularity source.
      if (opts.asOwnFamily) return factory.fromArtifact(factory.fit(groupDataset(ds, map), own as P, ctx).toArtifact(), ds);
      return new GroupedRecommender(factory.fit(groupDataset(ds, map), own as P, ctx), { ...map, itemIds: ds.itemIds });
    },
    fromArtifact(bytes: Uint8Array, ds: Pick<Dataset, 'itemIds'>): Recommender {
      if (algorithmOf(bytes) !== ALGORITHM) return factory.fromArtifact(bytes, ds);
      const { map, inner } = decodeGrouped(bytes);
      const fitted = Array.from(map.shown, (i) => map.itemIds[i]);
      return new GroupedRecommender(factory.fromArtifact(inner, { itemIds: fitted }), remapGroups(map, ds.itemIds));
    },
  };
  if (factory.withoutUsers) {
    const without = factory.withoutUsers.bind(factory);
    out.withoutUsers = (bytes, rows) => {
      if (algorithmOf(bytes) !== ALGORITHM) return without(bytes, rows);
      const { header } = decodeArtifact(bytes, ARTIFACT);
      const { map, inner } = decodeGrouped(bytes);
      const wiped = without(inner, rows);
      return wiped && encodeArtifact(header, { key: map.key, shown: map.shown, inner: wiped });
    };
  }
  if (factory.rowPatches) {
    const patches = factory.rowPatches.bind(factory);
    // The family's own artifact, or a grouped one holding it whole as its `inner` array: patched there.
    out.rowPatches = async (read, rows) => {
      const layout = await artifactLayout(read);
      if (!layout) return null;
      if (layout.header.algorithm !== ALGORITHM) return patches(read, rows);
      if (layout.header.version !== VERSION) return null;
      const inner = layout.arrays.get('inner');
      if (inner?.type !== 'u8') return null;
      const end = inner.offset + inner.length;
      const readInner = (start: number, stop: number) => read(inner.offset + start, Math.min(end, inner.offset + stop));
      const found = await patches(readInner, rows);
      return found && found.map(({ offset, bytes }) => ({ offset: inner.offset + offset, bytes }));
    };
  }
  return out;
}
