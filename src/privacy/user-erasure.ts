import { randomUUID } from 'node:crypto';
import { AppError, dependencyFailure } from '../errors.js';
import { AUDIENCE_ARTIFACT, AUDIENCE_ARTIFACTS, audiencePatchesWithout, audienceRowsLeft } from '../audiences/audience-artifact.js';
import { decodeUserEntry, USERS_TABLE } from '../serving/user-entry.js';
import type { Db } from '../data/db.js';
import type { ErasureRepository } from '../data/erasure-repository.js';
import { LONG_STATEMENT_MS, withQueryTimeout } from '../data/query-timeout.js';
import type { EventRepository } from '../data/event-repository.js';
import { profilePatchesWithout } from '../profiles/profile-codec.js';
import { PROFILES_ARTIFACT } from '../profiles/profiles-artifact.js';
import { artifactLayout, type ArtifactPatch, type ArtifactRangeReader } from '../recommenders/artifact.js';
import { recommenderFactory } from '../recommenders/registry.js';
import { ARTIFACT_USER_IDS } from '../serving/serving-artifacts.js';
import { SCRUBBED_AGAIN_KEPT, type ErasureRecords, type ModelMeta, type ModelStore } from '../store/model-store.js';
import { erasureMarkOf, goneFromStore } from '../training/write-model-version.js';
import { createErasureLeases } from './erasure-leases.js';
import { redactHere, type RedactionRunner } from './redaction-runner.js';
import type { OwedErasures } from './owed-erasures.js';

/**
 * Erasures done in one turn at most. Each turn patches every kept version's profiles and ALS rows of its
 * customers in place and rewrites its user index (in a worker thread, redaction-runner.ts) once whatever the
 * number of customers; its patches, Postgres statements and the export rewrite grow with them.
 */
export const ERASURE_BATCH = 100;

/**
 * The look for audience postings a replica of the release before left (audienceCatchUp) runs at least this
 * often whatever the erasure mark does: a few ranged reads per kept version (0.9 MB at 100,000 customers,
 * bench/README.md "Audience erasure catch-up"), no lock unless one is behind.
 */
export const AUDIENCE_RECHECK_MS = 10 * 60_000;
/** After a failed rewrite of the postings (audienceCatchUp), the first wait before another try; it doubles up to AUDIENCE_RETRY_MAX_MS. */
export const AUDIENCE_RETRY_MIN_MS = 60_000;
export const AUDIENCE_RETRY_MAX_MS = 60 * 60_000;

/**
 * At a process's first read of the notes of scrubs done again (scrubbedAgain), a note its writer timed up to this
 * long before the process started counts as written after it: the hosts' clocks differ. Counting one too many costs
 * one read of `erased_users` and forgetting customers erased already.
 */
export const NOTE_CLOCK_SKEW_MS = 60_000;

/**
 * How long an erasure asked for (or taken by the re-driver) is left to the process driving it before another
 * process's re-driver may take it (erasure_requests.next_at), the default of ERASURE_LEASE_MS: past it, the process is
 * taken to have died with it. The process renews it every quarter of it while it holds the erasure (erasure-leases.ts),
 * so it need not outlast an erasure (62-81 s at 420,000 customers, bench/README) with the turns queued before it, as
 * the ten minutes it was did: a process that dies holding one leaves it for a minute, not ten.
 */
export const ERASURE_REQUEST_LEASE_MS = 60_000;
/** The longest back-off between two failed tries of an erasure owed (the first is ERASURE_REDRIVE_MS, doubling). */
export const ERASURE_REDRIVE_MAX_BACKOFF_MS = 15 * 60_000;
/** The default of ERASURE_REDRIVE_MS: how often the re-driver looks for erasures owed, and the first back-off. */
export const ERASURE_REDRIVE_MS = 30_000;

const owed = new WeakSet<object>();
/**
 * Whether `err` failed an erasure that was recorded as asked (erasure_requests) first: the service completes it
 * (erasure-redriver.ts) whether or not the caller sends it again.
 */
export const erasureOwed = (err: unknown): boolean => typeof err === 'object' && err !== null && owed.has(err);

/**
 * The failure of an erasure this process had recorded or taken and found another's when its turn came (its lease ran
 * out here, a Postgres stall or a paused process, and another process took it; or it was asked again of another
 * process): it deleted nothing, and the other completes it. Owed: answered 503 ERASURE_HELD_ELSEWHERE (its own code: a
 * client can tell it from a store that did not answer) with Retry-After and ERASURE_OWED_DETAIL.
 */
export function erasureTakenError(): AppError {
  const err = new AppError('ERASURE_HELD_ELSEWHERE', 'another process took over this erasure (asked again there, or the lease ran out here); it completes it');
  owed.add(err);
  taken.add(err);
  return err;
}

const taken = new WeakSet<object>();
/** Whether `err` is an erasureTakenError: nothing failed, another process drives the erasure (no back-off was noted). */
export const erasureTaken = (err: unknown): boolean => typeof err === 'object' && err !== null && taken.has(err);

/** The detail a 503 of an erasure owed carries (DELETE /v1/users/:id): the service completes it. */
export const ERASURE_OWED_DETAIL = {
  path: 'erasure',
  recorded: true,
  message: 'the erasure was recorded and will be completed by the service once the model store answers (ERASURE_REDRIVE_MS); sending it again is safe',
} as const;

/**
 * The detail a 500 of an erasure owed carries: it failed for another reason than a store that did not answer (a bug,
 * an export directory that cannot be read), and the service tries it again all the same, backing off.
 */
