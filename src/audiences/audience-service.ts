/**
 * GET /v1/items/:id/audience and POST /v1/audiences: the customers most likely to buy a product, a
 * category or a list of items, from the active model's per-customer scores (audience-index.ts). The
 * index is read once per model version from the postings its training stored (audience-artifact.ts), or,
 * for a version trained before those were, built from the version's stored entries (one batched read per
 * 1,000 customers; the inversion in a worker thread, audience-index-build.ts), and kept while the version
 * is served; a customer erased is taken out of every index this process holds, in place (forgetUser).
 */
import { AppError, notInModel } from '../errors.js';
import type { ProfileService } from '../profiles/profile-service.js';
import { itemsInCategory } from '../serving/category-match.js';
import { roundScore, nameOf } from '../serving/recommendation.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact, userIdsAt } from '../serving/serving-artifacts.js';
import { familySource, type ServingModel } from '../serving/serving-model.js';
import { decodeUserEntry, USERS_TABLE, type UserEntry } from '../serving/user-entry.js';
import type { ModelStore } from '../store/model-store.js';
import { ArtifactFormatError, type ArtifactRangeReader } from '../recommenders/artifact.js';
import { AUDIENCE_ARTIFACTS, decodeAudienceArtifact, type StoredAudience } from './audience-artifact.js';
import { audienceIndexOf, buildCustomerPostings, explainMember, packEntries, rankAudience, RELATED_FAMILIES, withoutUser, type AudienceIndex, type AudienceMember, type PackedEntries } from './audience-index.js';
import { buildPostingsHere, type PostingsBuilder } from './audience-index-build.js';

/**
 * Propensity exponent of the audience score, chosen on the validation split before 2011-11-01 on
 * Online Retail (bench/audience.ts; the test period is not read for it): recall@100 0.093 / 0.128 /
 * 0.173 / 0.167 / 0.151 for gamma -1 / -0.5 / 0 / 0.5 / 1. The blend already favours what active
 * customers buy (their candidate lists are where most new purchases land), so no extra prior.
 */
export const AUDIENCE_GAMMA = 0;
/** Customers who bought a target within this many days of the training data's end are left out by default. */
export const DEFAULT_RECENT_DAYS = 90;
const DAY_MS = 86_400_000;
const READ_BATCH = 1000;
/** Entries decoded in one stretch of the event loop. */
const DECODE_CHUNK = 250;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface AudienceQuery {
  /** Item ids; or `category` (every item of the model's catalogue in it). */
  itemIds?: readonly string[];
  category?: string;
  k: number;
  /** RFM segment and/or lifecycle stage the customers must be in (active model's profiles). */
  segment?: string;
  lifecycle?: string;
  /** Keep customers who bought a target within `recentDays` (default: leave them out). */
  includeRecentBuyers?: boolean;
  recentDays?: number;
}

export interface AudienceUser {
  userId: string;
  score: number;
  /** `candidate`: the models scored the product for them; `related`: they bought a related product. */
  tier: 'candidate' | 'related';
  /** Why they are in the audience: the purchase that connects them, or the model that scored them. */
  reason: string;
  /** The target (item id) they scored best on. */
  itemId: string;
}

export interface Audience {
  modelVersion: string;
  itemIds: string[];
  k: number;
  /**
   * True when the model store lost some members' entries (not erased: explainedMembers): they are ranked as
   * usual, but their reason names only the model ("scored by the hybrid model"), not the purchase or source; those
   * the store lost the user index of too are left out (explainedMembers `incomplete`).
   */
  fallback: boolean;
  users: AudienceUser[];
}

/** An index with each customer's entry position in it (for the recent buyers told by Postgres). */
export interface LoadedAudienceIndex {
  index: AudienceIndex;
  positions: ReadonlyMap<string, number>;
  /**
   * The training's user index position of each customer of the index (stored postings: their `positions`), to
   * tell an erased member from a lost entry (explainedMembers); undefined for an index built from the entries.
   */
  rows?: Int32Array;
}

