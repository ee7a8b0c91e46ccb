import { z } from 'zod';
import type { CatalogRepository } from '../data/catalog-repository.js';
import { badCursor, cursorId, cursorTag, decodeCursor, encodeCursor, listTag } from '../data/list-cursor.js';
import { AppError } from '../errors.js';
import type { EventRepository } from '../data/event-repository.js';
import type { Metrics } from '../metrics.js';
import { buildDataset } from '../recommenders/dataset.js';
import type { ModelMeta, ModelStore } from '../store/model-store.js';
import type { OwedErasures } from '../privacy/owed-erasures.js';
import { customersHeldError } from '../privacy/customers-held.js';
import { profileColumnsInChunks, type ProfileColumns } from './profile-codec.js';
import { computeProfiles, DAY_MS, type CustomerProfile } from './profile.js';
import { PROFILES_ARTIFACT } from './profiles-artifact.js';
import { populationOf, populationWithout, percentileIn, scoreIn, type Population } from './population-score.js';
import { frequencyScore } from './rfm-score.js';
import { segmentReportOfColumns, type SegmentReport } from './segment-report.js';
import { lifecycleStage, rfmSegment, RFM_SEGMENTS, LIFECYCLE_STAGES, VALUE_TIERS, type SegmentedProfile } from './segments.js';

/** What a cursor of a group's members holds: the model version, the group's tag, the last member's spend and id. */
const MEMBERS_CURSOR = z.strictObject({ v: z.string().min(1).max(256), g: cursorTag, k: z.number(), id: cursorId });

export type SegmentDimension = 'segment' | 'lifecycle' | 'valueTier';
export const SEGMENT_NAMES: Record<SegmentDimension, readonly string[]> = {
  segment: RFM_SEGMENTS,
  lifecycle: LIFECYCLE_STAGES,
  valueTier: VALUE_TIERS,
};

/**
 * The profiles of one model version as columns (one profile decoded when asked), with what a refresh needs.
 * Changed only by an erasure (forgetUser), in place.
 */
interface VersionProfiles {
  version: string;
  /** Reference time of the training data (its latest purchase). */
  now: number;
  /** Start of the purchases it was trained on (`from` of the training's window), null for all of them. */
  from: Date | null;
  /** When it was trained: a refresh nets the returns stored by then only (a return is seen from the next training on). */
  trainedAt: number;
  columns: ProfileColumns;
  /** Each customer's row in the columns; an erased customer's is deleted (and their row blanked, `gone`). */
  byUser: Map<string, number>;
  gone: Uint8Array;
  /** Each group's rows by descending spend, ids breaking ties (`dimension:name`): made on its first list. */
  groups: Map<string, Int32Array>;
  report: SegmentReport;
  /**
   * `report` without the customers whose erasure is owed, with the owed list's revision and the rows it left out:
   * made again only when the list moved and left out other rows (reportWithoutOwed). Dropped by an erasure.
   */
  owedReport?: { revision: number; rows: Int32Array; report: SegmentReport };
  recency: Population;
  frequency: Population;
  monetary: Population;
}

export interface ProfileView extends SegmentedProfile {
  modelVersion: string;
  /** `model`: as computed at training; `refreshed`: recomputed from purchases recorded since. */
  source: 'model' | 'refreshed';
  /** Reference date of recency (the latest purchase known when it was computed). */
  asOf: string;
}

/** `from` of the purchase window a version was trained on (its info.window), null without one. */
function windowStart(info: Record<string, unknown> | undefined): Date | null {
  const from = (info?.window as { from?: unknown } | undefined)?.from;
  const at = typeof from === 'string' ? new Date(from) : null;
  return at && !Number.isNaN(at.getTime()) ? at : null;
}

/**
 * Customer profiles and segments of the active model, and per-customer refresh: a customer with
 * purchases recorded after the training is recomputed from their own history in Postgres and scored
 * against the trained population (population-score.ts), so their profile follows their purchases
 * without a retraining. Price sensitivity needs every customer's prices and stays as trained.
 */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The first of 0..n-1 where `holds` (false before it, true from it on), n when none. */