export const ERASURE_OWED_RETRIED_DETAIL = {
  path: 'erasure',
  recorded: true,
  message: 'the erasure was recorded and failed; the service tries it again (ERASURE_REDRIVE_MS, backing off up to 15 minutes) until it completes; sending it again is safe',
} as const;

/**
 * The failure of a DELETE's erasure done again (another turn had completed it and deleted its request) that could not
 * be recorded as owed again: nothing completes it, so it is not answered as recorded, and the caller is to send it again.
 */
function notRecordedAgain(err: unknown): AppError {
  const answer = new AppError('DEPENDENCY_UNAVAILABLE', 'the erasure failed and could not be recorded as owed (the database did not answer); send it again');
  answer.cause = err;
  return answer;
}

/**
 * The answer for an erasure that failed: for one owed whose failure is a 503 (a store that did not answer, a close
 * that cut it short), the same code and message with ERASURE_OWED_DETAIL in its details; for one owed that failed
 * otherwise (a 500), INTERNAL with ERASURE_OWED_RETRIED_DETAIL (its cause: the error); else `err` as it is.
 */
export function owedErasureAnswer(err: unknown): unknown {
  if (!erasureOwed(err)) return err;
  const base = err instanceof AppError ? err : dependencyFailure(err);
  if (base && base.status < 500) return err;
  const answer = base?.status === 503
    ? new AppError(base.code, base.message, [...(base.details ?? []), ERASURE_OWED_DETAIL])
    : new AppError('INTERNAL', undefined, [ERASURE_OWED_RETRIED_DETAIL]);
  answer.cause = err;
  return answer;
}

export interface UserErasureDeps {
  events: Pick<EventRepository, 'deleteUsers'>;
  erasures: ErasureRepository;
  store: ModelStore;
  /** Forgets what this process keeps of a user (decoded serving entries, answers, profiles). */
  forget: (userId: string) => Promise<void>;
  /**
   * Removes the users' rows from the campaign export files already written (export-files.ts), and makes the
   * results of their jobs describe the files as they now are; `tx` is the erasure's transaction.
   */
  scrubExports?: (userIds: ReadonlySet<string>, tx: Db) => Promise<unknown>;
  /**
   * The drafts that failed trainings may have left in the store (job-handlers abandonedDrafts): one whose
   * deletion found the store away stays until the next training, with every customer it read. An erasure
   * deletes them. Read before the erasure's transaction, which holds PGlite's one connection.
   */
  abandonedDrafts?: () => Promise<readonly string[]>;
  /**
   * Deletes the drafts whose writer's lease ran out (ModelStore.sweepDrafts by default; services.ts: not while a
   * restore holds its lease in Postgres). Before the erasure's transaction, at each turn and catch-up.
   */
  sweepDrafts?: () => Promise<unknown>;
  /**
   * Deletes the durable copies of model versions (model-copy-repository.ts dropWhole) in the erasure's transaction:
   * every whole copy was made before the erasure and may hold the customers. Absent: no copies kept.
   */
  dropModelCopies?: (tx: Db) => Promise<unknown>;
  /**
   * Where the artifacts are rewritten (redaction-runner.ts): a worker thread in the service, so requests
   * are answered meanwhile. Default: on this thread.
   */
  redaction?: RedactionRunner;
  /**
   * The lease an erasure asked for is taken for and renewed by (default ERASURE_REQUEST_LEASE_MS), and the back-off
   * after a try that failed (default ERASURE_REDRIVE_MS doubling to ERASURE_REDRIVE_MAX_BACKOFF_MS), in
   * erasure_requests. `limitMs`: the limit on the statements that renew a lease and note a failed try
   * (PG_QUERY_TIMEOUT_MS; default LONG_STATEMENT_MS): the note is made in the erasures' queue, and a Postgres that
   * stalls on it must not hold every erasure, rollback and training's publish behind it for the long limit.
   */
  requests?: { leaseMs?: number; backoffMs?: number; maxBackoffMs?: number; limitMs?: number };
  log?: (msg: string, err?: unknown) => void;
  /** How often the audience catch-up looks whatever the mark (default AUDIENCE_RECHECK_MS; tests make it short). */
  audienceRecheckMs?: number;
  /** Its back-off after a failed rewrite (default AUDIENCE_RETRY_MIN_MS doubling to AUDIENCE_RETRY_MAX_MS). */
  audienceRetryMs?: { min: number; max: number };
  /**
   * This process's list of erasures owed (owed-erasures.ts), which serving answers as erased: an erasure is put on it
   * as it is recorded as asked, taken off as it completes, and put on again when it fails (a message of its scrub may
   * have taken it off meanwhile).
   */
  owed?: Pick<OwedErasures, 'add' | 'settled'>;
}


/**
 * Whether the artifact needs no whole rewrite: patched in place with what `patchesOf` finds from its ranged reads,
 * or not there (nothing to scrub). False where the store cannot patch, or `patchesOf` finds it laid out otherwise
 * (null: a release's before), and the caller rewrites it whole.
 */