/**
 * The audience index of a version: from its stored postings (audience-artifact.ts, written by trainings since
 * they were) when it has them, else built from every customer's entry (buildFromEntries). A version that newer
 * trainings deleted meanwhile (MODEL_VERSIONS_KEPT; it is unlisted before its data goes) gave some reads
 * nothing: 503, ask again (the process serves the newer version within seconds, and an export waits for it as
 * for a store that does not answer), rather than an audience short of those customers.
 */
export async function loadAudienceIndex(
  store: Pick<ModelStore, 'getArtifact' | 'getEntries'> & Partial<Pick<ModelStore, 'listVersions'>>,
  model: ServingModel,
  build: PostingsBuilder = buildPostingsHere,
): Promise<LoadedAudienceIndex> {
  const { version } = model.meta;
  const bytes = await store.getArtifact(version, ARTIFACT_USER_IDS);
  const all = bytes ? decodeUserIdsArtifact(bytes) : [];
  let stored: StoredAudience | null = null;
  for (const name of AUDIENCE_ARTIFACTS) {
    const storedBytes = await store.getArtifact(version, name);
    stored = storedBytes && storedOf(storedBytes, model);
    if (stored) break;
  }
  const stillListed = async () => {
    if (store.listVersions && !(await store.listVersions()).some((v) => v.version === version)) {
      throw new AppError('DEPENDENCY_UNAVAILABLE', `model version ${version} is no longer in the model store (a newer training deleted it, or the store lost it) while its customers were read: ask again`);
    }
  };
  if (!stored) return buildFromEntries(store, model, all, build, stillListed);
  const loaded = await fromStored(stored, all, model);
  await stillListed();
  return loaded;
}

/** The stored postings when they are of this format and this version's items; null: built the old way. */
function storedOf(bytes: Uint8Array, model: ServingModel): StoredAudience | null {
  try {
    const stored = decodeAudienceArtifact(bytes, { share: true });
    return stored.itemCount === model.items.ids.length ? stored : null;
  } catch (err) {
    if (err instanceof ArtifactFormatError) return null;
    throw err;
  }
}

const indexInput = (model: ServingModel, userIds: string[]) => ({
  userIds,
  itemCount: model.items.ids.length,
  neighbours: model.neighbours,
  relatedSources: relatedSourcesOf(model),
  hybridSources: model.info.hybridSources,
});

/**
 * The index over the stored postings: only the customers' ids are looked up (DECODE_CHUNK * 40 a stretch). A
 * customer erased since the training is '' in the user index and wiped in the postings already (user-erasure.ts).
 */
async function fromStored(stored: StoredAudience, all: readonly string[], model: ServingModel): Promise<LoadedAudienceIndex> {
  const { positions } = stored;
  const userIds = new Array<string>(positions.length);
  const at = new Map<string, number>();
  const index = audienceIndexOf(indexInput(model, userIds), stored.postings);
  for (let from = 0; from < positions.length; from += DECODE_CHUNK * 40) {
    await turn();
    for (let c = from; c < Math.min(positions.length, from + DECODE_CHUNK * 40); c++) {
      const id = all[positions[c]] ?? '';
      userIds[c] = id;
      if (id === '') index.gone[c] = 1;
      else at.set(id, c);
    }
  }
  return { index, positions: at, rows: positions };
}

/**
 * Reads every customer's entry of a version and inverts them (customers without one are not in any audience):
 * versions trained before the postings were stored.
 *
 * None of it holds the event loop for long, so requests are answered while it runs (at 420,000 customers it
 * took 91-200 s on a loaded machine, the storefront shed meanwhile): the entries are decoded DECODE_CHUNK at a
 * time with a turn of the event loop between, and packed as they come; the inversion, the bulk of the work,
 * is `build`'s (a worker thread in the service: audience-index-build.ts).
 */
