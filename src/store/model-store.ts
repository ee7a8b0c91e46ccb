/**
 * Where trained models live. A model version is a set of named binary artifacts plus a JSON
 * metadata record. Writes go to a version that is not active; `publish` then flips the single
 * `active` pointer in one atomic step, so a reader that resolves the active version once and reads
 * everything under it never sees half a model. Versions are immutable once published.
 *
 * Implementations: `createRedisModelStore` (ioredis, REDIS_URL) and `createMemoryModelStore`
 * (in-process, snapshotted to disk). Both pass tests/integration/store/model-store.contract.ts.
 */
export interface ModelMeta {
  version: string;
  /** The name the recipe gives itself (its `name`, else its file's name): what evaluation rows and gauges go by. */
  recipe: string;
  /**
   * The recipe's file, models/RECIPEFILE.json, that the version was trained from: what a training or an
   * evaluation of the same recipe names. Absent for versions trained before it was recorded.
   */
  recipeFile?: string;
  trainedAt: string;
  /** Free-form: data counts, per-step durations, params... */
  info: Record<string, unknown>;
}

/**
 * Version names: letters, digits and `._:-`, starting with a letter or digit, at most 128 characters
 * (they become part of Redis keys and snapshot files); writes and publish refuse others with
 * VALIDATION_FAILED. Writing to or publishing an already published version fails with CONFLICT.
 * Reads of a missing version, artifact, table or key return null, never throw.
 */
export interface PublishOptions {
  activeWas?: string | null;
  at?: number;
  listOnly?: boolean;
  /**
   * The holder of the draft's lease (leaseDraft): published only while it holds it, else DraftLeaseLost
   * (version-rules.ts) and nothing changes. A publish drops the lease, whoever asks.
   */
  draftHolder?: string;
}

export interface ModelStore {
  /** Stores one artifact of an unpublished version (overwrites a previous write of the same name). */
  putArtifact(version: string, name: string, data: Uint8Array): Promise<void>;
  /**
   * An artifact's bytes, owned by the caller: a fresh read each call, never shared with another caller or
   * kept by the store (loaders keep views of them and an erasure may write to those: decodeArtifact `share`).
   */
  getArtifact(version: string, name: string): Promise<Uint8Array | null>;
  /**
   * Stores keyed entries (e.g. per-user candidate lists) of an unpublished version in bulk.
   * Keyed entries are read one or a few at a time on the request path.
   */
  putEntries(version: string, table: string, entries: Iterable<[string, Uint8Array]>): Promise<void>;
  getEntries(version: string, table: string, keys: string[]): Promise<(Uint8Array | null)[]>;
  /**
   * What the store holds of a version now: each named artifact's size in bytes (0 when missing) and each
   * named table's number of entries. A training compares it with what it wrote before it publishes, so
   * a store that lost data meanwhile (a Redis restarted without persistence, keys evicted under
   * maxmemory) is not given a version to serve.
   */
  contentsOf?(version: string, names: { artifacts: string[]; tables: string[] }): Promise<{ artifacts: Record<string, number>; tables: Record<string, number> }>;
  /**
   * Records the metadata and atomically makes `version` the active one, then prunes the oldest
   * published versions beyond the configured number kept (never the active one). With `activeWas`
   * (the active version, or null, when the caller began), the version is made active only if that is
   * still the active one or none is; otherwise it is only listed (a training that finds another version
   * activated by hand while it ran: the rollback stands). The check and the flip are one step.
   * Resolves whether the version was made active. A version put back from its copy (model-restore.ts) keeps its
   * place: `at`, the order key it is listed by (ms; default: now, after the newest), and `listOnly`, listed and never
   * made active (a version kept for rollback).
   */
  publish(meta: ModelMeta, opts?: PublishOptions): Promise<boolean>;
  /** Makes an already published version active again (rollback). Returns false if unknown. */
  activate(version: string): Promise<boolean>;
  /** The active version's metadata, or null when nothing was published yet. */
  getActive(): Promise<ModelMeta | null>;
  /** Published versions, newest first. */
  listVersions(): Promise<ModelMeta[]>;
  /**
   * Deletes a version's artifacts and entries, published or not (a failed training cleans up this way).
   * Returns false for the active version (left untouched) and for a version that does not exist.
   */
  deleteVersion(version: string): Promise<boolean>;
  /**
   * Draft leases: who writes an unpublished version and until when, kept beside the drafts, so that one whose
   * writer is gone (a restore killed while it put versions back) is deleted, and one whose writer is at work is
   * not. A restore (model-restore.ts) takes the lease before it writes a draft and renews it as it writes; a
   * training's draft has none (its job records it: job-handlers.ts abandonedDrafts) and is never swept.
   * leaseDraft takes the lease for `ms` from now (the store's clock), or with `renew` renews it: false when another
   * holder's has not run out (or the version is published), and a renewal also when the lease is not this
   * holder's any more (a sweeper took it: the draft is deleted). A lease that ran out stays its holder's until a
   * sweeper takes it. Optional, with the two below: the in-process store's drafts die with their process.
   */
  leaseDraft?(version: string, holder: string, ms: number, opts?: { renew?: boolean }): Promise<boolean>;
  /** Drops the lease when `holder` has it (a writer that deleted its draft itself). */
  releaseDraft?(version: string, holder: string): Promise<void>;
  /**
   * Deletes every draft whose lease ran out (its writer renewed nothing for the lease's length: gone), and
   * resolves with their versions. The model recovery's looks and every erasure sweep.
   */
  sweepDrafts?(): Promise<string[]>;