async function patchedInPlace(
  store: ModelStore,
  version: string,
  artifact: string,
  patchesOf: (read: ArtifactRangeReader) => Promise<ArtifactPatch[] | null>,
): Promise<boolean> {
  if (!store.readArtifactRange || !store.patchArtifact) return false;
  const read: ArtifactRangeReader = store.readArtifactRange.bind(store, version, artifact);
  // The patches go only into the artifact as long as it was read (its layout's length, read before them): one
  // rewritten at another length since (written again after an eviction, another layout) is not where they say.
  // Every artifact patched so (profiles, ALS rows, audience postings); one whose header does not read is patched unconditioned.
  const size = (await artifactLayout(read).catch(() => null))?.size;
  const patches = await patchesOf(read);
  if (patches) {
    if (patches.length > 0 && !(await store.patchArtifact(version, artifact, patches, { size })) && (await read(0, 1)) !== null) {
      throw new AppError('DEPENDENCY_UNAVAILABLE', `the ${artifact} artifact of ${version} was rewritten while an erasure patched it: ask again`);
    }
    return true;
  }
  return (await read(0, 1)) === null;
}

/**
 * Each stored recommender of the version whose family keeps per-customer rows, without `rows`: patched in
 * place where the family's rows have a fixed width and the store patches (ALS: a few hundred bytes per
 * customer read and written, instead of the whole artifact, 43 MB at 100,000 customers, read, copied in
 * a worker and written back), else rewritten whole.
 */
async function recommendersWithout(store: ModelStore, redaction: RedactionRunner, meta: ModelMeta, rows: readonly number[]): Promise<void> {
  const recipe = (meta.info as { recipe?: { sources?: Record<string, { recommender?: string }> } }).recipe;
  for (const [name, source] of Object.entries(recipe?.sources ?? {})) {
    const family = source.recommender ?? name;
    const factory = recommenderFactory(family);
    if (!factory?.withoutUsers) continue;
    const artifact = `recommender:${name}`;
    if (factory.rowPatches && (await patchedInPlace(store, meta.version, artifact, (read) => factory.rowPatches!(read, new Set(rows))))) continue;
    const bytes = await store.getArtifact(meta.version, artifact);
    const redacted = bytes && (await redaction.run({ kind: 'recommender', family, bytes, rows })).bytes;
    if (redacted) await store.redactArtifact(meta.version, artifact, redacted);
  }
}

/**
 * The version's profiles without the customers: their rows blanked in place where the store patches (the
 * id column and a few hundred bytes per customer read and written, instead of the whole artifact, 23.6 MB
 * at 100,000 customers: profile-codec.ts profilePatchesWithout), else rewritten whole without them.
 */
async function profilesWithout(store: ModelStore, redaction: RedactionRunner, version: string, userIds: readonly string[]): Promise<void> {
  if (await patchedInPlace(store, version, PROFILES_ARTIFACT, (read) => profilePatchesWithout(read, new Set(userIds)))) return;
  const bytes = await store.getArtifact(version, PROFILES_ARTIFACT);
  const redacted = bytes && (await redaction.run({ kind: 'profiles', bytes, userIds })).bytes;
  if (redacted) await store.redactArtifact(version, PROFILES_ARTIFACT, redacted);
}

/**
 * The version's audience postings (audience-artifact.ts) without the customers at `rows` of its user index:
 * wiped in place where the store patches, reading only the postings of the items their entries list (read
 * here, before the erasure deletes them), else rewritten whole off this thread. Versions trained before the
 * postings were stored have none: nothing to do.
 */
async function audienceWithout(store: ModelStore, redaction: RedactionRunner, version: string, userIds: readonly string[], rows: readonly number[]): Promise<void> {
  const found = (await store.getEntries(version, USERS_TABLE, [...userIds])).flatMap((b) => (b ? [decodeUserEntry(b)] : []));
  const lists = found.map((e) => ({ candidates: e.hybrid.items, purchased: e.purchased }));
  // Layout 2's artifact, and layout 1's of a version the release before trained.
  for (const name of AUDIENCE_ARTIFACTS) {
    if (await patchedInPlace(store, version, name, (read) => audiencePatchesWithout(read, rows, lists))) continue;
    const bytes = await store.getArtifact(version, name);
    const redacted = bytes && (await redaction.run({ kind: 'audience', bytes, rows })).bytes;
    if (redacted) await store.redactArtifact(version, name, redacted);
  }
}

/** Ranged reads of an artifact: the store's, else slices of the whole artifact read once (a store without them). */
function rangeReader(store: ModelStore, version: string, name: string): ArtifactRangeReader {
  if (store.readArtifactRange) return store.readArtifactRange.bind(store, version, name);
  let whole: Promise<Uint8Array | null> | undefined;
  return async (start, end) => {
    const bytes = await (whole ??= store.getArtifact(version, name));
    return bytes ? bytes.subarray(start, end) : null;
  };
}

/**
 * Erasure of a customer everywhere (DELETE /v1/users/:id), in one Postgres transaction that holds the
 * erasure's advisory lock throughout (erasure-repository ERASURE_SERIAL):
 * 1. the model store, for every kept version: the customer's rows of the profiles artifact and of the fitted
 *    recommenders wiped (in place where they have a fixed width) and the user index rewritten without them,
 *    then their per-user entries of every table and their live events deleted (which tells other processes); the drafts failed trainings left, deleted, and the
 *    drafts whose writer's lease ran out (ModelStore.sweepDrafts: a restore killed before it published them);
 * 2. the campaign export files already written (their rows of the customer);
 * 3. under ERASURE_LOCK, which ingestion waits for: events, feedback and attributes deleted, the id
 *    recorded in `erased_users`, and live events appended meanwhile dropped;
 * then the commit, and this process's caches. Erasures (and everything else that rewrites what they
 * rewrite) run one at a time; a reader of `erased_users` sees an erasure only once all of it is done; and
 * an erasure that fails (the model store is down) leaves Postgres as it was (what it scrubbed already stays
 * scrubbed) and stays owed in erasure_requests, written before its scrub: the re-driver (erasure-redriver.ts) does
 * it again once the store answers, and a caller may ask again meanwhile.
 * A version that was being trained meanwhile is caught by `publishScrubbed`: a training scrubs its new
 * version of everyone erased after it read its data and publishes it under the same lock, and an
 * activation (rollback) scrubs the version it brings back before serving it. So a rollback never
 * restores an erased customer. A customer with the same id ingested after the erasure is a new one.
 */
