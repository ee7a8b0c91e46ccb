import { roundScore, type Pick, type RecommendedItem } from './recommendation.js';
import { familySource, type ServingModel } from './serving-model.js';

/**
 * Re-ranks `picks` (best first) into `k` items by maximal marginal relevance (Carbonell & Goldstein):
 *   next = argmax_i  lambda * rel(i) - (1 - lambda) * max_{j chosen} sim(i, j),   lambda = 1 - diversity
 * with rel = score / best score and sim = content cosine from the item's stored neighbours (0 when
 * neither lists the other; item-kNN when the model has no content source; sources by family, see
 * familySource). diversity 0 keeps the order.
 * The re-ranked list takes the chosen items' scores in falling order, position by position, so scores
 * never rise down it (a caller sorting by score keeps the diversity asked for).
 */
export function diversify(model: ServingModel, picks: readonly Pick[], k: number, diversity: number): Pick[] {
  return rerank(model, picks, k, diversity);
}

/**
 * The same re-ranking of a list read from Postgres (`GET /v1/popular?windowDays`) by the active model's
 * neighbours: an item the model does not know is similar to nothing.
 */
export function diversifyItems(model: ServingModel, items: readonly RecommendedItem[], k: number, diversity: number): RecommendedItem[] {
  const wrapped = items.map((it) => ({ item: model.items.index.get(it.itemId) ?? -1, score: it.score, it }));
  return rerank(model, wrapped, k, diversity).map((w) => (w.score === w.it.score ? w.it : { ...w.it, score: roundScore(w.score) }));
}

function rerank<T extends { item: number; score: number }>(model: ServingModel, picks: readonly T[], k: number, diversity: number): T[] {
  const source = familySource(model, 'content') ?? familySource(model, 'item-knn');
  const table = source === undefined ? undefined : model.neighbours.get(source);
  if (!(diversity > 0) || picks.length <= 1 || !table) return picks.slice(0, k);
  const n = picks.length;
  const pos = new Map<number, number>();
  picks.forEach((p, i) => pos.set(p.item, i));
  const sim = new Float32Array(n * n);
  for (let a = 0; a < n; a++) {
    const item = picks[a].item;
    if (item < 0) continue;
    for (let p = table.indptr[item]; p < table.indptr[item + 1]; p++) {
      const b = pos.get(table.items[p]);
      if (b === undefined) continue;
      const s = table.scores[p];
      if (s > sim[a * n + b]) sim[a * n + b] = sim[b * n + a] = s;
    }
  }
  let top = 0;
  for (const p of picks) if (p.score > top) top = p.score;
  const lambda = 1 - Math.min(1, diversity);
  const used = new Uint8Array(n);
  const maxSim = new Float32Array(n);
  const out: T[] = [];
  while (out.length < Math.min(k, n)) {
    let best = -1;
    let bestValue = -Infinity;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      const value = lambda * (top > 0 ? picks[i].score / top : 0) - (1 - lambda) * maxSim[i];
      // Strictly greater: ties go to the more relevant (earlier) item.
      if (value > bestValue) [best, bestValue] = [i, value];
    }
    used[best] = 1;
    out.push(picks[best]);
    for (let i = 0; i < n; i++) if (sim[best * n + i] > maxSim[i]) maxSim[i] = sim[best * n + i];
  }
  const scores = out.map((p) => p.score).sort((a, b) => b - a);
  return out.map((p, r) => (p.score === scores[r] ? p : { ...p, score: scores[r] }));
}
