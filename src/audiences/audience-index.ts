/**
 * Audiences: "which customers should we approach for this product?", answered by inverting what the
 * trained models already say about every customer. Each known customer's serving entry holds their
 * best hybrid candidates with the blend's score (and their own purchases, scored by buy-again), so
 *   customers likely to buy item i = customers holding i among their candidates, by blend score.
 * The blend is normalised per customer (every source divided by its best score for that customer), so
 * it says how much i stands out for u rather than how likely u is to buy anything; an optional
 * propensity prior orders^gamma can weigh activity back in (gamma is chosen on a validation split:
 * 0 on Online Retail, see audience-service.ts):
 *   score(u, T) = orders(u)^gamma * sum over targets i in T of blend(u, i)
 * Customers who hold no target among their candidates but bought one of its neighbours (item-kNN,
 * co-occurrence lists) come after all of those, by
 *   orders(u)^gamma * sum over i in T, neighbours j of i that u bought of sim(i, j) / max sim(i, .)
 * scaled into (0, min tier-1 score), so a short candidate list still fills k with related buyers.
 * Pure: the entries come from the model store (serving) or straight from a fit (evaluation).
 */
import type { NeighbourTable } from '../serving/serving-artifacts.js';
import type { UserEntry } from '../serving/user-entry.js';
import { TopKHeap } from '../recommenders/top-k-heap.js';

/**
 * Recommender families whose neighbour lists reach customers of related items in the second tier: the
 * version's source of each (serving-model.ts familySource), whatever the recipe names it.
 */
export const RELATED_FAMILIES = ['item-knn', 'cooccurrence'] as const;

/** One audience member, by index into the index's `userIds`. */
export interface AudienceMember {
  user: number;
  score: number;
  /** `candidate`: the models scored a target for them; `related`: they bought a neighbour of a target. */
  tier: 'candidate' | 'related';
  /** The purchase that connects them to the best-scored target (item index), -1 when none is known. */
  anchor: number;
  /** The target they scored best on. */
  target: number;
  /** For `candidate` members: the source that put the target on their list (its dominant source). */
  source?: string;
}

export interface AudienceQuery {
  /** Item indices of the product(s) or category. */
  targets: readonly number[];
  k: number;
  /** Propensity exponent gamma (0 = pure blend score). */
  gamma: number;
  /**
   * Customers who bought a target at or after this time (epoch ms) are left out; -Infinity leaves out
   * every earlier buyer, null keeps buyers (ranked by their own candidate score: a repurchase).
   */
  excludeBuyersSince: number | null;
  /** Only these customers (segment / lifecycle filters); undefined = everyone. */
  allow?: (user: number) => boolean;
}

/** Every known customer's entry, inverted by item. Immutable once built, so one per model version. */
export interface AudienceIndex {
  userIds: readonly string[];
  entries: readonly UserEntry[];
  itemCount: number;
  /** Candidate postings: customers holding item i are users[indptr[i] .. indptr[i+1]) with their blend score. */
  candidates: { indptr: Int32Array; users: Int32Array; scores: Float32Array; slot: Int32Array };
  /** Buyers of item i: users[indptr[i] .. indptr[i+1]). */
  buyers: { indptr: Int32Array; users: Int32Array };
  /** Neighbour lists of the model, for the second tier and for reasons. */
  neighbours: ReadonlyMap<string, NeighbourTable>;
  /** The sources of RELATED_FAMILIES in this version (their names in its recipe): the second tier's lists. */
  relatedSources: readonly string[];
  /** Source names of the hybrid (bit k of a candidate's source mask). */
  hybridSources: readonly string[];
  /** 1 for a customer taken out since it was built (withoutUser): in no audience, nothing of them kept. */
  gone: Uint8Array;
}

/**
 * Some customers' lists packed end to end, in customer order: customer c of the chunk has the candidates
 * items[o .. o + lengths[c]) with their blend scores, o the sum of the lengths before it, and the purchases
 * likewise. Typed arrays only, so a chunk crosses to a worker thread transferred (audience-index-build.ts).
 */
export interface PackedEntries {
  lengths: Int32Array;
  items: Int32Array;
  scores: Float32Array;
  purchasedLengths: Int32Array;
  purchased: Int32Array;
}

/** The postings of an index: every customer's candidates and purchases, inverted by item. */
export type AudiencePostings = Pick<AudienceIndex, 'candidates' | 'buyers'>;

