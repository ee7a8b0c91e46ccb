import type { Pick } from './recommendation.js';
import { nameOf } from './recommendation.js';
import type { ServingModel } from './serving-model.js';

/** Item-based sources, in the order an explanation prefers them. */
export const ITEM_SOURCES = ['cooccurrence', 'item-knn', 'content', 'als'] as const;

/** How each item-based source explains an item by a related one. */
export type Phrases = Partial<Record<string, (name: string) => string>>;

export const BECAUSE_YOU_BOUGHT: Phrases = {
  cooccurrence: (x) => `bought together with ${x}`,
  'item-knn': (x) => `because you bought ${x}`,
  content: (x) => `because you bought ${x}`,
  als: (x) => `because you bought ${x}`,
};

export const RELATED_TO: Phrases = {
  cooccurrence: (x) => `bought together with ${x}`,
  'item-knn': (x) => `customers who bought ${x} also bought this`,
  content: (x) => `similar to ${x}`,
  als: (x) => `customers who bought ${x} also bought this`,
};

/**
 * Scores items by the neighbours of anchor items (a cart, a session, the newest purchases):
 *   score(b) = sum over anchors a and sources s of  w_a * w_s * sim_s(a, b) / max_b' sim_s(a, b')
 * Each anchor's list is divided by its best similarity so sources on different scales mix fairly.
 * Returns picks best first (anchors themselves excluded), each naming the sources that reached it and
 * explained by the single largest contribution ("bought together with X").
 */
export function scoreByNeighbours(
  model: ServingModel,
  anchors: readonly { item: number; weight: number }[],
  sourceWeights: Readonly<Record<string, number>>,
  phrases: Phrases,
): Pick[] {
  const acc = new Map<number, { score: number; mask: number; best: number; anchor: number; source: string }>();
  const names = Object.keys(sourceWeights).filter((s) => model.neighbours.has(s));
  const isAnchor = new Set(anchors.map((a) => a.item));
  for (const { item: a, weight } of anchors) {
    names.forEach((name, k) => {
      const t = model.neighbours.get(name)!;
      const start = t.indptr[a];
      const end = t.indptr[a + 1];
      if (end <= start || !(t.scores[start] > 0)) return;
      const scale = (weight * sourceWeights[name]) / t.scores[start];
      for (let p = start; p < end; p++) {
        const b = t.items[p];
        const c = scale * t.scores[p];
        if (!(c > 0) || isAnchor.has(b)) continue;
        const e = acc.get(b);
        if (!e) acc.set(b, { score: c, mask: 1 << k, best: c, anchor: a, source: name });
        else {
          e.score += c;
          e.mask |= 1 << k;
          if (c > e.best) Object.assign(e, { best: c, anchor: a, source: name });
        }
      }
    });
  }
  const sourceSets = new Map<number, string[]>();
  const out: Pick[] = [];
  for (const [item, e] of acc) {
    let sources = sourceSets.get(e.mask);
    if (!sources) sourceSets.set(e.mask, (sources = names.filter((_, k) => e.mask & (1 << k))));
    out.push({ item, score: e.score, sources, explanation: phrases[e.source]?.(nameOf(model, e.anchor)) });
  }
  return out.sort((x, y) => y.score - x.score || x.item - y.item);
}

/**
 * Sources whose neighbour lists are evidence for "because you bought X": items really bought together
 * (co-occurrence), by the same buyers (item-kNN) or alike (content). ALS cosines are left out: on latent
 * factors nearly everything is a little similar to everything, which would name arbitrary purchases.
 */
const EVIDENCE = ['cooccurrence', 'item-knn', 'content'] as const;

/**
 * Explains picks that have no explanation yet, and were put on the list by more than popularity, by the
 * anchor (a purchase, newest first) most related to them: the best of sim(anchor, item) / best sim of
 * the anchor's list, discounted by 1 / (1 + 0.2 r) for the r-th newest anchor, over the evidence sources.
 * Cost: anchors x sources x stored neighbours map lookups.
 */
export function explainByAnchors(model: ServingModel, picks: Pick[], anchors: ArrayLike<number>, phrases: Phrases, maxAnchors = 10): void {
  const wanted = new Map<number, number>();
  picks.forEach((p, i) => {
    if (p.explanation === undefined && p.sources.some((s) => s !== 'popularity')) wanted.set(p.item, i);
  });
  if (wanted.size === 0) return;
  const best = new Map<number, { value: number; anchor: number; source: string }>();
  const tables = EVIDENCE.filter((s) => model.neighbours.has(s));
  for (let r = 0; r < Math.min(anchors.length, maxAnchors); r++) {
    const anchor = anchors[r];
    const recency = 1 / (1 + 0.2 * r);
    for (const source of tables) {
      const t = model.neighbours.get(source)!;
      const start = t.indptr[anchor];
      const top = t.scores[start];
      if (!(top > 0)) continue;
      for (let p = start; p < t.indptr[anchor + 1]; p++) {
        const item = t.items[p];
        if (!wanted.has(item)) continue;
        const value = (recency * t.scores[p]) / top;
        const seen = best.get(item);
        if (!seen || value > seen.value) best.set(item, { value, anchor, source });
      }
    }
  }
  for (const [item, b] of best) {
    const i = wanted.get(item)!;
    picks[i] = { ...picks[i], explanation: phrases[b.source]?.(nameOf(model, b.anchor)) };
  }
}
