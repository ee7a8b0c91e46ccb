import type { CountsPart, CustomerRepository, DataCounts } from '../data/customer-repository.js';
import type { ModelMeta, ModelStore } from '../store/model-store.js';
import { keepCounts, type Kept } from '../data/kept-counts.js';
import { startShared } from '../data/query-timeout.js';
import type { OwedErasures } from '../privacy/owed-erasures.js';
import { customersHeldError } from '../privacy/customers-held.js';

/** What the dashboard's overview shows first: the data held and the model served. */
export interface ServiceOverview {
  /** The counts as last read (kept in the process, see keepCounts), with when that read began and its age. */
  counts: DataCounts & { countedAt: string; ageSeconds: number };
  model: {
    version: string;
    /** The name the recipe gives itself. */
    recipe: string;
    /** The recipe file it was trained from (models/RECIPEFILE.json); absent for versions trained before it was recorded. */
    recipeFile?: string;
    trainedAt: string;
    /** Seconds since the served version was trained. */
    ageSeconds: number;
    /** Strategies the served version answers (`hybrid` and its recommenders). */
    strategies: string[];
  } | null;
  /**
   * Only when the model store's active version is not the one this process serves: the version it names
   * (this process is about to load it), or null (the store lost its models, a Redis restarted empty, while
   * this process keeps serving from memory). Absent also when the store did not answer (while this process
   * serves nothing, the overview then fails with the store's error: 503).
   */
  activeInStore?: string | null;
}

export type ServiceOverviewReader = (() => Promise<ServiceOverview>) & {
  /** The background count under way, if any (tests). */
  settled?: () => Promise<unknown>;
};

/** How old kept counts may be before a call counts again (OVERVIEW_COUNTS_MAX_AGE_MS's default). */
export const COUNTS_MAX_AGE_MS = 30_000;
/** How long a call waits for that new count before answering with the last one. */
export const COUNTS_WAIT_MS = 500;

/** The model a process answers with: its metadata and the strategies it offers. */
export interface ServedModel {
  meta: Pick<ModelMeta, 'version' | 'recipe' | 'recipeFile' | 'trainedAt'>;
  info: { strategies: readonly string[] };
}

/**
 * Reads the counts and the model this process serves side by side (the version, recipe and strategies of
 * one model, the one its answers carry, even when the store lost it). The model and the store's active
 * version are read on every call. The counts (whole-table counts, the distinct orders among every purchase:
 * 5.5-10.8 s at ten times our data) are kept in the process (keepCounts): a call answers with counts at most
 * `countsMaxAgeMs` old, or waits up to `countsWaitMs` for a new count and else answers with the last one,
 * `countedAt` and `ageSeconds` saying how old they are.
 */
