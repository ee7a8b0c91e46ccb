import type { Pick } from './recommendation.js';
import { nameOf } from './recommendation.js';
import { weightedSources, type ServingModel } from './serving-model.js';

/**
 * Recommender families of the similar-items lists, in the order they fill one. Here and below, keys are
 * families (what a source is), never source names: familySource (serving-model.ts) finds the version's
 * source of each.
 */
export const ITEM_SOURCES = ['cooccurrence', 'item-knn', 'content', 'als'] as const;

/** How each item-based family explains an item by a related one. */
export type Phrases = Partial<Record<string, (name: string) => string>>;

export const BECAUSE_YOU_BOUGHT: Phrases = {
  cooccurrence: (x) => `bought together with ${x}`,
  'item-knn': (x) => `because you bought ${x}`,
  content: (x) => `because you bought ${x}`,
  als: (x) => `because you bought ${x}`,
  ease: (x) => `because you bought ${x}`,
};

export const RELATED_TO: Phrases = {
  cooccurrence: (x) => `bought together with ${x}`,
  'item-knn': (x) => `customers who bought ${x} also bought this`,
  content: (x) => `similar to ${x}`,
  // ALS relates items through latent tastes, not pairs of purchases: it does not know who bought both.
  als: (x) => `liked by customers with tastes like buyers of ${x}`,
  ease: (x) => `customers who bought ${x} also bought this`,
};

/**
 * Scores items by the neighbours of anchor items (a cart, a session, the newest purchases):
 *   score(b) = sum over anchors a and families s of  w_a * w_s * sim_s(a, b) / max_b' sim_s(a, b')
 * `familyWeights` and `phrases` are keyed by family (a constant object: its resolution to the version's
 * sources is cached); each family is read from the one source that serves it (familySource), and the
 * picks name that source as the recipe names it.
 * Each anchor's list is divided by its best similarity so sources on different scales mix fairly.
 * Returns picks best first (anchors themselves excluded), each naming the sources that reached it, the
 * dominant one first (the source with the largest summed part of the score), and explained by that
 * source's largest single contribution ("bought together with X" when co-occurrence dominates).
 */
export function scoreByNeighbours(
  model: ServingModel,
  anchors: readonly { item: number; weight: number }[],
  familyWeights: Readonly<Record<string, number>>,
  phrases: Phrases,
): Pick[] {
  const weighted = weightedSources(model, familyWeights);
  const names = weighted.map((w) => w.source);
  /** Per item: total score, source mask, and per source its summed part, best single part and that part's anchor. */
  const acc = new Map<number, { score: number; mask: number; part: Float64Array; best: Float64Array; anchor: Int32Array }>();
  const isAnchor = new Set(anchors.map((a) => a.item));
  for (const { item: a, weight } of anchors) {
    weighted.forEach((w, k) => {
      const t = model.neighbours.get(w.source)!;
      const start = t.indptr[a];
      const end = t.indptr[a + 1];
      if (end <= start || !(t.scores[start] > 0)) return;
      const scale = (weight * w.weight) / t.scores[start];
      for (let p = start; p < end; p++) {
        const b = t.items[p];
        const c = scale * t.scores[p];
        if (!(c > 0) || isAnchor.has(b)) continue;
        let e = acc.get(b);
        if (!e) acc.set(b, (e = { score: 0, mask: 0, part: new Float64Array(names.length), best: new Float64Array(names.length), anchor: new Int32Array(names.length) }));
        e.score += c;
        e.mask |= 1 << k;
        e.part[k] += c;
        if (c > e.best[k]) [e.best[k], e.anchor[k]] = [c, a];
      }
    });
  }
  const sourceSets = new Map<number, string[]>();
  const out: Pick[] = [];
  for (const [item, e] of acc) {
    let d = 0;
    for (let k = 1; k < names.length; k++) if (e.part[k] > e.part[d]) d = k;
    const key = e.mask * 32 + d;
    let sources = sourceSets.get(key);
    if (!sources) sourceSets.set(key, (sources = [names[d], ...names.filter((_, k) => k !== d && e.mask & (1 << k))]));
    out.push({ item, score: e.score, sources, explanation: phrases[weighted[d].family]?.(nameOf(model, e.anchor[d])) });
  }
  return out.sort((x, y) => y.score - x.score || x.item - y.item);
}
