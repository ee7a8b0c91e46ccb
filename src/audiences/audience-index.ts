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
  /**
   * A `candidate` member of an index whose postings carry no anchors and sources (the stored postings,
   * audience-artifact.ts): `anchor` and `source` are to be read from the customer's entry (explainMember).
   */
  unexplained?: true;
  /**
   * An `unexplained` member whose entry the model store no longer holds although the version is listed and the
   * customer not erased (the users table evicted, a shard restarted empty): ranked as usual, no anchor or source
   * known (audience-service.ts explainedMembers), and the answer is marked `fallback`.
   */
  entryLost?: true;
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

/** `source` of a candidate posting whose list names no source of the version. */
export const NO_SOURCE = 255;

/**
 * Candidate postings: customers holding item i are users[indptr[i] .. indptr[i+1]), each with the blend's
 * score of i on their list, the purchase it relates i to (`anchor`, -1 when none: the entry's `because`) and
 * the source that put it there (index into the version's hybrid sources: the entry's dominant source, else the
 * first in its source mask; NO_SOURCE when none). A customer taken out (withoutUser) is -1 in `users`.
 */
export interface CandidatePostings {
  indptr: Int32Array;
  users: Int32Array;
  scores: Float32Array;
  /**
   * Absent in the stored postings (audience-artifact.ts): 5 of a posting's 13 bytes, needed only for the k
   * members an audience returns, whose entries give them (explainMember).
   */
  anchor?: Int32Array;
  source?: Uint8Array;
}

/** What ranking reads of each customer besides the postings: their orders, and their latest purchases with times. */
export interface CustomerColumns {
  orders: Float64Array;
  lastTs: Float64Array;
  /** Customer u's latest distinct purchases, newest first: items[indptr[u] .. indptr[u+1]) bought at ts[...]. */
  recent: { indptr: Int32Array; items: Int32Array; ts: Float64Array };
}

/** Every known customer's entry, inverted by item. One per model version; an erasure takes a customer out in place. */
export interface AudienceIndex {
  userIds: readonly string[];
  itemCount: number;
  candidates: CandidatePostings;
  /** Buyers of item i: users[indptr[i] .. indptr[i+1]) (-1 for a customer taken out). */
  buyers: { indptr: Int32Array; users: Int32Array };
  customers: CustomerColumns;
  /** Neighbour lists of the model, for the second tier and for reasons. */
  neighbours: ReadonlyMap<string, NeighbourTable>;
  /** The sources of RELATED_FAMILIES in this version (their names in its recipe): the second tier's lists. */
  relatedSources: readonly string[];
  /** Source names of the hybrid (`source` of a candidate posting indexes them). */
  hybridSources: readonly string[];
  /** 1 for a customer taken out since it was built (withoutUser): in no audience, nothing of them kept. */
  gone: Uint8Array;
  /** Where each customer's postings are (for withoutUser): built after the index's first erasure, undefined before. */
  own?: CustomerPostings;
}

/**
 * Each customer's places in the postings: candidate postings cand[indptr[u] .. indptr[u+1]) and buyer postings
 * buy[buyIndptr[u] .. buyIndptr[u+1]). 4 bytes a posting (73.5 MB at 100,000 customers), built once per index
 * after its first erasure (one pass to count, one to fill: buildCustomerPostings), so each erasure after it touches
 * only the customer's own postings instead of scanning all of them (18.2 million at 100,000 customers: 39 ms of
 * the serving thread per erasure on a loaded machine; bench/README.md).
 */
export interface CustomerPostings {
  indptr: Int32Array;
  cand: Int32Array;
  buyIndptr: Int32Array;
  buy: Int32Array;
}

/** Postings counted or filled between two yields of buildCustomerPostings. */
export const PLACES_STRETCH = 1 << 18;

function* placesOf(users: Int32Array, customers: number, stretch: number): Generator<void, { indptr: Int32Array; at: Int32Array }> {
  const indptr = new Int32Array(customers + 1);
  for (let p = 0; p < users.length; p++) {
    const u = users[p];
    if (u >= 0 && u < customers) indptr[u + 1]++;
    if (p % stretch === stretch - 1) yield;
  }
  for (let u = 0; u < customers; u++) indptr[u + 1] += indptr[u];
  const fill = indptr.slice(0, customers);
  const at = new Int32Array(indptr[customers]);
  // A customer taken out between the two passes (a scan made their postings -1) leaves slots of theirs unfilled:
  // theirs only, and a customer is taken out once.
  for (let p = 0; p < users.length; p++) {
    const u = users[p];
    if (u >= 0 && u < customers) at[fill[u]++] = p;
    if (p % stretch === stretch - 1) yield;
  }
  return { indptr, at };
}