export function createUserErasure(deps: UserErasureDeps) {
  const redaction = deps.redaction ?? redactHere;
  // Everything here that takes the erasure lock queues in this process first, so a burst of erasures or
  // rollbacks waits without a connection each: ten of them waiting on the lock would hold a pool of ten,
  // and every other request would be refused for want of a connection. Across processes the lock orders them.
  // Each turn's statements get the long limit, whoever asks (a training's scrub too): a turn stuck on a
  // lock another process never gives back must not hold every erasure behind it for good.
  let queue: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(fn: () => Promise<T>): Promise<T> => {
    const turn = queue.then(() => withQueryTimeout(LONG_STATEMENT_MS, fn));
    queue = turn.catch(() => {});
    return turn;
  };

  const requestLeaseMs = deps.requests?.leaseMs ?? ERASURE_REQUEST_LEASE_MS;
  const requestBackoffMs = deps.requests?.backoffMs ?? ERASURE_REDRIVE_MS;
  const requestMaxBackoffMs = deps.requests?.maxBackoffMs ?? ERASURE_REDRIVE_MAX_BACKOFF_MS;
  const requestLimitMs = deps.requests?.limitMs || LONG_STATEMENT_MS;
  // Who holds an erasure's lease (erasure_requests.holder, migration 039): this process's token and the number of the
  // ask or claim that took it. Its renewals, its note of a failed try and its turns act on the rows it holds only.
  const owner = `${randomUUID()}:`;
  let holds = 0;
  const nextHolder = () => `${owner}${++holds}`;
  // The heartbeat: the erasures this process holds (recorded or taken, queued or in their turn) keep their lease.
  const leases = createErasureLeases({
    renew: (ids, ms) => deps.erasures.renewErasures(ids, ms, owner), leaseMs: requestLeaseMs, limitMs: requestLimitMs, log: deps.log,
  });

  /**
   * An erasure's: the drafts whose writer is gone are deleted too (a restore killed before it published them: their
   * lease ran out). A draft whose writer is at work is left to it: its publish scrubs it (publishScrubbed). Before the
   * lock's transaction (services.ts's asks Postgres whether a restore is under way).
   */
  const sweepDrafts = async () => {
    await (deps.sweepDrafts ? deps.sweepDrafts() : deps.store.sweepDrafts?.());
  };

  // Erasures waiting for a turn, and whether one is queued for them.
  /**
   * `holder`: the ask or claim that holds it (undefined: a claim that did not say); `answered`: a DELETE's, whose caller
   * waits on it (event-repository ErasureSteps.answered), not a re-driven one's.
   */
  let waiting: { id: string; holder?: string; answered: boolean; resolve: (existed: boolean) => void; reject: (err: unknown) => void; release: () => void }[] = [];
  let turnQueued = false;
  const queueErasureTurn = () => {
    turnQueued = true;
    void oneAtATime(eraseWaiting);
  };
  /** One turn: the waiting erasures (up to ERASURE_BATCH) in one transaction, scrubbing the store once. */
  async function eraseWaiting(): Promise<void> {
    turnQueued = false;
    const batch = waiting.slice(0, ERASURE_BATCH);
    waiting = waiting.slice(ERASURE_BATCH);
    if (waiting.length > 0) queueErasureTurn();
    const ids = [...new Set(batch.map((w) => w.id))];
    /** The DELETEs' customers erased again in this turn though their request was gone: recorded again if it fails. */
    const redone = new Set<string>();
    try {
      const drafts = (await deps.abandonedDrafts?.()) ?? [];
      await sweepDrafts();
      let scrubbed: string[] = [];
      const taken = new Set<string>();
      // Those this process still holds (owner): also those Postgres no longer knew, the store and the files are
      // scrubbed anyway. One another process completed is left alone; one it took is left to it (taken).
      const existed = await deps.events.deleteUsers(ids, {
        owner,
        answered: new Set(batch.filter((w) => w.answered).map((w) => w.id)),
        redone: (again) => again.forEach((id) => redone.add(id)),
        taken: (others) => others.forEach((id) => taken.add(id)),
        scrub: async (tx, erasing) => {
          scrubbed = await scrub([...erasing], undefined, undefined, drafts);
          await deps.scrubExports?.(new Set(erasing), tx);
          await deps.dropModelCopies?.(tx);
        },
        // The versions scrubbed and the live events hold none of this turn's customers now, nor of those
        // erased before it where they held none of those (their records say so): recorded in the store, so
        // a store that comes back from before this point is scrubbed again (catchUp).
        numbered: (before, after) => raiseRecords(after, { versions: scrubbed, liveEvents: true, from: before }),
        // Live events appended by ingestion that committed while the scrub ran.
        dropLive: async (erasing) => {
          for (const id of erasing) await deps.store.deleteUser(id);
        },
      });
      for (const w of batch) {
        if (taken.has(w.id)) w.reject(erasureTakenError());
        else w.resolve(existed.get(w.id) ?? false);
      }
    } catch (err) {
      // Still owed (each was recorded as asked before it waited for this turn): the next try after a back-off,
      // by this process's re-driver or another's. No longer held here, and no renewal in flight moves the back-off
      // written below. A Postgres that does not answer this leaves the lease to run out; one that stalls on it is
      // given up at the requests' limit, not the turn's long one: it holds the queue (every erasure, rollback and
      // training's publish of this process) meanwhile.
      for (const w of batch) w.release();
      await leases.settled();
      // Only the rows this try's asks and claims hold (their holders): the same customer asked again of this process
      // meanwhile, waiting for the next turn, keeps its lease and is erased there, not after the back-off.
      const message = err instanceof Error ? err.message : String(err);
      const backoff = { backoffMs: requestBackoffMs, maxBackoffMs: requestMaxBackoffMs };
      // Those done again though their request was gone are recorded again already noted (askAgain): not noted again.
      const held = batch.filter((w) => w.holder !== undefined && !redone.has(w.id));
      const unnamed = batch.filter((w) => w.holder === undefined && !redone.has(w.id)).map((w) => w.id);
      // Whether the erasures done again though their request was gone are recorded again: until then nothing would
      // complete them, and their DELETE must not be told it was recorded (a Postgres that went away with the turn).
      let recordedAgain = redone.size === 0;
      await withQueryTimeout(requestLimitMs, async () => {
        if (redone.size > 0) {
          await deps.erasures.askAgain([...redone], message, backoff);
          recordedAgain = true;
        }
        if (held.length > 0) await deps.erasures.erasureFailed(held.map((w) => w.id), message, backoff, owner, held.map((w) => w.holder!));
        if (unnamed.length > 0) await deps.erasures.erasureFailed(unnamed, message, backoff, owner);
      }).catch((noted: unknown) => deps.log?.('erasure: could not note the failed try of erasures owed; their lease runs out instead', noted));
      if (typeof err === 'object' && err !== null) owed.add(err);
      const unrecorded = recordedAgain ? err : notRecordedAgain(err);
      for (const w of batch) w.reject(redone.has(w.id) ? unrecorded : err);
    }
  }

  /**
   * `versions` (all kept when undefined) or `draft` (a version not published yet, instead of the kept ones).
   * All kept: an erasure, whose deleteUser also deletes the customers' live events and tells every process.
   * One version named (a rollback's, a training's before its publish): that version's data of customers
   * erased after it was trained, and nothing else: one back under the same id since is a new customer,
   * whose purchases since (live events) and entries in the versions that learned them stay.
   * `abandoned`: drafts of failed trainings, deleted (those published meanwhile are scrubbed as published).
   */
  async function scrub(userIds: string[], versions?: string[], draft?: ModelMeta, abandoned: readonly string[] = []): Promise<string[]> {
    if (userIds.length === 0) return [];
    const ids = new Set(userIds);
    const listed = draft ? [] : await deps.store.listVersions();
    // Deleted rather than scrubbed: nothing will publish them, and a draft may be any part of a version.
    for (const version of abandoned) if (!listed.some((m) => m.version === version)) await deps.store.deleteVersion(version);
    const targets = draft ? [draft] : listed.filter((m) => versions === undefined || versions.includes(m.version));
    // Profiles before entries: an erasure's deleteUser announces it, and a process told reloads profiles.
    for (const meta of targets) {
      const { version } = meta;
      await profilesWithout(deps.store, redaction, version, userIds);
      // The training's user index (on-request scoring) keeps positions: an erased id becomes ''. The
      // fitted recommenders' rows at those positions go first, while the index still says which they are
      // (a scrub that fails between the two is done again by the next one).
      const index = await deps.store.getArtifact(version, ARTIFACT_USER_IDS);
      if (!index) continue;
      const { bytes: indexWithout, rows } = await redaction.run({ kind: 'user-ids', bytes: index, userIds });
      if (!indexWithout || !rows || rows.length === 0) continue;
      await recommendersWithout(deps.store, redaction, meta, rows);
      await audienceWithout(deps.store, redaction, version, userIds, rows);
      await deps.store.redactArtifact(version, ARTIFACT_USER_IDS, indexWithout);
    }
    if (draft || versions) {
      for (const { version } of targets) await deps.store.deleteUserEntries(version, [...ids]);
    } else {
      for (const id of ids) await deps.store.deleteUser(id);
    }
    return targets.map((m) => m.version);
  }

  /**
   * Records (ModelStore.raiseErasureRecords) where the store keeps them; the scrubs recorded are done either
   * way. `through` is asked only then: what a store without records does costs no statement more.
   */
  const raiseRecords = async (through: number | (() => Promise<number>), what: Parameters<NonNullable<ModelStore['raiseErasureRecords']>>[1]) => {
    if (!deps.store.raiseErasureRecords) return;
    await deps.store.raiseErasureRecords(typeof through === 'number' ? through : await through(), what);
  };

  const forgetAll = async (ids: readonly string[]) => {
    for (const id of ids) await deps.forget(id);
  };

  /**
   * Scrubs the given versions of everyone erased after `mark`, under the erasure lock, and records it:
   * `first` as soon as the lock is held (it may refuse the turn), `then` after the scrub.
   */
  async function scrubLocked(mark: number, versions: string[], then?: () => Promise<unknown>, first?: () => void): Promise<string[]> {
    return oneAtATime(() => deps.erasures.locked(async (erasedSince, markNow) => {
      first?.();
      const ids = await erasedSince(mark);
      await scrub(ids, versions);
      await raiseRecords(markNow, { versions });
      await then?.();
      return ids;
    }));
  }

  /**
   * The newest note of a scrub done again that this process has read (null: none; undefined: not read yet). A
   * process that read the store while it was behind (a Redis back from a snapshot), before another process scrubbed
   * it again, may hold the customers of that scrub (an audience index read then), and had forgotten them before, so
   * nothing else tells it: it forgets them again when a new note appears (scrubbedAgain). At its first read, new
   * are the notes written since it started (it loaded nothing of the store before): that read may come late (Postgres
   * down at the start) while it serves the store.
   */
  let seenScrubbedAgain: string | null | undefined;
  const startedAt = Date.now();
  /** A note of the release before has no time: at a first read it is not new (as that release took none as new). */
  const writtenSinceStart = (note: { at?: number }) => note.at !== undefined && note.at >= startedAt - NOTE_CLOCK_SKEW_MS;

  /** Forgets again the customers of the scrubs done again (by any process) since the last note read. */
  async function scrubbedAgain(records: ErasureRecords): Promise<string[]> {
    const notes = records.scrubbedAgain;
    if (!notes) return [];
    const newest = notes[0]?.token ?? null;
    const seen = seenScrubbedAgain;
    if (newest === seen) return [];
    let since: typeof notes;
    /** Past the kept ones: the notes that fell out may be new too. */
    let pastKept: boolean;
    if (seen === undefined) {
      since = notes.filter(writtenSinceStart);
      pastKept = notes.length >= SCRUBBED_AGAIN_KEPT && writtenSinceStart(notes[notes.length - 1]);
    } else {
      // The notes after the one seen; all of them when it is not there (the notes went back, or past the kept ones).
      const at = notes.findIndex((n) => n.token === seen);
      since = at < 0 ? notes : notes.slice(0, at);
      pastKept = at < 0 && notes.length >= SCRUBBED_AGAIN_KEPT;
    }
    // Past the kept ones (as many new as are kept): those that fell out may have scrubbed from lower, so everyone
    // erased is forgotten again (a read of every id, as rare as 20 restores between two reads).
    const from = pastKept ? 0 : Math.min(...since.map((n) => n.from));
    const ids = since.length === 0 ? [] : await deps.erasures.erasedSince(from);
    await forgetAll(ids);
    // Read once its customers are forgotten: a read of Postgres or a forget that failed leaves it new, tried at the next read.
    seenScrubbedAgain = newest;
    return ids;
  }

  /** catchUp's scrub of what the store lost of erasures (its erasure records say how far each part was scrubbed). */
  async function storeCatchUp(highest: number): Promise<string[]> {
    const { store } = deps;
    if (!store.erasureRecords) return [];
    const records = await store.erasureRecords();
    // Not counted in what this resolves with (the customers this process scrubbed again).
    await scrubbedAgain(records);
    const upToDate = (r: ErasureRecords, n: number) => r.liveEvents !== undefined && r.liveEvents >= n && [...r.versions.values()].every((v) => v !== undefined && v >= n);
    if (upToDate(records, highest)) return [];
    // The drafts of failed trainings came back too (an erasure deletes them): read before the lock's transaction.
    const drafts = (await deps.abandonedDrafts?.()) ?? [];
    await sweepDrafts();
    const ids = await oneAtATime(() =>
      deps.erasures.locked(async (erasedSince, markNow) => {
        // Again under the lock: another process may have caught up meanwhile, and erasures since are counted.
        const now = await markNow();
        const held = await store.erasureRecords!();
        const again = new Set<string>();
        /** The lowest erasure number scrubbed from again, for the note to the other processes. */
        let lowest = Number.POSITIVE_INFINITY;
        /** The records raised once the note is written: a note that fails leaves them behind, so it is done again. */
        const raises: Parameters<typeof raiseRecords>[1][] = [];
        const listed = await store.listVersions();
        for (const version of drafts) if (!listed.some((m) => m.version === version)) await store.deleteVersion(version);
        for (const meta of listed) {
          if (!held.versions.has(meta.version)) continue;
          const from = held.versions.get(meta.version) ?? erasureMarkOf(meta);
          if (held.versions.get(meta.version) !== undefined && from >= now) continue;
          const ids = from < now ? await erasedSince(from) : [];
          await scrub(ids, [meta.version]);
          for (const id of ids) again.add(id);
          if (ids.length > 0) lowest = Math.min(lowest, from);
          // Only from where it was read: a store that went back again meanwhile is caught up next time.
          raises.push({ versions: [meta.version], from: held.versions.get(meta.version) });
        }
        // No record of the live events: a store a release before wrote, or one that came back empty. Its
        // live events were appended after the erasures it knew (a new customer under an id), and stay.
        if (held.liveEvents !== undefined && held.liveEvents < now) {
          const ids = await erasedSince(held.liveEvents);
          await store.deleteUserEvents?.(ids);
          for (const id of ids) again.add(id);
          if (ids.length > 0) lowest = Math.min(lowest, held.liveEvents);
        }
        if (held.liveEvents === undefined || held.liveEvents < now) raises.push({ versions: [], liveEvents: true, from: held.liveEvents });
        // For the processes that read the store while it was behind and heard no message of this (scrubbedAgain):
        // after the scrubs (a process that forgot before them could read the customers back), before the records.
        if (again.size > 0) await store.noteScrubbedAgain?.(lowest);
        for (const what of raises) await raiseRecords(now, what);
        return [...again];
      }),
    );
    await forgetAll(ids);
    return ids;
  }

  /**
   * When this process last looked for audience postings left behind (audienceCatchUp; undefined: never), the
   * highest erasure number it looked through, and after a rewrite that failed, when it may try again and the
   * back-off after that.
   */
  let audienceCheckedAt: number | undefined;
  let audienceCheckedThrough: number | undefined;
  const recheckMs = deps.audienceRecheckMs ?? AUDIENCE_RECHECK_MS;
  const retryMs = deps.audienceRetryMs ?? { min: AUDIENCE_RETRY_MIN_MS, max: AUDIENCE_RETRY_MAX_MS };
  let audienceRetryAt = -Infinity;
  let audienceBackoffMs = retryMs.min;

  /**
   * The customers of each kept version that an erasure blanked in its user index but did not wipe from its
   * audience postings (layout 2), wiped: a replica of the release before, which knows only layout 1, erased them
   * (a rolling upgrade). Their entries are gone with the erasure, so nothing says where their postings lie short of
   * reading all of them: the artifact is rewritten whole without them, off this thread (the redaction worker),
   * under the erasure lock as the erasure's own rewrites are. Looked for (audienceRowsLeft: ranged reads of the
   * user index's offsets and the postings' positions and wiped bytes, not the postings) by the first call of a
   * process, whenever the erasure mark passed the one looked through, and at least every AUDIENCE_RECHECK_MS
   * whatever the mark: the store's erasure records cannot say, since that release raises them as this one does,
   * and a store brought back from a snapshot that a replica of that release scrubs again leaves the mark where it
   * was. A rewrite that failed (a store refusing the artifact's size, a worker out of memory) is not tried again
   * before a back-off (AUDIENCE_RETRY_MIN_MS, doubling to AUDIENCE_RETRY_MAX_MS): it re-read the whole artifact
   * (152 MB at 100,000 customers) at every read of the erasures, every ERASURE_REFRESH_MS. Resolves with the
   * customers wiped.
   */
  async function audienceCatchUp(through: number | undefined): Promise<number> {
    const now = performance.now();
    if (now < audienceRetryAt) return 0;
    const due =
      audienceCheckedAt === undefined ||
      now - audienceCheckedAt >= recheckMs ||
      (through !== undefined && (audienceCheckedThrough === undefined || through > audienceCheckedThrough));
    if (!due) return 0;
    const { store } = deps;
    const rowsLeft = (version: string) => audienceRowsLeft(rangeReader(store, version, AUDIENCE_ARTIFACT), rangeReader(store, version, ARTIFACT_USER_IDS));
    const behind: string[] = [];
    // Every kept version looked at at once: its reads share round trips with the others' (a start on a slow Redis).
    const versions = (await store.listVersions()).map((m) => m.version);
    const left = await Promise.all(versions.map(rowsLeft));
    versions.forEach((version, k) => left[k].length > 0 && behind.push(version));
    let wiped = 0;
    if (behind.length > 0) {
      try {
        wiped = await oneAtATime(() =>
          deps.erasures.locked(async () => {
            let n = 0;
            for (const version of behind) {
              // Again under the lock: another process may have wiped them meanwhile.
              const rows = await rowsLeft(version);
              if (rows.length === 0) continue;
              const bytes = await store.getArtifact(version, AUDIENCE_ARTIFACT);
              const redacted = bytes && (await redaction.run({ kind: 'audience', bytes, rows })).bytes;
              if (redacted && (await store.redactArtifact(version, AUDIENCE_ARTIFACT, redacted))) n += rows.length;
            }
            return n;
          }),
        );
      } catch (err) {
        audienceRetryAt = performance.now() + audienceBackoffMs;
        audienceBackoffMs = Math.min(retryMs.max, audienceBackoffMs * 2);
        throw err;
      }
    }
    audienceBackoffMs = retryMs.min;
    audienceCheckedAt = now;
    if (through !== undefined) audienceCheckedThrough = Math.max(through, audienceCheckedThrough ?? through);
    return wiped;
  }

  return {
    /**
     * A new holder (migration 039) for this process's re-driver to take erasures owed under (erasure-repository
     * claimErasures): those it takes are this process's, to erase with `claimed`.
     */
    nextHolder,

    /**
     * Erases a user everywhere; false when Postgres did not know them (the store is scrubbed anyway). Recorded
     * as asked first (erasure_requests): one that fails after that is owed, and erasureOwed(err) says so.
     * Erasures asked while another turn runs wait together and are done in one turn (up to ERASURE_BATCH),
     * so a burst pays each kept version's rewrite once; a failure fails that turn's erasures alike.
     */
    async erase(userId: string, opts: { claimed?: boolean; holder?: string } = {}): Promise<boolean> {
      // Recorded as asked (and taken for the lease) before anything is scrubbed: a failure from here on leaves it
      // owed, and the service completes it (erasure-redriver.ts). A Postgres that does not answer this fails the
      // erasure as before, nothing recorded: the caller's to send again. `claimed`: the re-driver took it already.
      // `holder`: the claim's (the re-driver's), else this ask's.
      const holder = opts.claimed ? opts.holder : nextHolder();
      if (!opts.claimed) {
        await deps.erasures.askErasure([userId], requestLeaseMs, holder);
        // Committed: every other process sharing the store reads the erasures owed now, not at its next timed read
        // (ERASURE_REFRESH_MS), and answers the customer as erased from then on. A message lost leaves that read.
        deps.store.announceErasureAsked?.([userId]);
      }
      // Held by this process from here on: its lease is renewed while it waits for its turn and in it (erasure-leases.ts).
      const release = leases.hold(userId);
      // Owed from here on: this process answers them as erased at once (the others at their next read of the list).
      deps.owed?.add(userId);
      let existed: boolean;
      try {
        existed = await new Promise<boolean>((resolve, reject) => {
          waiting.push({ id: userId, holder, answered: !opts.claimed, resolve, reject, release });
          if (!turnQueued) queueErasureTurn();
        });
      } catch (err) {
        if (erasureOwed(err)) deps.owed?.add(userId);
        throw err;
      } finally {
        release();
      }
      // Committed: a failure to forget here is outlived by the follower and must not fail the request. Until it is
      // forgotten, the customer stays owed here (answered as erased, not from what this process cached of them): the
      // follower's next read takes them off the list once it has forgotten them (erasure-follower.ts).
      if (await deps.forget(userId).then(() => true, () => false)) deps.owed?.settled(userId);
      return existed;
    },

    /**
     * Does again what the model store lost of erasures (its erasureRecords say how far each part was
     * scrubbed): a Redis restarted from a snapshot taken before an erasure, or a failover to a replica a
     * little behind, brings back the customers erased since, in the kept versions and their live events,
     * and nothing else would remove them. Under the erasure lock, each published version behind is scrubbed
     * of everyone erased after its record (after its training's mark when it has none, as a rollback does),
     * the live events of everyone erased after theirs are deleted (which tells every process), the drafts
     * of failed trainings deleted (they came back too), and the records raised. `through`: the highest erasure number, when the caller has just read it. A store whose
     * records are all there already costs one read of it (and one of Postgres without `through`), no lock.
     * Resolves with the customers scrubbed again (forgotten by this process too). Then, the first time in a
     * process and whenever `through` passed the last one looked through, the audience postings a replica of the
     * release before left (audienceCatchUp): a few ranged reads per kept version, a rewrite only where one is behind.
     */
    async catchUp(through?: number): Promise<string[]> {
      // The mark read only for a store that keeps erasure records: the audience check needs none to look (only
      // the lock, where a version is behind), so a store without records (the in-process one) asks nothing of
      // Postgres at a start where nothing is behind, as before the audience check (Postgres down at start).
      const highest = through ?? (deps.store.erasureRecords ? await deps.erasures.mark() : undefined);
      const ids = highest === undefined ? [] : await storeCatchUp(highest);
      await audienceCatchUp(highest);
      return ids;
    },

    /** The current erasure mark: a training takes it before it reads its data. */
    mark: () => deps.erasures.mark(),

    /** Every customer ever erased. */
    erasedIds: () => deps.erasures.erasedSince(0),

    /** The customers whose erasure was asked for and is not recorded yet (owed): a training leaves them out. */
    pendingIds: () => deps.erasures.pendingRequests(),

    /**
     * Publishes a training's version with the erasure lock held: first scrubbed of everyone erased after
     * `mark` (the training's), then `publish(scrubbed)` (how many customers that was; each had at most one
     * entry per table). No erasure lands between the scrub and the publish; one after it finds the version
     * published and scrubs it with the others. A scrub before the publish and another after it left a gap:
     * an erasure in it stayed in the served version for good when the training died before the second.
     * `publish` must not use the database (the lock's transaction holds PGlite's one connection).
     */
    async publishScrubbed<T>(mark: number, meta: ModelMeta, publish: (scrubbed: number) => Promise<T>): Promise<T> {
      return oneAtATime(() =>
        deps.erasures.locked(async (erasedSince, markNow, pending) => {
          // Also the customers whose erasure is owed (asked, not recorded): one asked after the training read its
          // data; the erasure, when it completes, scrubs the published version again with every other.
          const ids = [...new Set([...(await erasedSince(mark)), ...(await pending())])];
          await scrub(ids, undefined, meta);
          const published = await publish(ids.length);
          // Not published (a rollback since): not listed, so not recorded.
          await raiseRecords(markNow, { versions: [meta.version] });
          return published;
        }),
      );
    },

    /**
     * Makes a kept version active again, scrubbed first of everyone erased after it was trained; false if
     * unknown. A version the store no longer holds all of (keys evicted, a shard restarted empty) is refused
     * with CONFLICT: serving it would answer most customers with fallbacks.
     */
    async activate(version: string, attempt?: ActivationAttempt): Promise<boolean> {
      const meta = (await deps.store.listVersions()).find((m) => m.version === version);
      if (!meta) return false;
      const gone = await goneFromStore(deps.store, meta, deps.erasures.countAfter);
      if (gone.length > 0) throw new AppError('CONFLICT', `model version ${version} can no longer be served: the model store lost its ${gone.join(', ')}; train a new version instead`);
      let activated = false;
      let ids: string[];
      try {
        ids = await scrubLocked(
          erasureMarkOf(meta),
          [version],
          async () => (activated = await deps.store.activate(version)),
          // Decided as the lock is taken: a caller that stopped waiting for its turn was told nothing was
          // activated, and it must stay so; one that got its turn is waited for, its scrub included.
          () => {
            if (attempt?.abandoned) throw new AppError('DEPENDENCY_UNAVAILABLE', 'the rollback was given up before it could take the erasure lock; nothing was activated');
            if (attempt) attempt.committed = true;
          },
        );
      } catch (err) {
        // The pointer flipped (what is served) and only the lock's commit failed: the rollback happened.
        if (activated) return true;
        throw err;
      }
      await forgetAll(ids);
      return activated;
    },
  };
}

export type UserErasure = ReturnType<typeof createUserErasure>;

/**
 * A rollback a caller may stop waiting for: once `abandoned` is set (before `committed`), it activates
 * nothing, so an answer given meanwhile ("nothing was activated") stays true; once `committed`, it is
 * flipping the pointer and is waited for.
 */
export interface ActivationAttempt {
  abandoned: boolean;
  committed: boolean;
}
