import type { NeighbourTable, PopularSegment } from '../../../src/serving/serving-artifacts.js';
import { AnswerCache } from '../../../src/serving/answer-cache.js';
import { EntryCache } from '../../../src/serving/entry-cache.js';
import type { ServingModel } from '../../../src/serving/serving-model.js';

export interface FixtureItem {
  id: string;
  title?: string;
  price?: number;
  categories?: string[];
  available?: boolean;
}

/** Neighbour lists from { item: [[neighbour, score], ...] } (best first), by item id. */
export function table(ids: string[], lists: Record<string, [string, number][]>): NeighbourTable {
  const indptr = new Int32Array(ids.length + 1);
  const items: number[] = [];
  const scores: number[] = [];
  ids.forEach((id, i) => {
    for (const [n, s] of lists[id] ?? []) {
      items.push(ids.indexOf(n));
      scores.push(s);
    }
    indptr[i + 1] = items.length;
  });
  return { indptr, items: Int32Array.from(items), scores: Float32Array.from(scores) };
}

/** A hand-made serving model: items in popularity order (first = most popular), optional tables and segments. */
export function fixtureModel(
  items: FixtureItem[],
  opts: { neighbours?: Record<string, Record<string, [string, number][]>>; segments?: { name: string; value: string; items: string[] }[] } = {},
): ServingModel {
  const ids = items.map((i) => i.id);
  const neighbours = new Map(Object.entries(opts.neighbours ?? {}).map(([name, lists]) => [name, table(ids, lists)]));
  const segments: PopularSegment[] = (opts.segments ?? []).map((s) => ({
    ...s,
    buyers: 10,
    items: Int32Array.from(s.items, (id) => ids.indexOf(id)),
    scores: Float32Array.from(s.items, (_, r) => 1 - r / s.items.length),
  }));
  return {
    meta: { version: 'v-test', recipe: 'test', trainedAt: new Date().toISOString(), info: {} },
    erasures: 0,
    erased: new Set(),
    info: { strategies: ['hybrid'], hybridSources: [], candidates: 10, now: 0 },
    items: {
      ids,
      index: new Map(ids.map((id, i) => [id, i])),
      titles: items.map((i) => i.title ?? ''),
      available: Uint8Array.from(items, (i) => (i.available === false ? 0 : 1)),
      price: Float64Array.from(items, (i) => i.price ?? Number.NaN),
      categories: items.map((i) => i.categories ?? []),
    },
    neighbours,
    popular: {
      score: Float32Array.from(items, (_, r) => items.length - r),
      order: Int32Array.from(ids.keys()),
      segments,
    },
    segmentIndex: new Map(segments.map((s, k) => [`${s.name}\u0000${s.value}`, k])),
    sourceSets: new Map(),
    entries: new EntryCache(1 << 20),
    answers: new AnswerCache(),
  };
}