  /**
   * Per-user serving state: purchases that arrived after training (item id, epoch ms), newest last,
   * capped to the most recent `LIVE_EVENTS_KEPT`. Used for live updates without retraining.
   */
  appendUserEvents(userId: string, events: { itemId: string; ts: number }[]): Promise<void>;
  getUserEvents(userId: string): Promise<{ itemId: string; ts: number }[]>;
  /**
   * The same events when the store holds them in process right now (never stale: see
   * live-events-view.ts), else undefined and the caller awaits getUserEvents. Lets a request that needs
   * nothing else answer without waiting. Read only: the array may be shared.
   */
  peekUserEvents?(userId: string): readonly { itemId: string; ts: number }[] | undefined;
  /**
   * Erases all per-user state of a user (GDPR erasure): their live events, and the entry keyed by their
   * id in every table of every published version (per-user candidates), so a rollback cannot bring
   * them back; also in the unpublished versions named in `drafts` (a training about to publish). A version
   * that a deletion (a prune) unlisted and then could not delete is deleted first. Artifacts
   * (whole-population data such as profiles) are redacted by the caller with patchArtifact or redactArtifact
   * (src/privacy/user-erasure.ts), which knows their formats.
   */
  deleteUser(userId: string, drafts?: readonly string[]): Promise<void>;
  /**
   * Deletes the entries keyed by these ids in every table of ONE version (published or a draft), and
   * nothing else: no live events, no other version, no one told. A scrub of the version about to be
   * served (a rollback's, a training's before its publish) of customers erased after it was trained
   * (src/privacy/user-erasure.ts): the erasure itself did the rest, and a customer back under the same
   * id since is a new one, whose live events and entries in newer versions must stay.
   */
  deleteUserEntries(version: string, userIds: readonly string[]): Promise<void>;
  /**
   * How far erasures were applied to what the store holds, by erasure number (`erased_users.seq`): for each
   * published version, the number it was scrubbed through (undefined when none was recorded: a version of a
   * release before, or one whose record was not written); and the number the live events were scrubbed
   * through (undefined likewise). Kept with the data, so a store that comes back older (a Redis restarted
   * from a snapshot taken before an erasure, a failover to a replica a little behind) brings back the
   * numbers of what it brings back, and the scrubs it lost are done again (user-erasure.ts catchUp). One
   * cheap read. Optional, with the two below: a store that never loses a write it answered (the in-process
   * store writes its files first) leaves all three out.
   */
  erasureRecords?(): Promise<ErasureRecords>;
  /**
   * Raises the records of these published versions (unlisted ones are skipped) and, with `liveEvents`, of the
   * live events, to `through`; never lowers one. With `from`, only a record at `from` or above is raised (a
   * scrub of the erasures after `from` brings up to date only what was up to date before them), and a missing
   * one is left missing.
   */
  raiseErasureRecords?(through: number, what: { versions: readonly string[]; liveEvents?: boolean; from?: number }): Promise<void>;
  /**
   * Notes that a scrub was done again of the erasures after `from` (a store back from before them), for the
   * processes that read the store meanwhile: what they hold of it may name those customers, and a process that
   * heard no message of the scrub learns of it at its next read of erasureRecords (user-erasure.ts catchUp).
   * Kept with the records, the last SCRUBBED_AGAIN_KEPT of them. Optional, with erasureRecords.
   */
  noteScrubbedAgain?(from: number): Promise<void>;
  /**
   * Deletes these users' live events and tells every process they were erased (onUserErased), as deleteUser
   * does, leaving every version's entries alone: erasures done again on live events that came back.
   */
  deleteUserEvents?(userIds: readonly string[]): Promise<void>;
  /**
   * Replaces an existing artifact of a version, published or not, with a redacted copy: the one
   * exception to immutability, for erasure (e.g. the profiles artifact without an erased customer).
   * Returns false, writing nothing, when the version has no artifact of that name.
   */
  redactArtifact(version: string, name: string, data: Uint8Array): Promise<boolean>;
  /**
   * Bytes [start, end) of an artifact (fewer when it ends before `end`), or null when the version has no
   * artifact of that name: what an erasure reads of a large artifact (its header) to find a customer's row.
   * Optional, with patchArtifact: an erasure rewrites the artifact whole on a store without them.
   */
  readArtifactRange?(version: string, name: string, start: number, end: number): Promise<Uint8Array | null>;
  /**
   * Overwrites these byte ranges of an existing artifact of a version, published or not, in place, in steps of
   * up to 500 ranges (Redis: one Lua call each; a reader sees all of a step or none of it, and a part-by-part read
   * across one is made again; a caller that can be cut short between steps orders its ranges so that asking
   * again finishes the work), leaving its
   * size and every other byte as they were: an erasure's wipe of a customer's fixed-width rows (ALS's
   * factors), which then writes bytes in proportion to the customer instead of the artifact. Returns false,
   * writing nothing, when the version has no artifact of that name; throws, writing nothing, when a range
   * runs past its end.
   */
  patchArtifact?(version: string, name: string, patches: readonly ArtifactPatch[], opts?: PatchCondition): Promise<boolean>;
  /**
   * Calls `listener` with the id of every user erased through any process sharing this store (a store
   * that only one process uses may leave it out: its own callers know). Lets each serving process
   * forget what it keeps of the user.
   */
  onUserErased?(listener: (userId: string) => void): void;
  /**
   * Tells every process sharing this store that these customers' erasure was just asked (recorded in erasure_requests,
   * committed), so each reads the erasures owed now (erasure-follower.ts) instead of at its next timed read
   * (ERASURE_REFRESH_MS) and answers them as erased from then on. Best effort, never throws: a message lost (Redis away,
   * a subscriber reconnecting, a Redis user without pub/sub rights) leaves the timed read. A store only one process
   * uses may leave it out, with onErasureAsked.
   */
  announceErasureAsked?(userIds: readonly string[]): void;
  /** Calls `listener` with the ids of every announceErasureAsked by any process sharing this store (this one too). */
  onErasureAsked?(listener: (userIds: readonly string[]) => void): void;
  /**
   * Calls `listener` when another process (or this one) may have published or activated a version, so
   * a serving process re-resolves the active version now instead of at its next periodic check (which
   * stays, for messages lost while disconnected). A store only one process uses may leave it out.
   */
  onActiveChanged?(listener: () => void): void;