/** Packs these entries' candidates and purchases (one chunk of the customers, in their order). */
export function packEntries(entries: readonly UserEntry[]): PackedEntries {
  const lengths = new Int32Array(entries.length);
  const purchasedLengths = new Int32Array(entries.length);
  let n = 0;
  let m = 0;
  entries.forEach((e, c) => {
    n += lengths[c] = e.hybrid.items.length;
    m += purchasedLengths[c] = e.purchased.length;
  });
  const out = { lengths, items: new Int32Array(n), scores: new Float32Array(n), purchasedLengths, purchased: new Int32Array(m) };
  n = 0;
  m = 0;
  for (const e of entries) {
    out.items.set(e.hybrid.items, n);
    out.scores.set(e.hybrid.scores.subarray(0, e.hybrid.items.length), n);
    n += e.hybrid.items.length;
    out.purchased.set(e.purchased, m);
    m += e.purchased.length;
  }
  return out;
}

/** Inverts lists given as (lengths, values) chunks; customer numbers run on across the chunks. */
function invert(chunks: readonly { lengths: Int32Array; values: Int32Array; weights?: Float32Array }[], itemCount: number) {
  const indptr = new Int32Array(itemCount + 1);
  for (const { values } of chunks) for (let p = 0; p < values.length; p++) indptr[values[p] + 1]++;
  for (let i = 0; i < itemCount; i++) indptr[i + 1] += indptr[i];
  const fill = indptr.slice(0, itemCount);
  const users = new Int32Array(indptr[itemCount]);
  const slot = new Int32Array(indptr[itemCount]);
  const scores = new Float32Array(chunks.some((c) => c.weights) ? indptr[itemCount] : 0);
  let u = 0;
  for (const { lengths, values, weights } of chunks) {
    let o = 0;
    for (let c = 0; c < lengths.length; c++, u++) {
      for (let p = 0; p < lengths[c]; p++) {
        const at = fill[values[o + p]]++;
        users[at] = u;
        slot[at] = p;
        if (weights) scores[at] = weights[o + p];
      }
      o += lengths[c];
    }
  }
  return { indptr, users, slot, scores };
}

/** The postings of customers packed in chunks (packEntries), customer u being the u-th across the chunks in order. */
export function buildPostings(chunks: readonly PackedEntries[], itemCount: number): AudiencePostings {
  const cand = invert(chunks.map((c) => ({ lengths: c.lengths, values: c.items, weights: c.scores })), itemCount);
  const buy = invert(chunks.map((c) => ({ lengths: c.purchasedLengths, values: c.purchased })), itemCount);
  return { candidates: cand, buyers: { indptr: buy.indptr, users: buy.users } };
}

/** The index over these customers' entries and their postings (built here, or by buildPostings elsewhere). */
export function audienceIndexOf(
  input: Omit<Parameters<typeof buildAudienceIndex>[0], 'entries'> & { entries: readonly UserEntry[] },
  postings: AudiencePostings,
): AudienceIndex {
  return {
    userIds: input.userIds,
    entries: input.entries,
    itemCount: input.itemCount,
    candidates: postings.candidates,
    buyers: postings.buyers,
    neighbours: input.neighbours,
    relatedSources: input.relatedSources,
    hybridSources: input.hybridSources,
    gone: new Uint8Array(input.entries.length),
  };
}

const NO_ENTRY: UserEntry = {
  segment: -1,
  orders: 0,
  lastTs: 0,
  purchased: new Int32Array(0),
  recentItems: new Int32Array(0),
  recentTs: new Float64Array(0),
  hybrid: { items: new Int32Array(0), scores: new Float32Array(0), sourceMask: new Uint32Array(0), dominant: new Uint8Array(0), because: new Int32Array(0) },
};

/**
 * Takes customer u out of the index in place (an erasure): in no audience from now on, their id and entry
 * dropped (its arrays zeroed) and their candidate postings' scores zeroed, so the process keeps nothing of
 * them; their number stays in the buyers' postings, anonymous, and is never eligible. The work is the
 * customer's own lists (and the postings of their candidates), not the index's size.
 */
export function withoutUser(index: AudienceIndex, u: number): void {
  if (!(u >= 0 && u < index.entries.length) || index.gone[u] === 1) return;
  index.gone[u] = 1;
  const e = index.entries[u];
  const { candidates } = index;
  for (const item of e.hybrid.items) {
    if (!(item >= 0 && item < index.itemCount)) continue;
    for (let p = candidates.indptr[item]; p < candidates.indptr[item + 1]; p++) if (candidates.users[p] === u) candidates.scores[p] = 0;
  }
  for (const a of [e.purchased, e.recentItems, e.recentTs, e.hybrid.items, e.hybrid.scores, e.hybrid.sourceMask, e.hybrid.dominant, e.hybrid.because]) a.fill(0);
  (index.entries as UserEntry[])[u] = NO_ENTRY;
  (index.userIds as string[])[u] = '';
}

/** Builds the index over customers' entries (in any order; `userIds[u]` is entry u's customer). */
export function buildAudienceIndex(input: {
  userIds: readonly string[];
  entries: readonly UserEntry[];
  itemCount: number;
  neighbours: ReadonlyMap<string, NeighbourTable>;
  /** The sources of RELATED_FAMILIES (by their names in the version's recipe). */
  relatedSources: readonly string[];
  hybridSources: readonly string[];
}): AudienceIndex {
  return audienceIndexOf(input, buildPostings([packEntries(input.entries)], input.itemCount));
}

