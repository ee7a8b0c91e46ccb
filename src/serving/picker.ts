import { itemsInCategory } from './category-match.js';
import { popularityPhraseFor } from './popularity-phrase.js';
import { listsOwnItemsOnly } from './own-item-sources.js';
import { popularityRun, popularPhrase, type ListQuery, type Pick } from './recommendation.js';
import type { ServingModel } from './serving-model.js';

const POPULARITY = ['popularity'] as const;

/** The business rules every list obeys: available, not excluded, not bought (when asked), category and price. */
export function itemFilter(model: ServingModel, q: ListQuery, bought?: (item: number) => boolean): (item: number) => boolean {
  const { available, price, categories, index } = model.items;
  const { category, minPrice, maxPrice } = q;
  const priced = minPrice !== undefined || maxPrice !== undefined;
  // The common request has no filter but the rules: keep its check to two array reads.
  if (!q.exclude?.length && category === undefined && !priced) {
    return bought ? (item) => available[item] === 1 && !bought(item) : (item) => available[item] === 1;
  }
  const excluded = new Set<number>();
  for (const id of q.exclude ?? []) {
    const i = index.get(id);
    if (i !== undefined) excluded.add(i);
  }
  const inCategory = category !== undefined ? itemsInCategory(categories, category) : undefined;
  const lo = minPrice ?? -Infinity;
  const hi = maxPrice ?? Infinity;
  return (item) => {
    if (available[item] !== 1 || excluded.has(item)) return false;
    if (bought?.(item)) return false;
    if (inCategory && inCategory[item] !== 1) return false;
    // NaN (unknown price) fails both comparisons, so it never passes a price filter.
    if (priced && !(price[item] >= lo && price[item] <= hi)) return false;
    return true;
  };
}

/**
 * Collects up to `want` items in the order offered, skipping what the filter refuses and duplicates.
 * Filtering happens here, before anything is cut to k, so a filter never shortens a list that the
 * next candidates or popularity can fill.
 * One product per product group (the sizes and colours of a style, ItemGroups): offers come best first, so
 * the first of a group taken is its best-ranked, and its siblings offered later are skipped, their places
 * going to the next groups down the ranking. Items without a group are groups of their own.
 * A source that learnt per group (grouped-recommender.ts) scores a style on the one variant that showed it at
 * training (ItemGroups.shows). When that variant cannot be listed (a filter refuses it, it sold out, or it left
 * the group since), an eligible sibling still in the group takes its place with its score (standIn); a variant
 * that left never carries its old group's score into its new one.
 */
export class Picker {
  readonly picks: Pick[] = [];
  private readonly taken = new Set<number>();
  /** Group numbers taken or left out (leaveOutGroupOf); only used when the model's items have groups. */
  private readonly groupsTaken = new Set<number>();
  private readonly groupOf: Int32Array | undefined;

  constructor(
    private readonly model: ServingModel,
    private readonly accepts: (item: number) => boolean,
    readonly want: number,
  ) {
    this.groupOf = model.items.groups?.of;
  }

  get full(): boolean {
    return this.picks.length >= this.want;
  }

  has(item: number): boolean {
    return this.taken.has(item);
  }

  /** Leaves out the products of `item`'s group (the product of the page or cart the list is for); nothing for an item without one. */
  leaveOutGroupOf(item: number): void {
    const g = this.groupOf?.[item] ?? -1;
    if (g >= 0) this.groupsTaken.add(g);
  }

  /**
   * Leaves out the groups of every item in `items` (what the customer bought, when purchases are excluded): a
   * shop's customer who bought a shirt in M is not offered it in L. Nothing for a catalogue without groups.
   */
  leaveOutGroupsOf(items: Iterable<number>): void {
    if (this.groupOf === undefined) return;
    for (const item of items) this.leaveOutGroupOf(item);
  }

  /** Leaves out the products of the group with this id (an item the model does not know: its catalog record's group). */
  leaveOutGroup(groupId: string | null | undefined): void {
    const g = groupId ? this.model.items.groups?.index.get(groupId) : undefined;
    if (g !== undefined) this.groupsTaken.add(g);
  }

  /** Adds the item (or the sibling that stands in for it, standIn) if there is room and it passes the rules; true when one was added. */
  offer(item: number, score: number, sources: readonly string[], explanation?: string): boolean {
    const listed = this.standIn(item, sources);
    if (listed < 0) return false;
    this.take(listed, score, sources, explanation);
    return true;
  }