  /** True when the backend answers (within about a second); never throws. */
  ping(): Promise<boolean>;
  /**
   * True when the backend takes a write (within about a second); never throws. False for a backend that
   * answers but refuses writes (a Redis replica: READONLY), which a ping does not tell. A store that always
   * takes writes may leave it out.
   */
  acceptsWrites?(): Promise<boolean>;
  /**
   * The error with which the backend refuses a write while it answers (Redis: READONLY, OOM, MISCONF), or
   * null when it takes one or does not answer (within about a second); never throws. For saying why
   * acceptsWrites is false. Optional, as acceptsWrites is.
   */
  writeRefusal?(): Promise<Error | null>;
  /**
   * Drops the connection the store's calls go over and opens a new one; resolves true once the new one
   * answers, false when it cannot (closed first, or not the store's own connection to drop). The hang
   * breaker asks for it when it starts skipping the store: a partition leaves a socket dead after the
   * network heals (redis-connection.ts, reopen). Optional: a store without connections has none to drop.
   */
  reconnect?(): Promise<boolean>;
  /** Releases what the store itself opened; a connection passed in by the caller stays the caller's. */
  close(): Promise<void>;
}

export const LIVE_EVENTS_KEPT = 50;

/**
 * What a patch requires of the stored artifact (ModelStore.patchArtifact): `size`, its length in bytes, as read
 * when the patches were found. Not so (rewritten, or evicted and written again, since), each step writes nothing
 * and the patch answers false, as for an artifact not there.
 */
export interface PatchCondition {
  size?: number;
}

/** A range of an artifact overwritten in place (ModelStore.patchArtifact): `bytes` written at `offset`. */
export interface ArtifactPatch {
  offset: number;
  bytes: Uint8Array;
}

/** How many scrubs done again a store keeps a note of (ModelStore.noteScrubbedAgain). */
export const SCRUBBED_AGAIN_KEPT = 20;

/** What ModelStore.erasureRecords answers. */
export interface ErasureRecords {
  versions: Map<string, number | undefined>;
  liveEvents: number | undefined;
  /**
   * The last scrubs done again (noteScrubbedAgain), newest first: each a token of its own, the erasure number
   * it scrubbed from and when its writer noted it (ms since the epoch, the writer's clock; none in a note of a
   * release before). Absent on a store that keeps none.
   */
  scrubbedAgain?: { token: string; from: number; at?: number }[];
}
