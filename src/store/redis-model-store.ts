import { randomBytes } from 'node:crypto';
import { CREDENTIALS_REFUSED } from './redis-probe.js';
import type { RedisOptions } from 'ioredis';
import { ARTIFACT_PART_BYTES, execReplies, readArtifact } from './redis-artifact-read.js';
import { createArtifactReader } from './artifact-reader.js';
import { LiveEventsView, type LiveEvents } from './live-events-view.js';
import { LIVE_EVENTS_KEPT, SCRUBBED_AGAIN_KEPT, type ModelMeta, type ModelStore } from './model-store.js';
import { clientOptions, closeClient, DEFAULT_REDIS_COMMAND_TIMEOUT_MS, isCluster, openRedis, readyAfterReadOnlyReconnect, reopener, type RedisClient, type RedisTarget } from './redis-connection.js';
import { createSubscriber } from './redis-subscriber.js';
import { setUncopied } from './uncopied-set.js';
import { alreadyPublished, assertVersionName, DraftLeaseLost, prunedAtPublish, publishScore } from './version-rules.js';
import { within } from '../within-time.js';

/**
 * Connection ownership: pass `redis` (a Redis or a Cluster client) and you keep it (close() leaves it
 * open, you quit it), or pass `url` (one server) or `target` (redis-connection.ts: a server or a
 * cluster) and the store opens its own connection, which close() quits.
 */
export type RedisModelStoreOptions = (
  | { redis: RedisClient; url?: never; target?: never }
  | { url: string; redis?: never; target?: never }
  | { target: RedisTarget; redis?: never; url?: never }
) & {
  /** Prepended to every key, e.g. `recsvc:`; tests use a random one per run. */
  prefix: string;
  /** Published versions kept for rollback, the active one included (default 5). */
  versionsKept?: number;
  /**
   * Live events kept in process between changes (live-events-view.ts), in units of one per user plus
   * one per event (default 200,000, ~30 MB at most; 0 = always read Redis). Needs one more connection,
   * subscribed to the change messages.
   */
  liveEventsCached?: number;
  /** How long a kept read may be served at most, whatever happens to the change messages (ms, default 5000). */
  liveEventsTtlMs?: number;
  /** An artifact larger than this is read in parts of this many bytes (default ARTIFACT_PART_BYTES). */
  artifactPartBytes?: number;
  /**
   * Told when an owned connection's Redis refuses its credentials (a password rotated under the process):
   * every command then fails as in an outage, and only this says why.
   */
  onCredentialsRefused?: (err: Error) => void;
  /** Told when the worker thread that reads artifacts failed: they are read on the calling thread from then on. */
  onArtifactReaderFailed?: (err: Error) => void;
  /**
   * How long a command on an owned connection waits for its reply before it fails (ms; REDIS_COMMAND_TIMEOUT_MS,
   * default DEFAULT_REDIS_COMMAND_TIMEOUT_MS): the requests' connection and its change-message subscriber.
   * Artifacts' connection and reader thread wait this or ARTIFACT_READ_TIMEOUT_MS, whichever is longer.
   */
  commandTimeoutMs?: number;
};

/**
 * How the store's own connection behaves when Redis goes away: a command fails at once instead of
 * waiting in a queue for a reconnect (no offline queue once first connected, see below; commands in
 * flight when the socket closes are rejected rather than resent), a server that stops answering without closing the socket fails a
 * command after `commandTimeout` (the store's `commandTimeoutMs` replaces it), and reconnects are retried forever with a backoff capped at 1 s,
 * so the store is back within about a second of Redis. Callers degrade or answer 503.
 */
export const FAIL_FAST_REDIS_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: 0,
  commandTimeout: DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  connectTimeout: 2000,
  retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
};

const DEFAULT_LIVE_EVENTS_CACHED = 200_000;
const DEFAULT_LIVE_EVENTS_TTL_MS = 5000;

// Bulk writes: one HSET per chunk of fields, and a pipeline round trip per few MB, so 5,000 entries
// take a handful of round trips and a million entries never sit in memory as one pipeline.
const CHUNK_FIELDS = 1000;
const CHUNK_BYTES = 1 << 20;
const PIPELINE_BYTES = 8 << 20;
const PING_TIMEOUT_MS = 1000;
/**
 * An artifact read's timeout. Artifacts grow with the shop (ALS's customer factors: 127 MB at 418,000
 * customers, which took 1.1-1.9 s to read here): under the 2 s of a request's reads, a version's scorer
 * often could not be loaded at all at ten times Online Retail, and its reads blocked the requests'
 * reads queued behind them on the same connection. So an owned store reads (and writes) artifacts on a
 * connection of their own, with this timeout (or REDIS_COMMAND_TIMEOUT_MS where that is longer).
 */