export function createServiceOverview(deps: {
  customers: Pick<CustomerRepository, 'counts'> & Partial<Pick<CustomerRepository, 'countsOf'>>;
  /**
   * The customers whose erasure is owed (privacy/owed-erasures.ts): left out of the counts, as the erased are. What
   * each adds is read (customers.countsOf) with each count, in its background, and for one owed since the count when
   * the list first shows it, not per call.
   */
  owed?: Pick<OwedErasures, 'size' | 'ids' | 'revision'>;
  /**
   * True while every customer is held (serving.holdingCustomers: a process started with Postgres down has not read the
   * erasures owed yet): the counts cannot leave the owed customers out (the list is not known), so the overview is
   * refused (503, ask again), as the segments report is. Reviewer r2, fifty-sixth session.
   */
  customersHeld?: () => boolean;
  store: Pick<ModelStore, 'getActive'>;
  /** The model this process answers with (serving's), null before it serves one. */
  served: () => Promise<ServedModel | null>;
  now?: () => number;
  countsMaxAgeMs?: number;
  countsWaitMs?: number;
  log?: (msg: string, err: unknown) => void;
}): ServiceOverviewReader {
  const now = deps.now ?? Date.now;
  /** What a count of the store holds, and what the customers owed as it began add to it (read beside it, in its time). */
  interface Counted {
    counts: DataCounts;
    parts: Map<string, CountsPart>;
    range: { first: string | null; last: string | null } | null;
  }
  const count = async (): Promise<Counted> => {
    const ids = deps.owed && deps.customers.countsOf ? [...deps.owed.ids()] : [];
    // Shared by every call until the next count and growing with the owed list (3.5 s for 10,000 owed on a cold heap at
    // ten times our data): under LONG_STATEMENT_MS as the other shared reads, not the limit of the request that happened
    // to start the count, past which the whole count failed with it (the first overview 503, the later ones the last
    // counts for good). Reviewer r4.
    const [counts, of] = await Promise.all([deps.customers.counts(), ids.length > 0 ? startShared(() => deps.customers.countsOf!(ids)) : null]);
    return { counts, parts: of?.byCustomer ?? new Map(), range: of && { first: of.othersFirstPurchase, last: of.othersLastPurchase } };
  };
  const kept = keepCounts(count, { maxAgeMs: deps.countsMaxAgeMs ?? COUNTS_MAX_AGE_MS, waitMs: deps.countsWaitMs ?? COUNTS_WAIT_MS, now, log: deps.log });
  /**
   * What the kept counts of `countedAt` hold of the customers owed: those owed as the count began read with it, those
   * owed since each read once (when the list shows it first: a few ids, by the indexes), all kept until the next count: an erasure that completes meanwhile deletes their
   * rows, which the kept counts still hold, so what was read of them stays taken off until the next count. Within one
   * count the customers only grow, so `range` (the others' first and latest purchase) is of `takenCount` of them.
   */
  let taken: { countedAt: number; parts: Map<string, CountsPart>; revision: number; range: { first: string | null; last: string | null } | null } | null = null;
  /** The read under way of the customers newly owed: calls meanwhile wait for it rather than read them again. */
  let taking: Promise<void> | null = null;
  const take = async (counted: Kept<Counted>, owed: NonNullable<typeof deps.owed>, countsOf: NonNullable<typeof deps.customers.countsOf>) => {
    // The customers owed as the count began were read with it (in the background, not on a call's path).
    if (taken?.countedAt !== counted.countedAt) taken = { countedAt: counted.countedAt, parts: new Map(counted.value.parts), revision: -1, range: counted.value.range };
    const mine = taken;
    if (mine.revision === owed.revision) return;
    const revision = owed.revision;
    const fresh = [...owed.ids()].filter((id) => !mine.parts.has(id));
    if (fresh.length > 0) {
      const of = await countsOf(fresh, [...mine.parts.keys(), ...fresh]);
      for (const id of fresh) mine.parts.set(id, of.byCustomer.get(id) ?? { customers: 0, purchases: 0, orders: 0, feedback: 0 });
      mine.range = { first: of.othersFirstPurchase, last: of.othersLastPurchase };
    }
    mine.revision = revision;
  };
  /**
   * The kept counts without the customers whose erasure is owed (or was, since the counts were read): their rows and
   * orders taken off, the first and latest purchase the others' (no later than the kept latest, no earlier than the
   * kept first: the counts' time). What an owed customer stored after the count (a storefront still sending) is taken
   * off uncounted: a count never goes below zero. A read that fails is logged and the counts answered with what was
   * taken off before it (tried again at the next call).
   */
  const withoutOwed = async (counted: Kept<Counted>): Promise<DataCounts> => {
    const c = counted.value.counts;
    const owed = deps.owed;
    const countsOf = deps.customers.countsOf;
    if (!owed || !countsOf) return c;
    if (owed.size === 0 && counted.value.parts.size === 0 && taken?.countedAt !== counted.countedAt) return c;
    // Calls at once share one read; one that finds it done for another count or revision reads again.
    while (taking) await taking;
    if (taken?.countedAt !== counted.countedAt || taken.revision !== owed.revision) {
      taking = take(counted, owed, countsOf)
        .catch((err: unknown) => deps.log?.("reading what the owed erasures' customers add to the overview's counts failed: the counts are answered without it", err))
        .finally(() => (taking = null));
      await taking;
    }
    const mine = taken?.countedAt === counted.countedAt ? taken : null;
    if (!mine || mine.parts.size === 0) return c;
    const sum = { customers: 0, purchases: 0, orders: 0, feedback: 0 };
    for (const part of mine.parts.values()) for (const key of ['customers', 'purchases', 'orders', 'feedback'] as const) sum[key] += part[key];
    const less = (n: number, by: number) => Math.max(0, n - by);
    const range = mine.range;
    const later = (a: string | null, b: string | null) => (a === null || b === null ? null : Date.parse(a) >= Date.parse(b) ? a : b);
    const earlier = (a: string | null, b: string | null) => (a === null || b === null ? null : Date.parse(a) <= Date.parse(b) ? a : b);
    return {
      ...c,
      customers: less(c.customers, sum.customers),
      purchases: less(c.purchases, sum.purchases),
      orders: less(c.orders, sum.orders),
      feedback: less(c.feedback, sum.feedback),
      firstPurchase: range ? later(range.first, c.firstPurchase) : c.firstPurchase,
      lastPurchase: range ? earlier(range.last, c.lastPurchase) : c.lastPurchase,
    };
  };
  const read = async () => {
    if (deps.customersHeld?.()) throw customersHeldError();
    const [counted, served, active] = await Promise.all([
      kept.get().then(async (k) => ({ ...k, value: await withoutOwed(k) })),
      deps.served(),
      // A store that does not answer leaves the served model to be shown (it answers from memory).
      deps.store.getActive().then((m) => ({ version: m?.version ?? null }), (err: unknown) => ({ failed: err })),
    ]);
    // Serving nothing, with a store that did not answer: no model to show, and `model: null` would read as a
    // shop never trained (the dashboard offers a first training). The store's error is the answer (503).
    if ('failed' in active && !served) throw active.failed;
    const model = served && {
      version: served.meta.version,
      recipe: served.meta.recipe,
      ...(served.meta.recipeFile ? { recipeFile: served.meta.recipeFile } : {}),
      trainedAt: served.meta.trainedAt,
      ageSeconds: Math.max(0, Math.round((now() - Date.parse(served.meta.trainedAt)) / 1000)),
      strategies: [...served.info.strategies],
    };
    const differs = !('failed' in active) && active.version !== (model?.version ?? null);
    const counts = {
      ...counted.value,
      countedAt: new Date(counted.countedAt).toISOString(),
      ageSeconds: Math.max(0, Math.round((now() - counted.countedAt) / 1000)),
    };
    return { counts, model, ...(differs ? { activeInStore: active.version } : {}) };
  };
  return Object.assign(read, { settled: kept.settled });
}