/** When user u last bought item i per their entry (their latest distinct purchases carry times). */
function boughtAt(e: UserEntry, item: number): number {
  for (let r = 0; r < e.recentItems.length; r++) if (e.recentItems[r] === item) return e.recentTs[r];
  // Older than every kept recent purchase: at most the oldest of those.
  return e.recentTs.length > 0 ? e.recentTs[e.recentTs.length - 1] : e.lastTs;
}

/** The customers most likely to buy the targets, best first (see the module comment for the score). */
export function rankAudience(index: AudienceIndex, q: AudienceQuery): AudienceMember[] {
  const { entries, candidates, buyers } = index;
  const targets = [...new Set(q.targets)].filter((t) => t >= 0 && t < index.itemCount);
  const excluded = new Set<number>();
  if (q.excludeBuyersSince !== null) {
    for (const t of targets) {
      for (let p = buyers.indptr[t]; p < buyers.indptr[t + 1]; p++) {
        const u = buyers.users[p];
        if (q.excludeBuyersSince === -Infinity || boughtAt(entries[u], t) >= q.excludeBuyersSince) excluded.add(u);
      }
    }
  }
  const eligible = (u: number) => index.gone[u] === 0 && !excluded.has(u) && (q.allow === undefined || q.allow(u));
  const prior = (u: number) => (q.gamma === 0 ? 1 : Math.pow(Math.max(1, entries[u].orders), q.gamma));

  // Tier 1: the blend's own scores of the targets; the reason follows the target scored best.
  const first = new Map<number, AudienceMember & { best: number }>();
  for (const t of targets) {
    for (let p = candidates.indptr[t]; p < candidates.indptr[t + 1]; p++) {
      const u = candidates.users[p];
      const s = candidates.scores[p];
      if (!(s > 0) || !eligible(u)) continue;
      let m = first.get(u);
      if (!m) first.set(u, (m = { user: u, score: 0, tier: 'candidate', anchor: -1, target: t, best: 0 }));
      m.score += s;
      if (s <= m.best) continue;
      const e = entries[u];
      const k = candidates.slot[p];
      m.best = s;
      m.target = t;
      // The source that put the target on the customer's list, and the purchase it relates it to (if any).
      m.anchor = e.hybrid.because[k];
      m.source = index.hybridSources[e.hybrid.dominant[k]] ?? strongestSource(index, e.hybrid.sourceMask[k]);
    }
  }
  const top = new TopKHeap(q.k);
  for (const m of first.values()) {
    m.score *= prior(m.user);
    top.push(m.user, m.score);
  }
  const out: AudienceMember[] = top.result().map((t) => {
    const { best: _best, ...m } = first.get(t.item)!;
    return m;
  });
  if (out.length >= q.k) return out;

  // Tier 2: buyers of the targets' neighbours, below every tier-1 member.
  const floor = out.length > 0 ? out[out.length - 1].score : 1;
  const second = new Map<number, { score: number; anchor: number; best: number; target: number }>();
  for (const t of targets) {
    for (const name of index.relatedSources) {
      const nb = index.neighbours.get(name);
      if (!nb || nb.indptr[t + 1] <= nb.indptr[t]) continue;
      const max = nb.scores[nb.indptr[t]];
      if (!(max > 0)) continue;
      for (let p = nb.indptr[t]; p < nb.indptr[t + 1]; p++) {
        const j = nb.items[p];
        const w = nb.scores[p] / max;
        if (!(w > 0)) continue;
        for (let b = buyers.indptr[j]; b < buyers.indptr[j + 1]; b++) {
          const u = buyers.users[b];
          if (first.has(u) || !eligible(u)) continue;
          const r = second.get(u);
          if (!r) second.set(u, { score: w, anchor: j, best: w, target: t });
          else {
            r.score += w;
            if (w > r.best) [r.best, r.anchor, r.target] = [w, j, t];
          }
        }
      }
    }
  }
  const rest = new TopKHeap(q.k - out.length);
  for (const [u, r] of second) rest.push(u, r.score * prior(u));
  const tail = rest.result();
  const scale = tail.length > 0 ? floor / (2 * tail[0].score) : 1;
  for (const t of tail) {
    const r = second.get(t.item)!;
    out.push({ user: t.item, score: t.score * scale, tier: 'related', anchor: r.anchor, target: r.target });
  }
  return out;
}

function strongestSource(index: AudienceIndex, mask: number): string | undefined {
  for (let k = 0; k < index.hybridSources.length; k++) if (mask & (1 << k)) return index.hybridSources[k];
  return undefined;
}
