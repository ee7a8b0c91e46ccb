import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LIVE_EVENTS_KEPT, type ModelMeta, type ModelStore, type PublishOptions } from './model-store.js';
import { decodeSnapshot, encodeSnapshot, SnapshotFormatError, type VersionSnapshot } from './snapshot-codec.js';
import { alreadyPublished, assertVersionName, prunedAtPublish, publishScore } from './version-rules.js';

export interface MemoryModelStoreOptions {
  /**
   * Where published versions survive a restart: one `model-<hash>.bin` file per version (see
   * snapshot-codec.ts) plus an `active` file naming the active version. Unset: nothing is persisted.
   */
  snapshotDir?: string;
  /** Published versions kept for rollback, the active one included (default 5). */
  versionsKept?: number;
}

type Tables = Map<string, Map<string, Uint8Array>>;
interface Draft {
  artifacts: Map<string, Uint8Array>;
  tables: Tables;
}

const ACTIVE_FILE = 'active';
// Hashed, because a file name must not depend on what characters a version name may hold.
const versionFile = (version: string) => `model-${createHash('sha256').update(version).digest('hex').slice(0, 32)}.bin`;
const copy = (b: Uint8Array) => new Uint8Array(b);
const NO_EVENTS: readonly { itemId: string; ts: number }[] = Object.freeze([]);

/**
 * The in-process ModelStore (the default when REDIS_URL is unset). Unpublished writes live in memory
 * only; `publish`, `activate` and `deleteVersion` persist to `snapshotDir` before they change what
 * readers see, each file written to a temp name, fsynced and renamed, so a crash leaves either the old
 * or the new file. Per-user live events are kept in memory only: a restart loses them, which is
 * harmless because training re-reads every purchase from Postgres.
 *
 * Bytes are copied in and out, as Redis would, so no caller can change a stored model through a
 * buffer it still holds.
 */