async function buildFromEntries(
  store: Pick<ModelStore, 'getEntries'>,
  model: ServingModel,
  all: readonly string[],
  build: PostingsBuilder,
  stillListed: () => Promise<void>,
): Promise<LoadedAudienceIndex> {
  const userIds: string[] = [];
  const positions = new Map<string, number>();
  const chunks: PackedEntries[] = [];
  const sourceCount = model.info.hybridSources.length;
  for (let from = 0; from < all.length; from += READ_BATCH) {
    const ids = all.slice(from, from + READ_BATCH);
    const rows = await store.getEntries(model.meta.version, USERS_TABLE, ids);
    for (let at = 0; at < rows.length; at += DECODE_CHUNK) {
      await turn();
      const decoded: UserEntry[] = [];
      for (let k = at; k < Math.min(rows.length, at + DECODE_CHUNK); k++) {
        const row = rows[k];
        if (!row) continue;
        positions.set(ids[k], userIds.length);
        userIds.push(ids[k]);
        decoded.push(decodeUserEntry(row));
      }
      chunks.push(packEntries(decoded, sourceCount));
    }
  }
  // Before the inversion: a version deleted while its entries were read is not worth inverting.
  await stillListed();
  const postings = await build(chunks, model.items.ids.length);
  return { index: audienceIndexOf(indexInput(model, userIds), postings), positions };
}

/** What explainedMembers reads of the store: the entries, and to tell a lost entry, the listing and the user index. */
type ExplainReads = Pick<ModelStore, 'getEntries'> & Partial<Pick<ModelStore, 'listVersions' | 'getArtifact' | 'readArtifactRange'>>;

/**
 * The members with their anchors and sources: those ranked from postings without them (the stored ones) get
 * them from their entries, one batched read per READ_BATCH of them (an audience of 100: 100 entries, where the
 * postings' anchors and sources were 88 MB per version at 100,000 customers). A member erased since the ranking
 * (taken out of the index) is left out, of either tier: the event loop turned during the read, and the answer,
 * made after it, would name a related-tier one by the '' the erasure left. A member whose entry is missing
 * otherwise is one of three:
 * - the version is no longer listed (newer trainings deleted it; it is unlisted before its data goes): 503, ask again;
 * - another process erased them and this one was not told yet: the erasure blanks their id in the version's user
 *   index before it deletes their entry (user-erasure.ts scrub), so their id is no longer at their position
 *   (`rows`): left out;
 * - the store lost the entry (a Redis hash is one key: an `allkeys-*` eviction or a shard restarted empty takes
 *   the whole users table, and only a new training brings it back): kept where it ranks, with no anchor or source
 *   (`entryLost`: the answer is marked fallback). A 503 here was one at every audience of the version, for good.
 * Without `rows` (or a user index to read) a member whose entry is missing is left out. One whose position in the
 * user index cannot be read (the store lost the user index too, or it was rewritten between the ranged reads) is
 * left out as well, since it cannot be told from an erased one, and the result is marked `incomplete` (the answer
 * says fallback, and an export refuses it rather than writing the rest as the whole audience).
 */
export async function explainedMembers(
  store: ExplainReads,
  version: string,
  index: AudienceIndex,
  members: readonly AudienceMember[],
  rows?: Int32Array,
): Promise<AudienceMember[] & { incomplete?: true }> {
  const asked = members.filter((m) => m.unexplained);
  if (asked.length === 0) return [...members];
  const entries = new Map<number, UserEntry | null>();
  for (let from = 0; from < asked.length; from += READ_BATCH) {
    const part = asked.slice(from, from + READ_BATCH);
    const read = await store.getEntries(version, USERS_TABLE, part.map((m) => index.userIds[m.user]));
    part.forEach((m, k) => entries.set(m.user, read[k] ? decodeUserEntry(read[k]) : null));
  }
  const missing = asked.filter((m) => !entries.get(m.user) && index.gone[m.user] !== 1).map((m) => m.user);
  const { named, unknown } = missing.length > 0 ? await stillNamed(store, version, index, missing, rows) : { named: new Set<number>(), unknown: false };
  const out: AudienceMember[] & { incomplete?: true } = members.flatMap((m) => {
    if (index.gone[m.user] === 1) return [];
    if (!m.unexplained) return [m];
    const entry = entries.get(m.user);
    if (entry) return [explainMember(m, entry, index.hybridSources)];
    if (!named.has(m.user)) return [];
    const { unexplained: _u, ...rest } = m;
    return [{ ...rest, entryLost: true as const }];
  });
  if (unknown) out.incomplete = true;
  return out;
}