function firstWhere(n: number, holds: (at: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (holds(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** How many of `sorted` (ascending) are below `x`. */
function lowerBound(sorted: readonly number[], x: number): number {
  return firstWhere(sorted.length, (at) => sorted[at] >= x);
}

/** The place in a group's rows of its `offset`-th member not skipped, `skipped` being the skipped places, ascending. */
function rawPlace(skipped: readonly number[], offset: number): number {
  let at = offset;
  for (const p of skipped) {
    if (p > at) break;
    at++;
  }
  return at;
}

/** How many of the shop's latest purchases a refreshed profile looks through for one of a customer not owed an erasure. */
export const LATEST_PURCHASES_LOOKED_AT = 64;

/**
 * The shop's latest purchase (ISO, null when none) without those of customers whose erasure is owed. With none owed,
 * the statement as before; else the latest `page` purchases, their buyers looked up in the process's owed list (a
 * set), and only when every one of them is owed the statement with the owed ids (purchaseRange(without)), which sent
 * all of them with each refresh: 36-75 ms at 10,000 owed, 0.9-2.9 s at 100,000 (bench/README, r4).
 */
export async function latestPurchaseNotOwed(
  events: Pick<EventRepository, 'purchaseRange' | 'latestPurchases'>,
  owed: Pick<OwedErasures, 'has' | 'size' | 'ids'> | undefined,
  page = LATEST_PURCHASES_LOOKED_AT,
): Promise<string | null> {
  if (!owed || owed.size === 0) return (await events.purchaseRange()).last;
  const latest = await events.latestPurchases(page);
  const found = latest.find((p) => !owed.has(p.userId));
  if (found) return found.ts;
  // Fewer than asked, each owed: every purchase stored is of an owed customer.
  if (latest.length < page) return null;
  return (await events.purchaseRange([...owed.ids()])).last;
}

export function createProfileService(deps: {
  store: ModelStore;
  events: Pick<EventRepository, 'loadPurchaseRows' | 'purchaseRange' | 'latestPurchases'>;
  catalog: Pick<CatalogRepository, 'getItems'>;
  metrics?: Metrics;
  /**
   * The version this process serves from memory, if any. A store that lost every version (a Redis restarted
   * empty) names none active while the process still serves this one: its profiles, when held here, are
   * still the served model's, and answer until a training publishes again.
   */
  served?: () => ModelMeta | null;
  /**
   * True while the model store's versions are held back (serving.holdCustomerData: its erasure catch-up has not
   * run since a start it did not answer): no profile is read from it meanwhile, as no recommendation is.
   */
  held?: () => boolean;
  /**
   * True while every customer is held (serving.holdingCustomers: a process started with Postgres down has not read
   * the erasures owed yet): the report, a group's members and a profile are refused (503, ask again) rather than
   * answered as if no model were trained, or with customers whose erasure may be owed counted in.
   */
  customersHeld?: () => boolean;
  /**
   * The customers whose erasure is owed (asked for and recorded, not completed: privacy/owed-erasures.ts): left out
   * of every group's members and their total, as the erased are, until it completes (the version still holds them).
   */
  owed?: Pick<OwedErasures, 'has' | 'size' | 'ids' | 'revision'>;
}) {
  let cached: VersionProfiles | null = null;
  // Bumped by forgetUser: a load that started before an erasure must not be kept after it.
  let generation = 0;
  /** One set per load running: the customers erased since it began (load applies them to what it decoded). */
  const loads = new Set<Set<string>>();

  /** The load under way, shared by the requests that wait for it (each decoding it too held the thread that much longer). */
  let loading: { version: string; generation: number; promise: Promise<VersionProfiles | null> } | null = null;

  /**
   * The places in `rows` (a group's rows of `v`, by descending spend, ids breaking ties) of the customers whose
   * erasure is owed, ascending: each owed id found by its row and a binary search (a few owed in a large group), or
   * each row looked up (many owed).
   */
  function owedPlaces(v: VersionProfiles, rows: Int32Array): number[] {
    const owed = deps.owed;
    if (!owed || owed.size === 0) return [];
    const { monetary, userIds } = v.columns;
    const out: number[] = [];
    if (owed.size < rows.length) {
      for (const id of owed.ids()) {
        const k = v.byUser.get(id);
        if (k === undefined) continue;
        const at = firstWhere(rows.length, (p) => monetary[rows[p]] < monetary[k] || (monetary[rows[p]] === monetary[k] && userIds[rows[p]] >= userIds[k]));
        if (rows[at] === k) out.push(at);
      }
      out.sort((a, b) => a - b);
    } else {
      rows.forEach((k, at) => void (owed.has(userIds[k]) && out.push(at)));
    }
    return out;
  }

  /** The rows of `v` of the customers whose erasure is owed, ascending. */
  function owedRows(v: VersionProfiles, owed: Pick<OwedErasures, 'has' | 'size' | 'ids'>): Int32Array {
    const out: number[] = [];
    if (owed.size < v.byUser.size) {
      for (const id of owed.ids()) {
        const k = v.byUser.get(id);
        if (k !== undefined) out.push(k);
      }
    } else for (const [id, k] of v.byUser) if (owed.has(id)) out.push(k);
    return Int32Array.from(out).sort();
  }

  /**
   * The version's report without the customers whose erasure is owed, as their members are left out (README
   * "Erasure"). With none owed, the version's report as it is; else made again from the columns (one pass over
   * them) when the owed list moved and now leaves out other rows of this version, and kept meanwhile: a request
   * reads the list's revision only while it stays, and the owed ids (a lookup each) once after each move.
   */
  function reportWithoutOwed(v: VersionProfiles): SegmentReport {
    const owed = deps.owed;
    if (!owed || owed.size === 0) return v.report;
    const kept = v.owedReport;
    if (kept?.revision === owed.revision) return kept.report;
    const rows = owedRows(v, owed);
    const same = kept && kept.rows.length === rows.length && kept.rows.every((k, i) => rows[i] === k);
    const report = same ? kept.report : rows.length === 0 ? v.report : segmentReportOfColumns(v.columns, reportKeep(v, rows));
    v.owedReport = { revision: owed.revision, rows, report };
    return report;
  }

  /** Keeps the rows neither erased nor among `skip` (ascending): a pass in row order walks `skip` alongside. */
  function reportKeep(v: VersionProfiles, skip: Int32Array): (k: number) => boolean {
    let s = 0;
    return (k) => {
      while (s < skip.length && skip[s] < k) s++;
      return v.gone[k] === 0 && skip[s] !== k;
    };
  }

  /** Refuses while every customer is held (customersHeld): which customers' erasure is owed cannot be told yet. */
  function unlessCustomersHeld(): void {
    if (deps.customersHeld?.()) throw customersHeldError();
  }

  /** What recsvc_profiles_segment_users shows: the report GET /v1/segments answers (owed customers left out). */
  let gauged: SegmentReport | null = null;
  function gauge(report: SegmentReport): void {
    if (!deps.metrics || report === gauged) return;
    gauged = report;
    deps.metrics.segmentSize.reset();
    for (const s of report.segments) deps.metrics.segmentSize.set({ segment: s.name }, s.users);
  }

  async function current(): Promise<VersionProfiles | null> {
    if (deps.held?.()) return null;
    const meta = (await deps.store.getActive()) ?? deps.served?.() ?? null;
    if (!meta) return null;
    if (cached?.version === meta.version) return cached;
    if (loading?.version !== meta.version || loading.generation !== generation) {
      const promise = load(meta);
      const mine = { version: meta.version, generation, promise };
      loading = mine;
      void promise.finally(() => loading === mine && (loading = null)).catch(() => {});
    }
    return loading!.promise;
  }

  /**
   * Reads a version's profiles as columns (profile-codec.ts ProfileColumns), with a turn of the event loop
   * between stretches, so requests are answered meanwhile: decoding every profile into an object held a
   * loaded machine's thread for 20-48 s at 420,000 customers; the report and the populations are made from
   * the arrays, a turn between each.
   */
  async function load(meta: ModelMeta): Promise<VersionProfiles | null> {
    const started = generation;
    // Customers erased while this load runs: its artifact may have been read before their scrub.
    const erasedMeanwhile = new Set<string>();
    loads.add(erasedMeanwhile);
    try {
      const next = await decodeVersion(meta);
      // Taken out before any request waiting on this load sees the version (not only before caching it).
      for (const userId of erasedMeanwhile) if (next) forgetIn(next, userId);
      if (!next || started !== generation) return next;
      cached = next;
      gauge(reportWithoutOwed(next));
      return next;
    } finally {
      loads.delete(erasedMeanwhile);
    }
  }

  async function decodeVersion(meta: ModelMeta): Promise<VersionProfiles | null> {
    const bytes = await deps.store.getArtifact(meta.version, PROFILES_ARTIFACT);
    if (!bytes) return null;
    const columns = await profileColumnsInChunks(bytes, turn);
    const byUser = new Map<string, number>();
    // Rows an erasure blanked in the stored artifact (profile-codec.ts profilePatchesWithout) are gone already.
    const gone = new Uint8Array(columns.count);
    for (let k = 0; k < columns.count; k++) {
      if (k > 0 && k % 20_000 === 0) await turn();
      if (columns.blanked(k)) gone[k] = 1;
      else byUser.set(columns.userIds[k], k);
    }
    await turn();
    const kept = byUser.size === columns.count ? undefined : (row: number) => gone[row] === 0;
    const keptOf = <T extends Int32Array | Float64Array>(a: T): T | number[] => (kept ? Array.from(a).filter((_, k) => kept(k)) : a);
    const report = segmentReportOfColumns(columns, kept);
    await turn();
    // Recency is scored on negated days (fewer days = higher score), as in computeProfiles.
    const recency = populationOf(Float64Array.from(keptOf(columns.recencyDays), (d) => -d));
    await turn();
    const frequency = populationOf(keptOf(columns.frequency));
    await turn();
    const monetary = populationOf(keptOf(columns.monetary));
    return {
      version: meta.version,
      now: columns.info.now ?? Date.parse(meta.trainedAt),
      from: windowStart(meta.info),
      trainedAt: Date.parse(meta.trainedAt),
      columns,
      byUser,
      gone,
      groups: new Map(),
      report,
      recency,
      frequency,
      monetary,
    };
  }

  /** Takes a customer out of a version's profiles in place (see forgetUser); false when they are not in it. */
  function forgetIn(v: VersionProfiles, userId: string): boolean {
    const k = v.byUser.get(userId);
    if (k === undefined) return false;
    const { columns } = v;
    const gone = { recency: columns.recencyDays[k], frequency: columns.frequency[k], monetary: columns.monetary[k], labels: columns.labels.slice(3 * k, 3 * k + 3) };
    v.byUser.delete(userId);
    v.gone[k] = 1;
    DIMENSIONS.forEach((dimension, d) => {
      const key = `${dimension}:${SEGMENT_NAMES[dimension][gone.labels[d]]}`;
      const rows = v.groups.get(key);
      const at = rows ? rows.indexOf(k) : -1;
      if (!rows || at < 0) return;
      const without = new Int32Array(rows.length - 1);
      without.set(rows.subarray(0, at));
      without.set(rows.subarray(at + 1), at);
      v.groups.set(key, without);
    });
    columns.blank(k);
    v.report = segmentReportOfColumns(columns, (row) => v.gone[row] === 0);
    v.owedReport = undefined;
    v.recency = populationWithout(v.recency, -gone.recency);
    v.frequency = populationWithout(v.frequency, gone.frequency);
    v.monetary = populationWithout(v.monetary, gone.monetary);
    return true;
  }

  const DIMENSIONS: readonly SegmentDimension[] = ['segment', 'lifecycle', 'valueTier'];

  /** The rows of a group, by descending spend and ascending id, erased customers left out (made once per version). */
  function groupRows(v: VersionProfiles, dimension: SegmentDimension, name: string): Int32Array {
    const key = `${dimension}:${name}`;
    let rows = v.groups.get(key);
    if (rows) return rows;
    rows = rowsIn(v, dimension, name);
    const { monetary, userIds } = v.columns;
    rows.sort((a, b) => monetary[b] - monetary[a] || (userIds[a] < userIds[b] ? -1 : userIds[a] > userIds[b] ? 1 : 0));
    v.groups.set(key, rows);
    return rows;
  }

  /** The rows of a group's customers in row order, erased customers left out. */
  function rowsIn(v: VersionProfiles, dimension: SegmentDimension, name: string): Int32Array {
    const d = DIMENSIONS.indexOf(dimension);
    const g = SEGMENT_NAMES[dimension].indexOf(name);
    const { labels, count } = v.columns;
    const out: number[] = [];
    if (g >= 0) for (let k = 0; k < count; k++) if (labels[3 * k + d] === g && v.gone[k] === 0) out.push(k);
    return Int32Array.from(out);
  }

  /**
   * `fresh` is measured from `now`, the trained population from `v.now`: from `now` every trained customer
   * is `shiftDays` (whole UTC days) further away, so in the population's terms the customer's recency is
   * `fresh.recencyDays - shiftDays` (ranks are unchanged by shifting everyone alike).
   */
  function refreshed(v: VersionProfiles, fresh: CustomerProfile, old: SegmentedProfile | undefined, now: number): SegmentedProfile {
    const shiftDays = Math.floor(now / DAY_MS) - Math.floor(v.now / DAY_MS);
    const rScore = scoreIn(v.recency, -(fresh.recencyDays - shiftDays), old && -old.recencyDays);
    const fScore = frequencyScore(fresh.frequency, scoreIn(v.frequency, fresh.frequency, old?.frequency));
    const mScore = scoreIn(v.monetary, fresh.monetary, old?.monetary);
    const p = percentileIn(v.monetary, fresh.monetary, old?.monetary);
    return {
      ...fresh,
      rScore,
      fScore,
      mScore,
      priceSensitivity: old?.priceSensitivity ?? null,
      segment: rfmSegment(rScore, fScore, mScore),
      lifecycle: lifecycleStage(fresh),
      valueTier: p >= 0.8 ? 'high' : p >= 0.5 ? 'medium' : 'low',
    };
  }

  return {
    /**
     * After an erasure: the customer is taken out of the version's profiles in place, as the redacted
     * artifact holds them: their row blanked (profile-codec.ts blank: nothing of them stays in memory),
     * taken out of the group lists made so far, the segment counts made again from the columns and the
     * populations a refresh is scored against taken without them. Dropping the version instead made the
     * next read decode the whole artifact again on the thread that answers requests: 6-12 s at 420,000
     * customers, after every erasure.
     */
    forgetUser(userId: string): void {
      generation++;
      for (const erasedMeanwhile of loads) erasedMeanwhile.add(userId);
      const v = cached;
      const k = v?.byUser.get(userId);
      if (!v || k === undefined) return;
      forgetIn(v, userId);
      // With erasures owed, the report without them is made again at the next scrape (which reads it first), not
      // here as well: a second pass over the columns on the thread that answers requests, at every erasure.
      if (!deps.owed || deps.owed.size === 0) gauge(v.report);
    },

    /** Null when the active model has no profiles (or no model is active). */
    async report(): Promise<(SegmentReport & { modelVersion: string; asOf: string }) | null> {
      unlessCustomersHeld();
      const v = await current();
      if (!v) return null;
      // The gauges follow the report as it is answered (a scrape reads it first): owed customers left out of both.
      const report = reportWithoutOwed(v);
      gauge(report);
      return { ...report, modelVersion: v.version, asOf: new Date(v.now).toISOString() };
    },

    /**
     * The segment gauges made again from the report (a scrape's refresh). While every customer is held they are left
     * as they were, nothing read: the report would be refused (503), an expected state of a start with Postgres down
     * that readiness (`erasureCatchUp`) and the `customers-held` fallbacks already show, not a failure to log at every
     * scrape.
     */
    async refreshGauges(): Promise<void> {
      if (deps.customersHeld?.()) return;
      await this.report();
    },

    /** A customer's profile; null when they have no purchase (or no model with profiles is active). */
    async profile(userId: string): Promise<ProfileView | null> {
      unlessCustomersHeld();
      const v = await current();
      if (!v) return null;
      const row = v.byUser.get(userId);
      const old = row === undefined ? undefined : v.columns.profile(row);
      const live = await deps.store.getUserEvents(userId);
      if (old && live.length === 0) return { ...old, modelVersion: v.version, source: 'model', asOf: new Date(v.now).toISOString() };
      // The population was profiled over the training's window: a refresh reads the same one (with all purchases
      // since), net of the returns the training could see, those stored by the time it was trained: a return is seen
      // from the next training on, for a customer with live events as for one without (whose trained profile is kept).
      const seen = Number.isFinite(v.trainedAt) ? { returnsStoredBy: new Date(v.trainedAt) } : {};
      // The shop's latest purchase without those of customers whose erasure is owed, as a training (which reads none of
      // them) dates it: an owed customer's last purchase must not move another's recency.
      const [rows, last] = await Promise.all([deps.events.loadPurchaseRows({ userId, ...(v.from ? { from: v.from } : {}), ...seen }), latestPurchaseNotOwed(deps.events, deps.owed)]);
      if (rows.length === 0) return null;
      // Titles and categories of what they bought feed the profile's top terms.
      const items = await deps.catalog.getItems([...new Set(rows.map((r) => r.itemId))]);
      const ds = buildDataset({ events: rows, items, onlyInteractedItems: true });
      // Recency from the latest purchase the shop has (as a training measures it), not this customer's own.
      const now = Math.max(v.now, ds.now, last ? Date.parse(last) : -Infinity);
      const [fresh] = computeProfiles(ds, { now });
      return { ...refreshed(v, fresh, old, now), modelVersion: v.version, source: 'refreshed', asOf: new Date(now).toISOString() };
    },

    /**
     * Ids of the customers of one group (audience and export filters); null when no model with profiles is active.
     * Refused while every customer is held, as the report and members are: not null, which reads as "no profiles".
     */
    async userIdsIn(dimension: SegmentDimension, name: string): Promise<Set<string> | null> {
      unlessCustomersHeld();
      const v = await current();
      if (!v) return null;
      const { userIds } = v.columns;
      return new Set(Array.from(rowsIn(v, dimension, name), (k) => userIds[k]));
    },

    /**
     * Customers of one group, by descending spend (ids break ties), `limit` from `offset` or strictly
     * after the member a `cursor` (a page's `nextCursor`) names, so a customer erased meanwhile does not
     * shift the pages; null when no model with profiles is active. The members are one model version's:
     * a cursor of another (a training or rollback between two pages) is a 409, not paged across both.
     */
    async members(dimension: SegmentDimension, name: string, page: { limit: number; offset?: number; cursor?: string }) {
      const after = page.cursor === undefined ? null : decodeCursor(page.cursor, MEMBERS_CURSOR);
      const g = listTag(`${dimension}:${name}`);
      if (after && after.g !== g) throw badCursor('a cursor of another group (dimension, name), asked with this one');
      unlessCustomersHeld();
      const v = await current();
      if (!v) return null;
      if (after && after.v !== v.version) {
        throw new AppError('CONFLICT', `cursor: the members are model version ${v.version}'s now, not ${after.v}'s as on the pages before; start again without the cursor`);
      }
      const rows = groupRows(v, dimension, name);
      const { monetary, userIds } = v.columns;
      // Owed erasures' customers are skipped where they lie: the page is still `limit` members long (short only as
      // the last), `offset` counts the members without them, and a cursor names the last member shown, so the next
      // page begins after it whether or not an erasure was asked or completed between the two.
      const owed = owedPlaces(v, rows);
      const unowed = (raw: number) => raw - lowerBound(owed, raw);
      // The first member strictly after the cursor's: the rows are in the order the predicate rises in.
      let at = after ? firstWhere(rows.length, (p) => monetary[rows[p]] < after.k || (monetary[rows[p]] === after.k && userIds[rows[p]] > after.id)) : rawPlace(owed, page.offset ?? 0);
      const picked: number[] = [];
      for (let s = lowerBound(owed, at); at < rows.length && picked.length < page.limit; at++) {
        if (owed[s] === at) s++;
        else picked.push(rows[at]);
      }
      const users = picked.map((k) => v.columns.profile(k));
      const last = users.at(-1);
      const total = rows.length - owed.length;
      const nextCursor = last && unowed(at) < total ? encodeCursor({ v: v.version, g, k: last.monetary, id: last.userId }) : null;
      return { modelVersion: v.version, total, users, nextCursor };
    },
  };
}

export type ProfileService = ReturnType<typeof createProfileService>;