export const ARTIFACT_READ_TIMEOUT_MS = 30_000;
/** How long a written artifact's temporary key lives if its writer dies before swapping it in (ms). */
const ARTIFACT_TEMP_TTL_MS = 600_000;
/**
 * Swaps a written artifact in: KEYS = the temporary key, the artifact's key, its `writes` count, the
 * version's key index; ARGV[1] '1' = only if the artifact is there (a redaction), ARGV[2] a random start
 * for a new count. Returns 1 when swapped, 0 (the temporary key dropped) when the artifact was not there.
 * RENAME takes the temporary key's expiry along: PERSIST drops it.
 */
const SWAP_ARTIFACT_SCRIPT = `if ARGV[1] == '1' and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('PERSIST', KEYS[2])
if redis.call('EXISTS', KEYS[3]) == 0 then redis.call('SET', KEYS[3], ARGV[2]) end
redis.call('INCR', KEYS[3])
redis.call('SADD', KEYS[4], KEYS[2], KEYS[3])
return 1`;

/**
 * Overwrites ranges of an artifact in place (ModelStore.patchArtifact): KEYS = the artifact's key, its
 * `writes` count, the version's key index; ARGV[1] a random start for a new count, ARGV[2] the length the
 * artifact must have ('' for any), then pairs of offset and bytes. Returns 1 when patched, 0 when the artifact is
 * not there or not of that length (SETRANGE on a key evicted meanwhile would create it, zeros up to the offset);
 * an error, writing nothing, when a
 * range runs past its end (SETRANGE would grow the string). The count goes up as at a rewrite, so a read
 * in parts across the patch is made again (redis-artifact-read.ts).
 */
const PATCH_ARTIFACT_SCRIPT = `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local size = redis.call('STRLEN', KEYS[1])
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= size then return 0 end
for i = 3, #ARGV, 2 do
  if tonumber(ARGV[i]) + #ARGV[i + 1] > size then return redis.error_reply('ERR artifact patch runs past the end') end
end
for i = 3, #ARGV, 2 do redis.call('SETRANGE', KEYS[1], tonumber(ARGV[i]), ARGV[i + 1]) end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], ARGV[1]) end
redis.call('INCR', KEYS[2])
redis.call('SADD', KEYS[3], KEYS[2])
return 1`;
/**
 * A note of a scrub done again as stored: `token@ms:from`, the writer's time inside the token, so the release
 * before, which reads `token:from`, still reads its erasure number (and `token@ms` as its token); and that
 * release's `token:from`, without a time.
 */
export function parseScrubbedAgainNote(note: string): { token: string; from: number; at?: number } {
  const token = note.slice(0, note.indexOf(':'));
  const from = Number(note.slice(note.indexOf(':') + 1));
  const timed = /@(\d+)$/.exec(token);
  return timed ? { token, from, at: Number(timed[1]) } : { token, from };
}

/** Patches per PATCH_ARTIFACT_SCRIPT call: a burst of 100 erasures is a few calls, none holding Redis long. */
const PATCHES_PER_CALL = 500;

/**
 * Publish: list the version and, unless another version became active since the caller began (ARGV[4],
 * the version active then, '' for none; ARGV[5] '1' = flip whatever is active, '2' = never: listed only), make it active, in one
 * step. Returns [1, the version active before ('' for none)] when flipped, [0, the active version] when
 * only listed, -1 when the version was published already, -2 when ARGV[6] (a draft's holder, '' for none) no longer
 * holds its lease (KEYS[4], the drafts hash: a sweeper took it and deletes the draft). A publish drops the lease.
 */
const PUBLISH_SCRIPT = `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return -1 end
if ARGV[6] ~= '' then
  local held = redis.call('HGET', KEYS[4], ARGV[1])
  if not held or string.sub(held, string.find(held, ':', 1, true) + 1) ~= ARGV[6] then return -2 end
end
redis.call('HDEL', KEYS[4], ARGV[1])
local current = redis.call('GET', KEYS[3])
local was = current and cjson.decode(current).version or ''
local activate = ARGV[5] == '1' or (ARGV[5] == '0' and ((not current) or was == ARGV[4]))
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if activate then
  redis.call('SET', KEYS[3], ARGV[2])
  return {1, was}
end
return {0, was}`;

/**
 * Draft leases (ModelStore.leaseDraft): KEYS = the drafts hash (version -> `DEADLINE:HOLDER`, DEADLINE in ms by
 * Redis's clock, so writers on hosts whose clocks differ agree), the versions hash; ARGV = version, holder, ms,
 * '1' = a renewal. Takes or renews the lease: refused (0) for a published version and for a lease another holder has
 * not let run out; a renewal also unless the lease is this holder's (a sweeper that took it, deleted the draft and let
 * go of it leaves nothing to renew); a lease of this holder's that ran out is renewed as long as nobody took it
 * (nobody deleted its draft).
 */