/**
 * Those of `users` (of the index) whose id the version's stored user index still holds at their position: not
 * erased. 503 when the version is no longer listed: its entries went with it.
 */
async function stillNamed(store: ExplainReads, version: string, index: AudienceIndex, users: readonly number[], rows?: Int32Array): Promise<{ named: Set<number>; unknown: boolean }> {
  if (store.listVersions && !(await store.listVersions()).some((v) => v.version === version)) {
    throw new AppError('DEPENDENCY_UNAVAILABLE', `model version ${version} is no longer in the model store (a newer training deleted it) while its audience members' entries were read: ask again`);
  }
  const read = userIndexReader(store, version);
  if (!rows || !read) return { named: new Set(), unknown: false };
  const ids = await userIdsAt(read, users.map((u) => rows[u] ?? -1));
  // Blank (''): erased, left out as if never there. No id to read (the user index lost too) or another id there
  // (read across a rewrite): cannot be told from erased, so left out, but the answer is not whole (`unknown`).
  const named = new Set(users.filter((u, k) => ids !== null && ids[k] !== null && ids[k] !== '' && ids[k] === index.userIds[u]));
  const unknown = users.some((u, k) => !named.has(u) && (ids === null || ids[k] !== ''));
  return { named, unknown };
}

/** Ranged reads of the version's user index: the store's, else slices of the whole artifact read once. */
function userIndexReader(store: ExplainReads, version: string): ArtifactRangeReader | null {
  if (store.readArtifactRange) return store.readArtifactRange.bind(store, version, ARTIFACT_USER_IDS);
  if (!store.getArtifact) return null;
  const getArtifact = store.getArtifact.bind(store);
  let whole: Promise<Uint8Array | null> | undefined;
  return async (start, end) => {
    const bytes = await (whole ??= getArtifact(version, ARTIFACT_USER_IDS));
    return bytes ? bytes.subarray(start, end) : null;
  };
}

/** The version's sources of RELATED_FAMILIES: the recipe may name them otherwise than their families. */
export function relatedSourcesOf(model: ServingModel): string[] {
  return RELATED_FAMILIES.flatMap((family) => familySource(model, family) ?? []);
}

/** The phrase of a member's reason. */
export function audienceReason(model: ServingModel, m: AudienceMember): string {
  if (m.anchor >= 0) return m.tier === 'related' ? `bought ${nameOf(model, m.anchor)}, a related product` : `bought ${nameOf(model, m.anchor)}`;
  return m.source ? `scored by the ${m.source} model` : 'scored by the hybrid model';
}