export async function createMemoryModelStore(opts: MemoryModelStoreOptions = {}): Promise<ModelStore> {
  const kept = opts.versionsKept ?? 5;
  const dir = opts.snapshotDir;
  const drafts = new Map<string, Draft>();
  const published = new Map<string, VersionSnapshot>();
  let active: string | null = null;
  const userEvents = new Map<string, { itemId: string; ts: number }[]>();

  if (dir) ({ active } = await loadSnapshots(dir, published));

  // Snapshot writes are serialized: two overlapping publishes must not race on the `active` file.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn);
    queue = run.catch(() => {});
    return run;
  };

  const draftOf = (version: string) => {
    assertVersionName(version);
    if (published.has(version)) throw alreadyPublished(version);
    let d = drafts.get(version);
    if (!d) drafts.set(version, (d = { artifacts: new Map(), tables: new Map() }));
    return d;
  };
  const find = (version: string) => published.get(version) ?? drafts.get(version);
  const newestFirst = () => [...published.values()].sort((a, b) => b.publishedAt - a.publishedAt);

  async function deleteUnlocked(version: string): Promise<boolean> {
    if (version === active) return false;
    if (published.has(version)) {
      if (dir) await rm(join(dir, versionFile(version)), { force: true });
      published.delete(version);
      return true;
    }
    return drafts.delete(version);
  }

  // Serving in this process re-resolves the active version at once after a publish or an activation (as the
  // Redis store's subscribers do across processes), not at its next periodic check.
  const activeListeners: (() => void)[] = [];
  const announce = () => {
    for (const listener of activeListeners) listener();
  };

  return {
    async putArtifact(version, name, data) {
      draftOf(version).artifacts.set(name, copy(data));
    },

    async getArtifact(version, name) {
      const data = find(version)?.artifacts.get(name);
      return data ? copy(data) : null;
    },

    async putEntries(version, table, entries) {
      const tables = draftOf(version).tables;
      let t = tables.get(table);
      if (!t) tables.set(table, (t = new Map()));
      for (const [key, value] of entries) t.set(key, copy(value));
    },

    async contentsOf(version, names) {
      const v = find(version);
      return {
        artifacts: Object.fromEntries(names.artifacts.map((name) => [name, v?.artifacts.get(name)?.byteLength ?? 0])),
        tables: Object.fromEntries(names.tables.map((table) => [table, v?.tables.get(table)?.size ?? 0])),
      };
    },

    async getEntries(version, table, keys) {
      const t = find(version)?.tables.get(table);
      return keys.map((k) => {
        const v = t?.get(k);
        return v ? copy(v) : null;
      });
    },

    publish: (meta: ModelMeta, opts: PublishOptions = {}) =>
      serial(async () => {
        assertVersionName(meta.version);
        if (published.has(meta.version)) throw alreadyPublished(meta.version);
        const draft = drafts.get(meta.version) ?? { artifacts: new Map(), tables: new Map() };
        // Decided inside the serialised step, so an activation cannot come between the check and the flip.
        const activate = !opts.listOnly && (opts.activeWas === undefined || active === null || active === opts.activeWas);
        const newest = newestFirst()[0];
        const snapshot: VersionSnapshot = { meta, publishedAt: opts.at ?? publishScore(newest?.publishedAt ?? null), ...draft };
        if (dir) {
          await writeAtomically(dir, versionFile(meta.version), encodeSnapshot(snapshot));
          if (activate) await writeAtomically(dir, ACTIVE_FILE, Buffer.from(meta.version));
        }
        drafts.delete(meta.version);
        published.set(meta.version, snapshot);
        const activeBefore = activate ? active : null;
        if (activate) active = meta.version;
        const oldestFirst = newestFirst().reverse().map((s) => s.meta.version);
        for (const victim of prunedAtPublish(oldestFirst, active, kept, activeBefore, meta.version, opts.listOnly === true)) await deleteUnlocked(victim);
        if (activate) announce();
        return activate;
      }),

    activate: (version) =>
      serial(async () => {
        if (!published.has(version)) return false;
        if (dir) await writeAtomically(dir, ACTIVE_FILE, Buffer.from(version));
        active = version;
        announce();
        return true;
      }),

    onActiveChanged(listener) {
      activeListeners.push(listener);
    },

    async getActive() {
      return active === null ? null : published.get(active)!.meta;
    },

    async listVersions() {
      return newestFirst().map((s) => s.meta);
    },

    deleteVersion: (version) => serial(() => deleteUnlocked(version)),

    async appendUserEvents(userId, events) {
      if (events.length === 0) return;
      const list = [...(userEvents.get(userId) ?? []), ...events.map((e) => ({ itemId: e.itemId, ts: e.ts }))];
      userEvents.set(userId, list.slice(-LIVE_EVENTS_KEPT));
    },

    async getUserEvents(userId) {
      return (userEvents.get(userId) ?? []).map((e) => ({ ...e }));
    },

    peekUserEvents(userId) {
      return userEvents.get(userId) ?? NO_EVENTS;
    },

    deleteUser: (userId, named = []) =>
      serial(async () => {
        userEvents.delete(userId);
        // Only the drafts named (a training scrubbing its own before its publish), as the Redis store: an
        // entry gone behind a training's back fails its check of what it wrote.
        for (const version of named) for (const t of drafts.get(version)?.tables.values() ?? []) t.delete(userId);
        for (const snapshot of published.values()) {
          let changed = false;
          for (const t of snapshot.tables.values()) changed = t.delete(userId) || changed;
          // The file on disk must forget them too, or a restart would bring the entries back.
          if (changed && dir) await writeAtomically(dir, versionFile(snapshot.meta.version), encodeSnapshot(snapshot));
        }
      }),

    deleteUserEntries: (version, userIds) =>
      serial(async () => {
        let changed = false;
        for (const t of find(version)?.tables.values() ?? []) for (const id of userIds) changed = t.delete(id) || changed;
        // A published version's file must forget them too, or a restart would bring the entries back.
        const snapshot = published.get(version);
        if (changed && snapshot && dir) await writeAtomically(dir, versionFile(version), encodeSnapshot(snapshot));
      }),

    redactArtifact: (version, name, data) =>
      serial(async () => {
        const target = find(version);
        if (!target?.artifacts.has(name)) return false;
        target.artifacts.set(name, copy(data));
        const snapshot = published.get(version);
        // The file on disk must hold the redacted copy too, or a restart would bring the old one back.
        if (snapshot && dir) await writeAtomically(dir, versionFile(version), encodeSnapshot(snapshot));
        return true;
      }),

    async readArtifactRange(version, name, start, end) {
      const data = find(version)?.artifacts.get(name);
      return data ? data.slice(start, Math.max(start, end)) : null;
    },

    patchArtifact: (version, name, patches, opts = {}) =>
      serial(async () => {
        const target = find(version);
        const data = target?.artifacts.get(name);
        if (!target || !data) return false;
        if (opts.size !== undefined && data.byteLength !== opts.size) return false;
        if (patches.some((q) => !Number.isInteger(q.offset) || q.offset < 0 || q.offset + q.bytes.byteLength > data.byteLength)) {
          throw new RangeError(`a patch of artifact ${name} of ${version} runs past its end (${data.byteLength} bytes)`);
        }
        // A copy patched and swapped in: the bytes held before may be views a snapshot file's read shares.
        const patched = copy(data);
        for (const { offset, bytes } of patches) patched.set(bytes, offset);
        target.artifacts.set(name, patched);
        const snapshot = published.get(version);
        if (snapshot && dir) await writeAtomically(dir, versionFile(version), encodeSnapshot(snapshot));
        return true;
      }),

    ping: async () => true,

    async close() {
      // Let a publish in flight finish writing its files.
      await queue;
    },
  };
}

/** Reads every version file and the active pointer; a stale temp file from a crash is removed. */
async function loadSnapshots(dir: string, into: Map<string, VersionSnapshot>): Promise<{ active: string | null }> {
  await mkdir(dir, { recursive: true });
  for (const file of await readdir(dir)) {
    if (file.endsWith('.tmp')) await rm(join(dir, file), { force: true });
    if (!/^model-[0-9a-f]{32}\.bin$/.test(file)) continue;
    try {
      const snapshot = decodeSnapshot(await readFile(join(dir, file)));
      into.set(snapshot.meta.version, snapshot);
    } catch (err) {
      // Refuse to start on a damaged model rather than silently serve without it.
      if (err instanceof SnapshotFormatError) throw new SnapshotFormatError(`${join(dir, file)}: ${err.message}`);
      throw err;
    }
  }
  const pointer = await readFile(join(dir, ACTIVE_FILE), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  // A pointer to a version whose file is gone (removed by hand) means nothing is active.
  return { active: pointer !== null && into.has(pointer) ? pointer : null };
}

async function writeAtomically(dir: string, name: string, data: Uint8Array): Promise<void> {
  const tmp = join(dir, `${name}.${process.pid}.tmp`);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, join(dir, name));
}
