import { anchorOf, findAnchors, sourceOf } from './anchor-finder.js';
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
 * Explains picks that have no explanation yet, and were put on the list by more than popularity, by the
 * anchor (a purchase, newest first) most related to them (see findAnchors).
 */
export function explainByAnchors(model: ServingModel, picks: Pick[], anchors: ArrayLike<number>, phrases: Phrases, maxAnchors = 10): void {
  const open = picks.filter((p) => p.explanation === undefined && isPersonal(p.sources));
  if (open.length === 0 || anchors.length === 0) return;
  const codes = findAnchors(model.neighbours, model.items.ids.length, open.map((p) => p.item), anchors, maxAnchors);
  open.forEach((p, k) => {
    if (codes[k] >= 0) p.explanation = phrases[sourceOf(codes[k])]?.(nameOf(model, anchorOf(codes[k])));
  });
}

/** True when a source other than popularity put the item on the list. */
export function isPersonal(sources: readonly string[]): boolean {
  for (let i = 0; i < sources.length; i++) if (sources[i] !== 'popularity') return true;
  return false;
}