export function createAudienceService(deps: {
  model: () => Promise<ServingModel | null>;
  store: Pick<ModelStore, 'getArtifact' | 'getEntries' | 'listVersions'> & Partial<Pick<ModelStore, 'readArtifactRange'>>;
  profiles: Pick<ProfileService, 'userIdsIn'>;
  /**
   * The customers who bought any of these items at or after `since` (ms), from Postgres: purchases since
   * training count, and each purchase's own date. Without it, recent buyers are told from the customers'
   * entries, which date only their latest distinct purchases (audience-index.ts boughtAt).
   */
  recentBuyers?: (itemIds: readonly string[], since: number) => Promise<string[]>;
  gamma?: number;
  /** Where an index's postings are built (default: on this thread; the service's is a worker thread). */
  buildPostings?: PostingsBuilder;
  /**
   * Whether the customer's erasure is owed (asked for and recorded, not completed: privacy/owed-erasures.ts): they are
   * in no audience, as the erased are, and the next customers take their places (k are still asked of the ranking),
   * until it completes and the index loses them. None owed (`size` 0): nothing is asked per customer.
   */
  owed?: { has: (userId: string) => boolean; readonly size: number };
  /**
   * True while every customer is held (serving.holdingCustomers: a process started with Postgres down has not read the
   * erasures yet): an audience is refused (503) rather than answered with nobody in it, which read as no customer
   * likely to buy the items (`fallback: false`), for a campaign or an export built from it.
   */
  held?: () => boolean;
}) {
  const indexes = new WeakMap<ServingModel, Promise<LoadedAudienceIndex>>();
  /** Entry positions of these customers in the index (customers it does not hold are in no audience). */
  const positionsOf = (at: ReadonlyMap<string, number>, userIds: readonly string[]): Set<number> => new Set(userIds.flatMap((id) => at.get(id) ?? []));
  /** The indexes built, weakly: one of a version no longer served goes with its model. */
  const held = new Set<WeakRef<LoadedAudienceIndex>>();
  /**
   * For each index being read, the customers erased meanwhile: it may have read their entries before the
   * erasure deleted them, so they are taken out of it as it is built. Nothing is kept past that: an
   * erasure costs no memory for the process's life (a set of every id erased, as before, grew without bound).
   */
  const erasedWhileLoading = new Set<Set<string>>();

  /** The indexes whose customers' places are being built (audience-index.ts buildCustomerPostings). */
  const placing = new WeakSet<AudienceIndex>();
  /**
   * The customers' places of an index, after its first erasure, a stretch per turn of the event loop: the
   * erasures meanwhile scan the postings, as every erasure did before; those after touch only their customer's.
   */
  const placeCustomers = (index: AudienceIndex) => {
    if (index.own || placing.has(index)) return;
    placing.add(index);
    void (async () => {
      const build = buildCustomerPostings(index, index.userIds.length);
      for (;;) {
        const step = build.next();
        if (step.done) {
          index.own = step.value;
          return;
        }
        await turn();
      }
    })().finally(() => placing.delete(index));
  };

  /** The customer taken out of one built index (audience-index.ts withoutUser). */
  const forgetIn = (loaded: LoadedAudienceIndex, userId: string) => {
    const at = loaded.positions.get(userId);
    if (at === undefined) return;
    (loaded.positions as Map<string, number>).delete(userId);
    withoutUser(loaded.index, at);
    placeCustomers(loaded.index);
  };

  const indexOf = (model: ServingModel) => {
    let index = indexes.get(model);
    if (!index) {
      const meanwhile = new Set<string>();
      erasedWhileLoading.add(meanwhile);
      index = loadAudienceIndex(deps.store, model, deps.buildPostings).then((loaded) => {
        for (const id of meanwhile) forgetIn(loaded, id);
        held.add(new WeakRef(loaded));
        return loaded;
      });
      void index.finally(() => erasedWhileLoading.delete(meanwhile)).catch(() => {});
      // A failed read (store down) is tried again by the next request.
      index.catch(() => indexes.delete(model));
      indexes.set(model, index);
    }
    return index;
  };

  /** Targets as item indices; 404 for an unknown item, 422 for a category without items. */
  function targetsOf(model: ServingModel, q: AudienceQuery): number[] {
    if (q.category !== undefined) {
      const out: number[] = [];
      itemsInCategory(model.items.categories, q.category).forEach((inside, i) => inside === 1 && out.push(i));
      if (out.length === 0) throw new AppError('UNPROCESSABLE', `no item of the active model is in category "${q.category}"`, [{ path: 'category', message: 'no items' }]);
      return out;
    }
    return (q.itemIds ?? []).map((id) => {
      const i = model.items.index.get(id);
      if (i === undefined) throw notInModel(id);
      return i;
    });
  }

  /** Who may be in the audience: the asked groups' members (the erased are out of the index already). */
  async function filterOf(index: AudienceIndex, q: AudienceQuery): Promise<((u: number) => boolean) | undefined> {
    const groups: Set<string>[] = [];
    for (const [dimension, name] of [['segment', q.segment], ['lifecycle', q.lifecycle]] as const) {
      if (name === undefined) continue;
      const ids = await deps.profiles.userIdsIn(dimension, name);
      if (!ids) throw new AppError('UNPROCESSABLE', 'the active model has no customer profiles to filter by', [{ path: dimension, message: 'no profiles' }]);
      groups.push(ids);
    }
    if (groups.length === 0) return undefined;
    return (u) => {
      const id = index.userIds[u];
      return groups.every((g) => g.has(id));
    };
  }

  /** `allow` less the customers whose erasure is owed (the same when none is). */
  const withoutOwed = (index: AudienceIndex, allow: ((u: number) => boolean) | undefined): ((u: number) => boolean) | undefined => {
    const owed = deps.owed;
    if (!owed || owed.size === 0) return allow;
    return (u) => !owed.has(index.userIds[u]) && (allow === undefined || allow(u));
  };

  return {
    /** Null when no model is active. */
    async audience(q: AudienceQuery): Promise<Audience | null> {
      const model = await deps.model();
      if (!model) return null;
      if (deps.held?.()) throw new AppError('DEPENDENCY_UNAVAILABLE', 'the customers cannot be named until the erasures are read from Postgres (this process started while it did not answer): ask again');
      const targets = targetsOf(model, q);
      const { index, positions, rows } = await indexOf(model);
      const recentDays = q.recentDays ?? DEFAULT_RECENT_DAYS;
      const since = q.includeRecentBuyers ? null : model.info.now - recentDays * DAY_MS;
      const filter = await filterOf(index, q);
      // Recent buyers by their purchases in Postgres when it can be read: entries date only a customer's
      // latest distinct purchases, and know nothing bought since training.
      const recent = since !== null && deps.recentBuyers ? positionsOf(positions, await deps.recentBuyers(targets.map((t) => model.items.ids[t]), since)) : null;
      const ranked = rankAudience(index, {
        targets,
        k: q.k,
        gamma: deps.gamma ?? AUDIENCE_GAMMA,
        excludeBuyersSince: recent ? null : since,
        allow: withoutOwed(index, recent ? (u) => !recent.has(u) && (filter === undefined || filter(u)) : filter),
      });
      const members = await explainedMembers(deps.store, model.meta.version, index, ranked, rows);
      return {
        modelVersion: model.meta.version,
        itemIds: targets.map((t) => model.items.ids[t]),
        k: q.k,
        fallback: members.incomplete === true || members.some((m) => m.entryLost),
        users: members.map((m) => ({
          userId: index.userIds[m.user],
          score: roundScore(m.score),
          tier: m.tier,
          reason: audienceReason(model, m),
          itemId: model.items.ids[m.target],
        })),
      };
    },
    /**
     * After an erasure: the customer is in no audience of any version from now on, and nothing of them is
     * kept: they are taken out of every index held, in place (their entry, id and candidate scores), and of
     * those being read as these are built. Their entry is gone from the store (the erasure deleted it before
     * telling). Building an index again instead read every customer's entry (176 s at 420,000 customers),
     * after every erasure.
     */
    forgetUser(userId: string): void {
      for (const meanwhile of erasedWhileLoading) meanwhile.add(userId);
      for (const ref of held) {
        const loaded = ref.deref();
        if (loaded) forgetIn(loaded, userId);
        else held.delete(ref);
      }
    },
  };
}

export type AudienceService = ReturnType<typeof createAudienceService>;
