import { z } from 'zod';
import type { CatalogRepository } from '../data/catalog-repository.js';
import { badCursor, cursorId, cursorTag, decodeCursor, encodeCursor, listTag } from '../data/list-cursor.js';
import { AppError } from '../errors.js';
import type { EventRepository } from '../data/event-repository.js';
import type { Metrics } from '../metrics.js';
import { buildDataset } from '../recommenders/dataset.js';
import type { ModelMeta, ModelStore } from '../store/model-store.js';
import { decodeProfilesInChunks } from './profile-codec.js';
import { computeProfiles, DAY_MS, type CustomerProfile } from './profile.js';
import { PROFILES_ARTIFACT } from './profiles-artifact.js';
import { populationOf, populationWithout, percentileIn, scoreIn, type Population } from './population-score.js';
import { frequencyScore } from './rfm-score.js';
import { segmentReport, type SegmentReport } from './segment-report.js';
import { lifecycleStage, rfmSegment, RFM_SEGMENTS, LIFECYCLE_STAGES, VALUE_TIERS, type SegmentedProfile } from './segments.js';

/** What a cursor of a group's members holds: the model version, the group's tag, the last member's spend and id. */
const MEMBERS_CURSOR = z.strictObject({ v: z.string().min(1).max(256), g: cursorTag, k: z.number(), id: cursorId });

export type SegmentDimension = 'segment' | 'lifecycle' | 'valueTier';
export const SEGMENT_NAMES: Record<SegmentDimension, readonly string[]> = {
  segment: RFM_SEGMENTS,
  lifecycle: LIFECYCLE_STAGES,
  valueTier: VALUE_TIERS,
};