  /**
   * The item that lists an offer of `item`, or -1 for none: `item` itself when it passes (takes); when it
   * shows a group learnt per group and cannot be listed, or has left that group since training, the sibling
   * still in that group that passes, the most popular first (lower index on ties), unless the group is on the
   * list or left out already. Never for an offer of sources that list the customer's own items only (buy-again,
   * repurchase: "you bought this before" is true of the item bought, not of a sibling). A group that has no
   * product left (its id renamed by a catalog sync: every variant moved together) is listed by the item itself.
   */
  private standIn(item: number, sources: readonly string[]): number {
    const groups = this.model.items.groups;
    const g = groups?.shows?.[item] === 1 && !this.ownItemsOnly(sources) ? groups.trained![item] : -1;
    if (g < 0) return this.takes(item) ? item : -1;
    if (groups!.of[item] === g && this.takes(item)) return item;
    if (this.full || this.groupsTaken.has(g)) return -1;
    const members = this.membersOf(g);
    if (members.length === 0) return this.takes(item) ? item : -1;
    const score = this.model.popular.score;
    let best = -1;
    for (const s of members) {
      if (s !== item && (best < 0 || score[s] > score[best]) && this.takes(s)) best = s;
    }
    return best;
  }

  private ownItemsOnly(sources: readonly string[]): boolean {
    return sources.length > 0 && sources.every((s) => listsOwnItemsOnly(this.model.info, s));
  }

  /** The items in group number `g` as the catalogue has them now (built once per regrouping, catalog-overlay.ts). */
  private membersOf(g: number): readonly number[] {
    const groups = this.model.items.groups!;
    if (!groups.members) {
      const members = new Map<number, number[]>();
      groups.of.forEach((k, i) => {
        if (k < 0) return;
        const list = members.get(k);
        if (list) list.push(i);
        else members.set(k, [i]);
      });
      groups.members = members;
    }
    return groups.members.get(g) ?? [];
  }

  /** Whether `item` would be added now: there is room, neither it nor its group is on the list, and it passes the rules. */
  private takes(item: number): boolean {
    return this.picks.length < this.want && !this.taken.has(item) && !this.groupTaken(item) && this.accepts(item);
  }

  private groupTaken(item: number): boolean {
    const g = this.groupOf === undefined ? -1 : this.groupOf[item];
    return g >= 0 && this.groupsTaken.has(g);
  }

  private take(item: number, score: number, sources: readonly string[], explanation?: string): void {
    this.taken.add(item);
    if (this.groupOf !== undefined && this.groupOf[item] >= 0) this.groupsTaken.add(this.groupOf[item]);
    this.picks.push(explanation === undefined ? { item, score, sources } : { item, score, sources, explanation });
  }

  /** Adds the pick itself (no copy; a copy naming the sibling that stands in for it, standIn) if there is room and it passes the rules; true when one was added. */
  offerPick(p: Pick): boolean {
    const listed = this.standIn(p.item, p.sources);
    if (listed < 0) return false;
    this.taken.add(listed);
    if (this.groupOf !== undefined && this.groupOf[listed] >= 0) this.groupsTaken.add(this.groupOf[listed]);
    this.picks.push(listed === p.item ? p : { ...p, item: listed });
    return true;
  }

  /**
   * Fills the rest from the segment's popularity list (`popular in France`), then from every item by
   * global popularity, so a request gets k items whenever k items pass the filters. Scores follow
   * popularity (recommendation.ts popularityRun): 1 for the head of a list of popularity alone, just
   * below the pick before them otherwise, so they never rise down a list.
   */
  backfillPopular(segment: number): void {
    const { popular } = this.model;
    if (segment >= 0) {
      const s = popular.segments[segment];
      this.fillFrom(s.items, (p) => s.scores[p], (item) => popularityPhraseFor(this.model, segment, item));
    }
    const phrase = popularPhrase(undefined);
    this.fillFrom(popular.order, (p) => popular.score[popular.order[p]], () => phrase);
  }

  /** Offers `items` in order, scored by popularityRun over `valueAt` (see backfillPopular). */
  private fillFrom(items: ArrayLike<number>, valueAt: (p: number) => number, explain: (item: number) => string): void {
    const score = popularityRun(this.picks);
    for (let p = 0; p < items.length && !this.full; p++) {
      // Only what is taken counts: the run's first item taken sets its scale.
      const listed = this.standIn(items[p], POPULARITY);
      if (listed >= 0) this.take(listed, score(valueAt(p)), POPULARITY, explain(items[p]));
    }
  }
}