/**
 * The index's customers' places in its postings (CustomerPostings), a stretch of postings between yields: at
 * 100,000 customers the two passes took 1.5 s of CPU on a loaded machine (the fill writes all over 73 MB), too
 * long for the serving thread in one piece (audience-service.ts runs it a stretch per turn of the event loop).
 */
export function* buildCustomerPostings(postings: AudiencePostings, customers: number, stretch = PLACES_STRETCH): Generator<void, CustomerPostings> {
  const cand = yield* placesOf(postings.candidates.users, customers, stretch);
  const buy = yield* placesOf(postings.buyers.users, customers, stretch);
  return { indptr: cand.indptr, cand: cand.at, buyIndptr: buy.indptr, buy: buy.at };
}

/** buildCustomerPostings in one piece. */
export function customerPostingsOf(postings: AudiencePostings, customers: number): CustomerPostings {
  const build = buildCustomerPostings(postings, customers, Number.MAX_SAFE_INTEGER);
  for (;;) {
    const step = build.next();
    if (step.done) return step.value;
  }
}

/**
 * Some customers' lists packed end to end, in customer order: customer c of the chunk has the candidates
 * items[o .. o + lengths[c]) with their blend scores, anchors and sources, o the sum of the lengths before it,
 * and the purchases and latest purchases likewise. Typed arrays only, so a chunk crosses to a worker thread
 * transferred (audience-index-build.ts).
 */
export interface PackedEntries {
  lengths: Int32Array;
  items: Int32Array;
  scores: Float32Array;
  anchor: Int32Array;
  source: Uint8Array;
  purchasedLengths: Int32Array;
  purchased: Int32Array;
  orders: Float64Array;
  lastTs: Float64Array;
  recentLengths: Int32Array;
  recentItems: Int32Array;
  recentTs: Float64Array;
}

/** The postings of an index: every customer's candidates and purchases, inverted by item, and their columns. */
export type AudiencePostings = Pick<AudienceIndex, 'candidates' | 'buyers' | 'customers'>;

/** The source a candidate is named by: its dominant source when the version has it, else the first of its mask. */
export function sourceOf(dominant: number, mask: number, sourceCount: number): number {
  if (dominant < sourceCount) return dominant;
  for (let k = 0; k < sourceCount; k++) if (mask & (1 << k)) return k;
  return NO_SOURCE;
}

/** Packs these entries' candidates and purchases (one chunk of the customers, in their order). */
export function packEntries(entries: readonly UserEntry[], sourceCount: number): PackedEntries {
  const n = entries.length;
  const lengths = new Int32Array(n);
  const purchasedLengths = new Int32Array(n);
  const recentLengths = new Int32Array(n);
  let a = 0;
  let b = 0;
  let r = 0;
  entries.forEach((e, c) => {
    a += lengths[c] = e.hybrid.items.length;
    b += purchasedLengths[c] = e.purchased.length;
    r += recentLengths[c] = e.recentItems.length;
  });
  const out: PackedEntries = {
    lengths, items: new Int32Array(a), scores: new Float32Array(a), anchor: new Int32Array(a), source: new Uint8Array(a),
    purchasedLengths, purchased: new Int32Array(b),
    orders: Float64Array.from(entries, (e) => e.orders), lastTs: Float64Array.from(entries, (e) => e.lastTs),
    recentLengths, recentItems: new Int32Array(r), recentTs: new Float64Array(r),
  };
  a = b = r = 0;
  for (const e of entries) {
    const h = e.hybrid;
    const len = h.items.length;
    out.items.set(h.items, a);
    out.scores.set(h.scores.subarray(0, len), a);
    for (let k = 0; k < len; k++) {
      out.anchor[a + k] = h.because[k] ?? -1;
      out.source[a + k] = sourceOf(h.dominant[k] ?? NO_SOURCE, h.sourceMask[k] ?? 0, sourceCount);
    }
    a += len;
    out.purchased.set(e.purchased, b);
    b += e.purchased.length;
    out.recentItems.set(e.recentItems, r);
    out.recentTs.set(e.recentTs.subarray(0, e.recentItems.length), r);
    r += e.recentItems.length;
  }
  return out;
}

type Column = Int32Array | Float32Array | Uint8Array;

/**
 * Inverts lists given as (lengths, values) chunks; customer numbers run on across the chunks. `columns` are
 * per-value arrays of each chunk (same order), carried to each value's posting.
 */