const LEASE_DRAFT_SCRIPT = `if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held then
  local sep = string.find(held, ':', 1, true)
  local mine = string.sub(held, sep + 1) == ARGV[2]
  if not mine and (ARGV[4] == '1' or tonumber(string.sub(held, 1, sep - 1)) > now) then return 0 end
elseif ARGV[4] == '1' then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], (now + tonumber(ARGV[3])) .. ':' .. ARGV[2])
return 1`;

/**
 * Takes the drafts whose writer's lease ran out (ModelStore.sweepDrafts): KEYS = the drafts hash, the versions
 * hash; ARGV = the sweeper's holder, ms. Each is leased to the sweeper (so its writer, should it come back, finds
 * the lease taken, and a restore begun meanwhile waits) and returned; the lease of a version published since is dropped.
 */
const TAKE_EXPIRED_DRAFTS_SCRIPT = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local taken = {}
for i = 1, #all, 2 do
  local version, held = all[i], all[i + 1]
  local sep = string.find(held, ':', 1, true)
  if redis.call('HEXISTS', KEYS[2], version) == 1 then
    redis.call('HDEL', KEYS[1], version)
  elseif tonumber(string.sub(held, 1, sep - 1)) <= now then
    redis.call('HSET', KEYS[1], version, (now + tonumber(ARGV[2])) .. ':' .. ARGV[1])
    taken[#taken + 1] = version
  end
end
return taken`;

/** KEYS: the drafts hash; ARGV: version, holder. Drops the lease if this holder has it. */
const RELEASE_DRAFT_SCRIPT = `local held = redis.call('HGET', KEYS[1], ARGV[1])
if not held then return 0 end
local sep = string.find(held, ':', 1, true)
if string.sub(held, sep + 1) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1`;

/** How long a sweeper holds the lease of a draft it deletes (ms): one whose deletion failed is swept again after it. */
const SWEEP_LEASE_MS = 60_000;

/** KEYS: versions hash, active key; ARGV: version. Copies the version's metadata to `active` if it is listed. */
const ACTIVATE_SCRIPT = `local meta = redis.call('HGET', KEYS[1], ARGV[1])
if not meta then return 0 end
redis.call('SET', KEYS[2], meta)
return 1`;

/**
 * Raises erasure records (ModelStore.raiseErasureRecords): KEYS = the versions' records (hash), the live
 * events' record, the versions hash; ARGV[1] the number, ARGV[2] `from` ('' for none), ARGV[3] '1' = the
 * live events' too, ARGV[4...] the versions.
 */
const RAISE_ERASURE_RECORDS_SCRIPT = `local through = tonumber(ARGV[1])
local from = ARGV[2] ~= '' and tonumber(ARGV[2]) or nil
local function raises(current)
  if not current then return from == nil end
  current = tonumber(current)
  return current < through and (from == nil or current >= from)
end
if ARGV[3] == '1' and raises(redis.call('GET', KEYS[2])) then redis.call('SET', KEYS[2], ARGV[1]) end
for i = 4, #ARGV do
  if redis.call('HEXISTS', KEYS[3], ARGV[i]) == 1 and raises(redis.call('HGET', KEYS[1], ARGV[i])) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
  end
end
return 1`;

/**
 * ModelStore on Redis or on a Redis Cluster. Key layout (P = prefix; C = `{ctl}:` on a cluster, empty
 * on a single server):
 *   P{v:VERSION}:artifact:NAME   string, the artifact's bytes
 *   P{v:VERSION}:artifact-writes:NAME  integer, counts up at every write (readArtifact), from a random start
 *   P{v:VERSION}:artifact-temp:NAME:ID string, an artifact being written (writeArtifact), expiring
 *   P{v:VERSION}:table:TABLE     hash, entry key -> bytes
 *   P{v:VERSION}:keys            set of the version's keys above, so a version deletes without SCAN
 *   PCversions                   hash, version -> ModelMeta JSON (published versions only)
 *   PCversions:by-time           sorted set, version scored by publish time (ms)
 *   PCversions:deleting          set, versions unlisted by deleteVersion whose data is not deleted yet
 *   PCversions:drafts            hash, version -> `DEADLINE:HOLDER`: drafts written under a lease (a restore's), until published
 *   PCerasures:versions          hash, version -> the erasure number it was scrubbed through (erasureRecords)
 *   PCerasures:live-events       string, the erasure number the live events were scrubbed through
 *   PCerasures:scrubbed-again    list of `token@ms:from` (`token:from` from the release before, which reads `token@ms` as the token), newest first, the last SCRUBBED_AGAIN_KEPT scrubs done again
 *   PCactive                     string, the active version's ModelMeta JSON: one GET answers getActive
 *   Puser:ID:events              list of `ts|itemId`, newest last, capped at LIVE_EVENTS_KEPT
 *   PCwrite-probe                string written by acceptsWrites, expiring within a second
 * and the pub/sub channels Puser-events:changed (JSON array of user ids whose events just changed),
 * Pusers:erased (the same, erased), Pusers:erasure-asked (the same, whose erasure was just asked: announceErasureAsked)
 * and Pmodel:activated (the version just made active).
 *
 * Slots: everything of one version shares the `{v:VERSION}` hash tag, so a version is written, read
 * and deleted within one slot; the control keys share `{ctl}` on a cluster, so a publish (metadata,
 * order and the `active` flip) is one script and an activation another. Each user's events are one key
 * of their own (spread over the cluster). No command or transaction spans two slots, and a request
 * reads one key per call (the active pointer, one table's entries with HMGET, the user's list).
 * A publish writes all of the version's data first and flips `active` last, in the same script as its
 * metadata, which is what makes it atomic for readers.
 *
 * Why the control keys keep their untagged names on a single server: deployments running today have
 * them under those names, and a rename would need a migration that old and new replicas of a rolling
 * deploy could not both follow. A cluster has no such past (moving to one means a new Redis and a
 * training), so only there the names carry the tag; both layouts pass the same contract suite.
 */
export function createRedisModelStore(opts: RedisModelStoreOptions): ModelStore {
  const owned = !opts.redis;
  const target = opts.target ?? { kind: 'single' as const, url: opts.url! };
  const openOwned = (options: RedisOptions): RedisClient => {
    const client = openRedis(target, options);
    // An owned connection reports failures through rejected commands and ping(); without a listener
    // ioredis would also print every reconnect error.
    // Only the message is passed on: ioredis attaches the AUTH command, password included, to the error.
    client.on('error', (err: Error) => CREDENTIALS_REFUSED.test(err.message) && opts.onCredentialsRefused?.(new Error(err.message)));
    // Commands sent before the first connection is up wait for it (a store is used as soon as it is
    // made); from then on a command while disconnected fails at once. ioredis reads this option on
    // every command (a cluster client: while it has no slot map).
    client.once('ready', () => (clientOptions(client).enableOfflineQueue = false));
    return client;
  };
  const commandTimeout = opts.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
  // The subscriber's connection is a duplicate of this one (redis-subscriber.ts), so it has the same timeout.
  const redis: RedisClient = opts.redis ?? openOwned({ ...FAIL_FAST_REDIS_OPTIONS, commandTimeout });
  const reopenRedis = reopener(redis);
  // An artifact's whole read never gets less time than one of the requests' commands.
  const artifactTimeout = Math.max(ARTIFACT_READ_TIMEOUT_MS, commandTimeout);
  // Artifact reads and writes (artifactTimeout), opened on the first one; a caller's connection is used as it is.
  let bulk: RedisClient | null = owned ? null : redis;
  const artifactConnection = () => (bulk ??= openOwned({ ...FAIL_FAST_REDIS_OPTIONS, commandTimeout: artifactTimeout }));
  const partBytes = opts.artifactPartBytes ?? ARTIFACT_PART_BYTES;
  const readHere = (key: string, writesKey: string, parts: number) => readArtifact(artifactConnection(), key, writesKey, parts);
  // An owned store reads artifacts on a worker thread (artifact-reader.ts); a caller's connection is used as it is.
  const reader = owned
    ? createArtifactReader({
        target,
        commandTimeout: artifactTimeout,
        fallback: readHere,
        onWorkerFailed: (err) => opts.onArtifactReaderFailed?.(err),
      })
    : null;
  const kept = opts.versionsKept ?? 5;
  const p = opts.prefix;
  const ctl = isCluster(redis) ? '{ctl}:' : '';
  const versionsKey = `${p}${ctl}versions`;
  const byTimeKey = `${p}${ctl}versions:by-time`;
  const activeKey = `${p}${ctl}active`;
  /** Versions unlisted by deleteVersion whose data may still be there: a deletion cut short (Redis away between its two steps). */
  const deletingKey = `${p}${ctl}versions:deleting`;
  const erasureRecordsKey = `${p}${ctl}erasures:versions`;
  const liveErasureRecordKey = `${p}${ctl}erasures:live-events`;
  const scrubbedAgainKey = `${p}${ctl}erasures:scrubbed-again`;
  /** Drafts written under a lease (leaseDraft: a restore's), version -> `DEADLINE:HOLDER`. */
  const draftsKey = `${p}${ctl}versions:drafts`;
  /** This store's holder when it sweeps drafts (sweepDrafts). */
  const sweeper = `sweeper-${randomBytes(8).toString('hex')}`;
  const artifactKey = (v: string, name: string) => `${p}{v:${v}}:artifact:${name}`;
  /** Counts up at every write of the artifact (SWAP_ARTIFACT_SCRIPT): readArtifact tells a read across a rewrite by it. */
  const artifactWritesKey = (v: string, name: string) => `${p}{v:${v}}:artifact-writes:${name}`;
  const tableKey = (v: string, table: string) => `${p}{v:${v}}:table:${table}`;
  const indexKey = (v: string) => `${p}{v:${v}}:keys`;
  const userKey = (id: string) => `${p}user:${id}:events`;
  const changedChannel = `${p}user-events:changed`;
  const erasedChannel = `${p}users:erased`;
  const activatedChannel = `${p}model:activated`;
  /** Written (expiring within a second) by acceptsWrites. */
  const writeProbeKey = `${p}${ctl}write-probe`;
  const erasedListeners: ((userId: string) => void)[] = [];
  const askedChannel = `${p}users:erasure-asked`;
  const askedListeners: ((userIds: readonly string[]) => void)[] = [];

  const activeListeners: (() => void)[] = [];
  const activeChanged = () => {
    for (const listener of activeListeners) listener();
  };

  // Live events are read on every recommendation: keep them in process, dropped on change messages.
  const view = new LiveEventsView(opts.liveEventsCached ?? DEFAULT_LIVE_EVENTS_CACHED, opts.liveEventsTtlMs ?? DEFAULT_LIVE_EVENTS_TTL_MS);
  // One subscriber connection per store: change messages for the view, erasures for onUserErased (so it
  // is there even when nothing is kept), activations for onActiveChanged. The view is enabled only
  // while the subscription holds.
  const subscriber = createSubscriber(redis, {
    channels: [changedChannel, erasedChannel, activatedChannel, askedChannel],
    connectionName: `${p}live-events`,
    onMessage(channel, message) {
      if (channel === activatedChannel) return activeChanged();
      let ids: unknown;
      try {
        ids = JSON.parse(message);
      } catch {
        ids = null;
      }
      // Not a list of ids (nothing of ours sends that): which users changed is unknown, so forget them all.
      if (!Array.isArray(ids) || !ids.every((id): id is string => typeof id === 'string')) {
        view.disable();
        view.enable();
        return;
      }
      // An erasure asked: nothing of the store changed yet (its scrub comes later, with its own message).
      if (channel === askedChannel) {
        for (const listener of askedListeners) listener(ids);
        return;
      }
      view.invalidate(ids);
      if (channel === erasedChannel) for (const id of ids) for (const listener of erasedListeners) listener(id);
    },
    onUp() {
      view.enable();
      // An activation may have been announced while the subscription was away.
      activeChanged();
    },
    onDown: () => view.disable(),
  });
  /**
   * After a local write: drop the user at once (this process reads its own writes), and tell the other
   * processes. The message is sent on its own, after the write: a Redis user without pub/sub rights
   * (ACL) must not lose the write itself; the other processes then see it when their kept read expires.
   */
  const announce = (userId: string, channel = changedChannel) => {
    view.invalidate([userId]);
    redis.publish(channel, JSON.stringify([userId])).catch(() => {});
  };

  // No copy: ioredis writes a Buffer view straight to the socket.
  const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

  async function assertWritable(version: string) {
    assertVersionName(version);
    if (await redis.hexists(versionsKey, version)) throw alreadyPublished(version);
  }

  /** After a flip: every process sharing the store re-resolves its served version now instead of at its next check. */
  const announceActive = (version: string) => {
    redis.publish(activatedChannel, version).catch(() => {});
  };

  async function getActive(): Promise<ModelMeta | null> {
    const json = await redis.get(activeKey);
    return json === null ? null : (JSON.parse(json) as ModelMeta);
  }

  async function deleteVersion(version: string): Promise<boolean> {
    if ((await getActive())?.version === version) return false;
    const [keys, published] = await Promise.all([redis.smembers(indexKey(version)), redis.hexists(versionsKey, version)]);
    if (keys.length === 0 && !published) return false;
    // Unlisted first (control slot), so it cannot be activated while its data goes; then the data
    // (the version's slot). UNLINK frees big hashes off Redis's main thread. Noted as being deleted as it
    // is unlisted, until its data is gone: a deletion cut short there (a prune's) left a version listed
    // nowhere, which no erasure found and scrubbed (deleteUser finishes it).
    if (published) await execReplies(redis.multi().hdel(versionsKey, version).zrem(byTimeKey, version).hdel(erasureRecordsKey, version).sadd(deletingKey, version));
    await redis.unlink(...keys, indexKey(version));
    if (published) await redis.srem(deletingKey, version);
    return true;
  }

  /** Deletes the data of a version whose deletion was cut short after it was unlisted. */
  async function finishDeletion(version: string): Promise<void> {
    await redis.unlink(...(await redis.smembers(indexKey(version))), indexKey(version));
    await redis.srem(deletingKey, version);
  }

  /**
   * Writes an artifact whole under a temporary key of the version's slot (a SET of its own, without the
   * Redis client's copy: uncopied-set.ts; it expires if this process dies before the swap), then swaps it in
   * with its count (SWAP_ARTIFACT_SCRIPT): readers never see half a write, whoever else writes meanwhile.
   * `onlyIfThere`: false, writing nothing, when the artifact is missing by then.
   */
  async function writeArtifact(version: string, name: string, data: Uint8Array, onlyIfThere: boolean): Promise<boolean> {
    const key = artifactKey(version, name);
    const temp = `${p}{v:${version}}:artifact-temp:${name}:${randomBytes(6).toString('hex')}`;
    // On the artifacts' connection: on the store's own, the requests' reads queued behind the write's bytes
    // (121 MB: half a second and more), and its 2 s timeout could end a slow write.
    await setUncopied(artifactConnection(), temp, asBuffer(data), ARTIFACT_TEMP_TTL_MS);
    const start = String(randomBytes(4).readUInt32BE(0));
    return (await redis.eval(SWAP_ARTIFACT_SCRIPT, 4, temp, key, artifactWritesKey(version, name), indexKey(version), onlyIfThere ? '1' : '0', start)) === 1;
  }

  return {
    async putArtifact(version, name, data) {
      await assertWritable(version);
      await writeArtifact(version, name, data, false);
    },

    getArtifact: (version, name) => (reader ? reader.read : readHere)(artifactKey(version, name), artifactWritesKey(version, name), partBytes),

    async putEntries(version, table, entries) {
      await assertWritable(version);
      const key = tableKey(version, table);
      let pipe = redis.pipeline().sadd(indexKey(version), key);
      let pipeBytes = 0;
      let args: (string | Buffer)[] = [];
      let argBytes = 0;
      const endChunk = () => {
        if (args.length > 0) pipe.hset(key, ...args);
        pipeBytes += argBytes;
        args = [];
        argBytes = 0;
      };
      for (const [field, value] of entries) {
        args.push(field, asBuffer(value));
        argBytes += field.length + value.byteLength;
        if (args.length >= 2 * CHUNK_FIELDS || argBytes >= CHUNK_BYTES) endChunk();
        if (pipeBytes >= PIPELINE_BYTES) {
          await execReplies(pipe);
          pipe = redis.pipeline();
          pipeBytes = 0;
        }
      }
      endChunk();
      await execReplies(pipe);
    },

    async getEntries(version, table, keys) {
      if (keys.length === 0) return [];
      return redis.hmgetBuffer(tableKey(version, table), ...keys);
    },

    async contentsOf(version, names) {
      // One round trip (every key is in the version's slot).
      const pipe = redis.pipeline();
      for (const name of names.artifacts) pipe.strlen(artifactKey(version, name));
      for (const table of names.tables) pipe.hlen(tableKey(version, table));
      const counts = (await execReplies(pipe)).map(Number);
      return {
        artifacts: Object.fromEntries(names.artifacts.map((name, k) => [name, counts[k]])),
        tables: Object.fromEntries(names.tables.map((table, k) => [table, counts[names.artifacts.length + k]])),
      };
    },

    async publish(meta, opts = {}) {
      assertVersionName(meta.version);
      if (await redis.hexists(versionsKey, meta.version)) throw alreadyPublished(meta.version);
      const json = JSON.stringify(meta);
      let score = opts.at;
      if (score === undefined) {
        const newest = await redis.zrevrange(byTimeKey, 0, 0, 'WITHSCORES');
        score = publishScore(newest.length ? Number(newest[1]) : null);
      }
      // Listed and flipped in one script (the three keys share the control slot): until it runs, readers
      // resolve the previous version and read only its keys; a publish that dies half-way leaves no listed
      // version that never was active; an activation by hand cannot come between the check and the flip.
      const unconditional = opts.listOnly ? '2' : opts.activeWas === undefined ? '1' : '0';
      const done = (await redis.eval(PUBLISH_SCRIPT, 4, versionsKey, byTimeKey, activeKey, draftsKey, meta.version, json, String(score), opts.activeWas ?? '', unconditional, opts.draftHolder ?? '')) as -1 | -2 | [number, string];
      if (done === -1) throw alreadyPublished(meta.version);
      if (done === -2) throw new DraftLeaseLost(meta.version);
      const activated = done[0] === 1;
      if (activated) announceActive(meta.version);
      const active = activated ? meta.version : ((await getActive())?.version ?? null);
      const activeBefore = activated ? done[1] || null : null;
      const oldestFirst = await redis.zrange(byTimeKey, 0, -1);
      for (const victim of prunedAtPublish(oldestFirst, active, kept, activeBefore, meta.version, opts.listOnly === true)) await deleteVersion(victim);
      return activated;
    },

    async activate(version) {
      // One script: a version pruned meanwhile is not made active (both keys are in the control slot).
      const done = await redis.eval(ACTIVATE_SCRIPT, 2, versionsKey, activeKey, version);
      if (done !== 1) return false;
      announceActive(version);
      return true;
    },

    onActiveChanged(listener) {
      activeListeners.push(listener);
    },

    getActive,

    async listVersions() {
      // One round trip, not two (the order, then the metas of the versions it names): the start and readiness call
      // this, and a Redis 700 ms away paid each trip. Both keys in one MULTI (one slot): what they say is of one moment.
      // The hash holds only published versions (PUBLISH_SCRIPT writes both, deleteVersion removes both), a few.
      const [newestFirst, metas] = (await execReplies(redis.multi().zrevrange(byTimeKey, 0, -1).hgetall(versionsKey))) as [string[], Record<string, string>];
      return newestFirst.filter((v) => Object.hasOwn(metas, v)).map((v) => JSON.parse(metas[v]) as ModelMeta);
    },

    deleteVersion,

    async leaseDraft(version, holder, ms, opts = {}) {
      assertVersionName(version);
      return (await redis.eval(LEASE_DRAFT_SCRIPT, 2, draftsKey, versionsKey, version, holder, String(Math.max(1, Math.round(ms))), opts.renew ? '1' : '0')) === 1;
    },

    async releaseDraft(version, holder) {
      await redis.eval(RELEASE_DRAFT_SCRIPT, 1, draftsKey, version, holder);
    },

    async sweepDrafts() {
      // One script takes them all (a few at most: one per version a restore put back): the drafts' data is
      // deleted after it, each under the sweeper's lease, which one that fails keeps until it runs out.
      const taken = (await redis.eval(TAKE_EXPIRED_DRAFTS_SCRIPT, 2, draftsKey, versionsKey, sweeper, String(SWEEP_LEASE_MS))) as string[];
      for (const version of taken) {
        await deleteVersion(version);
        await redis.eval(RELEASE_DRAFT_SCRIPT, 1, draftsKey, version, sweeper);
      }
      return taken;
    },

    async appendUserEvents(userId, events) {
      if (events.length === 0) return;
      const key = userKey(userId);
      const encoded = events.slice(-LIVE_EVENTS_KEPT).map((e) => `${e.ts}|${e.itemId}`);
      // MULTI so no reader ever sees the list above its cap.
      view.invalidate([userId]);
      const results = await redis.multi().rpush(key, ...encoded).ltrim(key, -LIVE_EVENTS_KEPT, -1).exec();
      // Again after the write: a read that started before it returned must not be kept.
      announce(userId);
      for (const [err] of results ?? []) if (err) throw err;
    },

    onUserErased(listener) {
      erasedListeners.push(listener);
    },

    announceErasureAsked(userIds) {
      if (userIds.length > 0) redis.publish(askedChannel, JSON.stringify(userIds)).catch(() => {});
    },

    onErasureAsked(listener) {
      askedListeners.push(listener);
    },

    peekUserEvents(userId) {
      return view.get(userId);
    },

    async getUserEvents(userId) {
      const kept = view.get(userId);
      if (kept) return kept as { itemId: string; ts: number }[];
      const ticket = view.ticket();
      const raw = await redis.lrange(userKey(userId), 0, -1);
      // ts is a number, so the first `|` ends it; item ids may contain `|` themselves.
      const events: LiveEvents = raw.map((s) => {
        const bar = s.indexOf('|');
        return { ts: Number(s.slice(0, bar)), itemId: s.slice(bar + 1) };
      });
      view.keep(userId, events, ticket);
      return events as { itemId: string; ts: number }[];
    },

    async deleteUser(userId, drafts = []) {
      const [listed, deleting] = await Promise.all([redis.hkeys(versionsKey), redis.smembers(deletingKey)]);
      // A version a deletion left half done holds the user too, listed nowhere: its deletion is finished first.
      for (const version of deleting) await finishDeletion(version);
      const versions = [...new Set([...listed, ...drafts])];
      const keysOfVersions = await Promise.all(versions.map((v) => redis.smembers(indexKey(v))));
      view.invalidate([userId]);
      // One pipeline per version (its own slot) besides the user's list: on a cluster a pipeline must
      // stay on one node.
      const perVersion = keysOfVersions.map((keys) => {
        const pipe = redis.pipeline();
        for (const key of keys) if (key.includes('}:table:')) pipe.hdel(key, userId);
        return pipe.length > 0 ? execReplies(pipe) : undefined;
      });
      await Promise.all([redis.del(userKey(userId)), ...perVersion]);
      announce(userId, erasedChannel);
    },

    async erasureRecords() {
      // One round trip: the keys share the control slot.
      const [names, records, live, again] = (await execReplies(
        redis.pipeline().zrange(byTimeKey, 0, -1).hgetall(erasureRecordsKey).get(liveErasureRecordKey).lrange(scrubbedAgainKey, 0, -1),
      )) as [string[], Record<string, string>, string | null, string[]];
      return {
        versions: new Map(names.map((v) => [v, records[v] === undefined ? undefined : Number(records[v])])),
        liveEvents: live === null ? undefined : Number(live),
        scrubbedAgain: again.map(parseScrubbedAgainNote),
      };
    },

    async noteScrubbedAgain(from) {
      await execReplies(redis.multi().lpush(scrubbedAgainKey, `${randomBytes(8).toString('hex')}@${Date.now()}:${from}`).ltrim(scrubbedAgainKey, 0, SCRUBBED_AGAIN_KEPT - 1));
    },

    async raiseErasureRecords(through, what) {
      await redis.eval(RAISE_ERASURE_RECORDS_SCRIPT, 3, erasureRecordsKey, liveErasureRecordKey, versionsKey, String(through), what.from === undefined ? '' : String(what.from), what.liveEvents ? '1' : '0', ...what.versions);
    },

    async deleteUserEvents(userIds) {
      if (userIds.length === 0) return;
      view.invalidate(userIds);
      // One key per user, each in its own slot.
      await Promise.all(userIds.map((id) => redis.del(userKey(id))));
      view.invalidate(userIds);
      redis.publish(erasedChannel, JSON.stringify(userIds)).catch(() => {});
    },

    async deleteUserEntries(version, userIds) {
      if (userIds.length === 0) return;
      // The version's own keys only (one slot: one pipeline on a cluster); the live events and the other
      // versions are left alone, and nothing is announced (an erasure's deleteUser did that).
      const keys = await redis.smembers(indexKey(version));
      const pipe = redis.pipeline();
      for (const key of keys) {
        if (!key.includes('}:table:')) continue;
        for (let i = 0; i < userIds.length; i += CHUNK_FIELDS) pipe.hdel(key, ...userIds.slice(i, i + CHUNK_FIELDS));
      }
      if (pipe.length > 0) await execReplies(pipe);
    },

    async redactArtifact(version, name, data) {
      // Only an artifact that is there is replaced: a pruned version is not brought back half-made.
      if (!(await redis.exists(artifactKey(version, name)))) return false;
      return writeArtifact(version, name, data, true);
    },

    // An erasure's layout read and in-place patch of an artifact: on the artifacts' connection (its timeout,
    // ARTIFACT_READ_TIMEOUT_MS), as their whole reads and writes are. On the requests' connection they gave up
    // after 2 s where Redis was busy with a big artifact, and the erasure rewrote the whole artifact instead.
    async readArtifactRange(version, name, start, end) {
      const key = artifactKey(version, name);
      const bulkRedis = artifactConnection();
      if (end <= start) return (await bulkRedis.exists(key)) ? new Uint8Array(0) : null;
      const [exists, bytes] = (await execReplies(bulkRedis.multi().exists(key).getrangeBuffer(key, start, end - 1))) as [number, Buffer];
      return exists ? new Uint8Array(bytes) : null;
    },

    async patchArtifact(version, name, patches, opts = {}) {
      const key = artifactKey(version, name);
      const bulkRedis = artifactConnection();
      if (patches.length === 0) return (await bulkRedis.exists(key)) === 1;
      const start = String(randomBytes(4).readUInt32BE(0));
      for (let i = 0; i < patches.length; i += PATCHES_PER_CALL) {
        const args = patches.slice(i, i + PATCHES_PER_CALL).flatMap(({ offset, bytes }) => [String(offset), asBuffer(bytes)]);
        // Each call is one step; a patch of more calls that fails half-way leaves the first calls' rows wiped, as an erasure may.
        if ((await bulkRedis.eval(PATCH_ARTIFACT_SCRIPT, 3, key, artifactWritesKey(version, name), indexKey(version), start, opts.size === undefined ? '' : String(opts.size), ...args)) !== 1) return false;
      }
      return true;
    },

    async ping() {
      const once = async () => (await redis.ping().catch(() => '')) === 'PONG';
      // A ping cut off by a reconnect for READONLY (the write probe beside it on a replica) is sent again.
      const answered = async () => (await once()) || ((await readyAfterReadOnlyReconnect(redis)) && (await once()));
      return within(answered(), PING_TIMEOUT_MS, () => false);
    },

    async acceptsWrites() {
      // A write of a key of its own that expires at once: a replica (READONLY) answers a ping, not this.
      const set = redis.set(writeProbeKey, String(process.pid), 'PX', 1000).catch(() => '');
      return (await within(set, PING_TIMEOUT_MS, () => '')) === 'OK';
    },

    async writeRefusal() {
      // The same write as acceptsWrites; its reply when Redis refuses it (a store that does not answer refuses nothing).
      const set = redis.set(writeProbeKey, String(process.pid), 'PX', 1000).then(
        () => null,
        (err: unknown) => (err instanceof Error && err.name === 'ReplyError' ? err : null),
      );
      return within(set, PING_TIMEOUT_MS, () => null);
    },

    reconnect() {
      // Only the connection requests' calls go over, and only its own (a caller's is the caller's). The
      // artifact connection is left alone: dropping it would kill a write in flight (hundreds of MB
      // redone), and its reads time out and reopen on their own (artifact-read-worker.ts). The subscriber,
      // idle, is closed by keepalive; serving's periodic check covers an activation missed meanwhile.
      return owned ? reopenRedis() : Promise.resolve(false);
    },

    async close() {
      view.disable();
      await subscriber.close();
      await reader?.close();
      if (owned && bulk) await closeClient(bulk);
      if (owned) await closeClient(redis);
    },
  };
}