/** The decoded profiles of one model version, with what a refresh needs. Changed only by an erasure (forgetUser). */
interface VersionProfiles {
  version: string;
  /** Reference time of the training data (its latest purchase). */
  now: number;
  /** Start of the purchases it was trained on (`from` of the training's window), null for all of them. */
  from: Date | null;
  /** When it was trained: a refresh nets the returns stored by then only (a return is seen from the next training on). */
  trainedAt: number;
  byUser: Map<string, SegmentedProfile>;
  list: SegmentedProfile[];
  report: SegmentReport;
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

export function createProfileService(deps: {
  store: ModelStore;
  events: Pick<EventRepository, 'loadPurchaseRows' | 'purchaseRange'>;
  catalog: Pick<CatalogRepository, 'getItems'>;
  metrics?: Metrics;
  /**
   * The version this process serves from memory, if any. A store that lost every version (a Redis restarted
   * empty) names none active while the process still serves this one: its profiles, when held here, are
   * still the served model's, and answer until a training publishes again.
   */
  served?: () => ModelMeta | null;
}) {
  let cached: VersionProfiles | null = null;
  // Bumped by forgetUser: a load that started before an erasure must not be kept after it.
  let generation = 0;

  /** The load under way, shared by the requests that wait for it (each decoding it too held the thread that much longer). */
  let loading: { version: string; generation: number; promise: Promise<VersionProfiles | null> } | null = null;

  async function current(): Promise<VersionProfiles | null> {
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
   * Decodes a version's profiles a chunk at a time with a turn of the event loop between (decodeProfilesInChunks),
   * so requests are answered meanwhile: in one stretch, 420,000 profiles held the thread for 6-12 s.
   */
  async function load(meta: ModelMeta): Promise<VersionProfiles | null> {
    const started = generation;
    const bytes = await deps.store.getArtifact(meta.version, PROFILES_ARTIFACT);
    if (!bytes) return null;
    const decoded = await decodeProfilesInChunks(bytes, turn);
    const list = decoded.profiles;
    const byUser = new Map<string, SegmentedProfile>();
    for (let k = 0; k < list.length; k++) {
      if (k > 0 && k % 20_000 === 0) await turn();
      byUser.set(list[k].userId, list[k]);
    }
    const next: VersionProfiles = {
      version: meta.version,
      now: decoded.now ?? Date.parse(meta.trainedAt),
      from: windowStart(meta.info),
      trainedAt: Date.parse(meta.trainedAt),
      byUser,
      list,
      report: segmentReport(list),
      // Recency is scored on negated days (fewer days = higher score), as in computeProfiles.
      recency: populationOf(list.map((p) => -p.recencyDays)),
      frequency: populationOf(list.map((p) => p.frequency)),
      monetary: populationOf(list.map((p) => p.monetary)),
    };
    if (started !== generation) return next;
    cached = next;
    if (deps.metrics) {
      deps.metrics.segmentSize.reset();
      for (const s of next.report.segments) deps.metrics.segmentSize.set({ segment: s.name }, s.users);
    }
    return next;
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
     * After an erasure: the customer is taken out of the decoded profiles in place, as the redacted
     * artifact holds them (the others, the segment counts and the populations a refresh is scored
     * against without them). Dropping them all instead made the next read decode the whole artifact
     * again on the thread that answers requests: 6-12 s at 420,000 customers, after every erasure.
     */
    forgetUser(userId: string): void {
      generation++;
      const v = cached;
      const gone = v?.byUser.get(userId);
      if (!v || !gone) return;
      const list = v.list.filter((p) => p.userId !== userId);
      // In place: a read holding this version's profiles no longer finds them either.
      v.byUser.delete(userId);
      cached = {
        ...v,
        list,
        report: segmentReport(list),
        recency: populationWithout(v.recency, -gone.recencyDays),
        frequency: populationWithout(v.frequency, gone.frequency),
        monetary: populationWithout(v.monetary, gone.monetary),
      };
      deps.metrics?.segmentSize.set({ segment: gone.segment }, cached.report.segments.find((g) => g.name === gone.segment)?.users ?? 0);
    },

    /** Null when the active model has no profiles (or no model is active). */
    async report(): Promise<(SegmentReport & { modelVersion: string; asOf: string }) | null> {
      const v = await current();
      return v && { ...v.report, modelVersion: v.version, asOf: new Date(v.now).toISOString() };
    },

    /** A customer's profile; null when they have no purchase (or no model with profiles is active). */
    async profile(userId: string): Promise<ProfileView | null> {
      const v = await current();
      if (!v) return null;
      const old = v.byUser.get(userId);
      const live = await deps.store.getUserEvents(userId);
      if (old && live.length === 0) return { ...old, modelVersion: v.version, source: 'model', asOf: new Date(v.now).toISOString() };
      // The population was profiled over the training's window: a refresh reads the same one (with all purchases
      // since), net of the returns the training could see, those stored by the time it was trained: a return is seen
      // from the next training on, for a customer with live events as for one without (whose trained profile is kept).
      const seen = Number.isFinite(v.trainedAt) ? { returnsStoredBy: new Date(v.trainedAt) } : {};
      const [rows, range] = await Promise.all([deps.events.loadPurchaseRows({ userId, ...(v.from ? { from: v.from } : {}), ...seen }), deps.events.purchaseRange()]);
      if (rows.length === 0) return null;
      // Titles and categories of what they bought feed the profile's top terms.
      const items = await deps.catalog.getItems([...new Set(rows.map((r) => r.itemId))]);
      const ds = buildDataset({ events: rows, items, onlyInteractedItems: true });
      // Recency from the latest purchase the shop has (as a training measures it), not this customer's own.
      const now = Math.max(v.now, ds.now, range.last ? Date.parse(range.last) : -Infinity);
      const [fresh] = computeProfiles(ds, { now });
      return { ...refreshed(v, fresh, old, now), modelVersion: v.version, source: 'refreshed', asOf: new Date(now).toISOString() };
    },

    /** Ids of the customers of one group (audience and export filters); null when no model with profiles is active. */
    async userIdsIn(dimension: SegmentDimension, name: string): Promise<Set<string> | null> {
      const v = await current();
      if (!v) return null;
      return new Set(v.list.filter((p) => p[dimension] === name).map((p) => p.userId));
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
      const v = await current();
      if (!v) return null;
      if (after && after.v !== v.version) {
        throw new AppError('CONFLICT', `cursor: the members are model version ${v.version}'s now, not ${after.v}'s as on the pages before; start again without the cursor`);
      }
      const all = v.list.filter((p) => p[dimension] === name).sort((a, b) => b.monetary - a.monetary || (a.userId < b.userId ? -1 : 1));
      const found = after ? all.findIndex((p) => p.monetary < after.k || (p.monetary === after.k && p.userId > after.id)) : (page.offset ?? 0);
      const from = found < 0 ? all.length : found;
      const users = all.slice(from, from + page.limit);
      const last = users.at(-1);
      const nextCursor = last && from + page.limit < all.length ? encodeCursor({ v: v.version, g, k: last.monetary, id: last.userId }) : null;
      return { modelVersion: v.version, total: all.length, users, nextCursor };
    },
  };
}

export type ProfileService = ReturnType<typeof createProfileService>;