function invert<C extends Column[]>(chunks: readonly { lengths: Int32Array; values: Int32Array; columns: C }[], itemCount: number) {
  const indptr = new Int32Array(itemCount + 1);
  for (const { values } of chunks) for (let p = 0; p < values.length; p++) indptr[values[p] + 1]++;
  for (let i = 0; i < itemCount; i++) indptr[i + 1] += indptr[i];
  const fill = indptr.slice(0, itemCount);
  const total = indptr[itemCount];
  const users = new Int32Array(total);
  const first = chunks[0]?.columns ?? [];
  const columns = first.map((c) => new (c.constructor as new (n: number) => Column)(total));
  let u = 0;
  for (const chunk of chunks) {
    let o = 0;
    for (let c = 0; c < chunk.lengths.length; c++, u++) {
      for (let p = 0; p < chunk.lengths[c]; p++) {
        const at = fill[chunk.values[o + p]]++;
        users[at] = u;
        for (let k = 0; k < columns.length; k++) columns[k][at] = chunk.columns[k][o + p];
      }
      o += chunk.lengths[c];
    }
  }
  return { indptr, users, columns };
}

function concat<T extends Float64Array | Int32Array>(parts: readonly T[], Ctor: new (n: number) => T): T {
  const out = new Ctor(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The postings of customers packed in chunks (packEntries), customer u being the u-th across the chunks in order. */
export function buildPostings(chunks: readonly PackedEntries[], itemCount: number): AudiencePostings {
  const cand = invert(chunks.map((c) => ({ lengths: c.lengths, values: c.items, columns: [c.scores, c.anchor, c.source] as Column[] })), itemCount);
  const buy = invert(chunks.map((c) => ({ lengths: c.purchasedLengths, values: c.purchased, columns: [] as Column[] })), itemCount);
  const [scores, anchor, source] = cand.columns.length === 3 ? cand.columns : [new Float32Array(0), new Int32Array(0), new Uint8Array(0)];
  const recentLengths = concat(chunks.map((c) => c.recentLengths), Int32Array);
  const recentIndptr = new Int32Array(recentLengths.length + 1);
  for (let c = 0; c < recentLengths.length; c++) recentIndptr[c + 1] = recentIndptr[c] + recentLengths[c];
  return {
    candidates: { indptr: cand.indptr, users: cand.users, scores: scores as Float32Array, anchor: anchor as Int32Array, source: source as Uint8Array },
    buyers: { indptr: buy.indptr, users: buy.users },
    customers: {
      orders: concat(chunks.map((c) => c.orders), Float64Array),
      lastTs: concat(chunks.map((c) => c.lastTs), Float64Array),
      recent: { indptr: recentIndptr, items: concat(chunks.map((c) => c.recentItems), Int32Array), ts: concat(chunks.map((c) => c.recentTs), Float64Array) },
    },
  };
}

/** The buffers of postings' arrays (distinct), to transfer them to another thread. */
export function postingsBuffers(p: AudiencePostings): ArrayBuffer[] {
  const { candidates: c, buyers: b, customers: u } = p;
  const arrays = [c.indptr, c.users, c.scores, ...(c.anchor ? [c.anchor] : []), ...(c.source ? [c.source] : []), b.indptr, b.users, u.orders, u.lastTs, u.recent.indptr, u.recent.items, u.recent.ts];
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}

/** What an index is built over besides its postings. */
export interface AudienceIndexInput {
  userIds: readonly string[];
  itemCount: number;
  neighbours: ReadonlyMap<string, NeighbourTable>;
  /** The sources of RELATED_FAMILIES (by their names in the version's recipe). */
  relatedSources: readonly string[];
  hybridSources: readonly string[];
}

/** The index over these customers and their postings (built here, by buildPostings elsewhere, or read stored). */
export function audienceIndexOf(input: AudienceIndexInput, postings: AudiencePostings): AudienceIndex {
  return {
    userIds: input.userIds,
    itemCount: input.itemCount,
    candidates: postings.candidates,
    buyers: postings.buyers,
    customers: postings.customers,
    neighbours: input.neighbours,
    relatedSources: input.relatedSources,
    hybridSources: input.hybridSources,
    gone: new Uint8Array(input.userIds.length),
  };
}

/**
 * Takes customer u out of the postings in place: their candidate postings and purchases become -1 (scores,
 * anchors and sources zeroed), their orders, last purchase and latest purchases zeroed. What an erasure does
 * to an index in memory (withoutUser) and to the stored artifact when it is rewritten whole
 * (audience-artifact.ts). With `own` (an index's, built by its first erasure) only the customer's postings are
 * touched; without, a scan of the postings (17.6 million at 100,000 customers).
 */
export function postingsWithout(postings: AudiencePostings, u: number, own?: CustomerPostings): void {
  const { candidates: cand, buyers, customers } = postings;
  const wipe = (p: number) => {
    cand.users[p] = -1;
    cand.scores[p] = 0;
    if (cand.anchor) cand.anchor[p] = -1;
    if (cand.source) cand.source[p] = NO_SOURCE;
  };
  if (own && u >= 0 && u + 1 < own.indptr.length) {
    for (let k = own.indptr[u]; k < own.indptr[u + 1]; k++) wipe(own.cand[k]);
    for (let k = own.buyIndptr[u]; k < own.buyIndptr[u + 1]; k++) buyers.users[own.buy[k]] = -1;
  } else {
    for (let p = 0; p < cand.users.length; p++) if (cand.users[p] === u) wipe(p);
    for (let p = 0; p < buyers.users.length; p++) if (buyers.users[p] === u) buyers.users[p] = -1;
  }
  if (u < 0 || u >= customers.orders.length) return;
  customers.orders[u] = 0;
  customers.lastTs[u] = 0;
  const { indptr, items, ts } = customers.recent;
  items.fill(0, indptr[u], indptr[u + 1]);
  ts.fill(0, indptr[u], indptr[u + 1]);
}

/**
 * Takes customer u out of the index in place (an erasure): in no audience from now on, their id dropped and
 * their postings and columns wiped (postingsWithout), so the process keeps nothing of them: only their own
 * postings once the index has its customers' places (`own`, which the service builds after an index's first
 * erasure), else by a scan of every posting.
 */
export function withoutUser(index: AudienceIndex, u: number): void {
  if (!(u >= 0 && u < index.userIds.length) || index.gone[u] === 1) return;
  index.gone[u] = 1;
  postingsWithout(index, u, index.own);
  (index.userIds as string[])[u] = '';
}

/** Builds the index over customers' entries (in any order; `userIds[u]` is entry u's customer). */
export function buildAudienceIndex(input: AudienceIndexInput & { entries: readonly UserEntry[] }): AudienceIndex {
  return audienceIndexOf(input, buildPostings([packEntries(input.entries, input.hybridSources.length)], input.itemCount));
}

/** When user u last bought item i per their entry (their latest distinct purchases carry times). */
function boughtAt(customers: CustomerColumns, u: number, item: number): number {
  const { indptr, items, ts } = customers.recent;
  for (let r = indptr[u]; r < indptr[u + 1]; r++) if (items[r] === item) return ts[r];
  // Older than every kept recent purchase: at most the oldest of those.
  return indptr[u + 1] > indptr[u] ? ts[indptr[u + 1] - 1] : customers.lastTs[u];
}

/** The customers most likely to buy the targets, best first (see the module comment for the score). */
export function rankAudience(index: AudienceIndex, q: AudienceQuery): AudienceMember[] {
  const { customers, candidates, buyers } = index;
  const targets = [...new Set(q.targets)].filter((t) => t >= 0 && t < index.itemCount);
  const excluded = new Set<number>();
  if (q.excludeBuyersSince !== null) {
    for (const t of targets) {
      for (let p = buyers.indptr[t]; p < buyers.indptr[t + 1]; p++) {
        const u = buyers.users[p];
        if (u >= 0 && (q.excludeBuyersSince === -Infinity || boughtAt(customers, u, t) >= q.excludeBuyersSince)) excluded.add(u);
      }
    }
  }
  const eligible = (u: number) => u >= 0 && index.gone[u] === 0 && !excluded.has(u) && (q.allow === undefined || q.allow(u));
  const prior = (u: number) => (q.gamma === 0 ? 1 : Math.pow(Math.max(1, customers.orders[u]), q.gamma));

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
      m.best = s;
      m.target = t;
      // The source that put the target on the customer's list, and the purchase it relates it to (if any):
      // from the customer's entry afterwards when the postings do not carry them (explainMember).
      if (candidates.anchor && candidates.source) {
        m.anchor = candidates.anchor[p];
        m.source = index.hybridSources[candidates.source[p]];
      } else m.unexplained = true;
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

/**
 * The anchor and source of a `candidate` member ranked without them (unexplained), from the customer's entry:
 * those of the posting rankAudience took for its target, the first of the entry's candidates of that item with
 * the highest score (as a float32, as the postings hold it): the postings of an item list a customer's
 * candidates in the entry's order, and the ranking keeps the first of equal scores. The member as it was
 * when it needs nothing, or the entry does not list its target.
 */
export function explainMember(m: AudienceMember, entry: UserEntry, hybridSources: readonly string[]): AudienceMember {
  if (!m.unexplained) return m;
  const { unexplained: _u, ...rest } = m;
  const h = entry.hybrid;
  let at = -1;
  let best = -Infinity;
  for (let k = 0; k < h.items.length; k++) {
    if (h.items[k] !== m.target) continue;
    const s = Math.fround(h.scores[k]);
    if (s > best) [best, at] = [s, k];
  }
  if (at < 0) return rest;
  const source = sourceOf(h.dominant[at] ?? NO_SOURCE, h.sourceMask[at] ?? 0, hybridSources.length);
  return { ...rest, anchor: h.because[at] ?? -1, source: hybridSources[source] };
}
