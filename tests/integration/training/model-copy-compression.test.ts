/**
 * A version's copy in Postgres stored compressed (model-copy-codec.ts packCopyChunk, model-copies.ts), put back by the
 * restore (model-restore.ts) into a model store that holds nothing, byte for byte; a copy written uncompressed (as the
 * release before wrote them, or with MODEL_COPY_COMPRESSION false) put back as well; a compressed chunk damaged
 * refused as a damaged copy is, nothing published; and the reader of the release before refusing a compressed copy
 * at its first chunk. Against the real Postgres and Redis.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createModelCopyRepository, type ModelCopyRepository } from '../../../src/data/model-copy-repository.js';
import { decodeCopy, packCopyChunk } from '../../../src/store/model-copy-codec.js';
import type { ModelMeta, ModelStore } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { SnapshotFormatError } from '../../../src/store/snapshot-codec.js';
import { createModelCopies } from '../../../src/training/model-copies.js';
import { createModelRestore } from '../../../src/training/model-restore.js';
import { createPostgresTestDb, POSTGRES_URL, randomPrefix, REDIS_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

const ready = (await serviceAvailable(POSTGRES_URL)) && (await serviceAvailable(REDIS_URL));
if (!ready && process.env.REQUIRE_SERVICES === 'true') throw new Error('this test needs Postgres and Redis and REQUIRE_SERVICES=true');

/** A version as a training writes one: float factors (compressible in part), random bytes (not), and entries. */
function sourceVersion(seed: number) {
  const factors = new Float32Array(60_000);
  for (let i = 0; i < factors.length; i++) factors[i] = Math.round(Math.sin(i * 0.37 + seed) * 1000) / 1000;
  const artifacts = new Map<string, Uint8Array>([
    ['factors', new Uint8Array(factors.buffer)],
    ['noise', randomBytes(50_000)],
    ['empty', new Uint8Array(0)],
  ]);
  const users = new Map<string, Uint8Array>();
  for (let i = 0; i < 3000; i++) users.set(`u${i}`, Buffer.from(JSON.stringify({ items: [`i${i % 97}`, `i${(i * 7) % 97}`], score: i / 3 })));
  return { artifacts, tables: new Map([['users', users]]) };
}

type Source = ReturnType<typeof sourceVersion>;

describe.skipIf(!ready)('a model copy stored compressed', () => {
  let testDb: TestDb;
  let repo: ModelCopyRepository;
  let store: ModelStore;
  const published: string[] = [];
  const logged: string[] = [];
  /** Chunks of 64 KiB: a copy of many, as a version of hundreds of MiB is in chunks of 4 MiB. */
  const CHUNK_BYTES = 64 * 1024;
  const meta = (version: string): ModelMeta => ({ version, recipe: 'r', trainedAt: new Date(0).toISOString(), info: { erasureMark: 0 } });

  beforeAll(async () => {
    testDb = await createPostgresTestDb();
    repo = createModelCopyRepository(testDb.db);
  }, 60_000);
  /** Each test's store holds nothing at its start: what a Redis restarted without persistence is to it. */
  beforeEach(() => {
    store = createRedisModelStore({ url: REDIS_URL, prefix: `${randomPrefix('copy-z')}:` });
  });
  afterEach(async () => {
    for (const m of await store.listVersions()) await store.deleteVersion(m.version);
    await store.close();
    for (const c of await repo.list()) await repo.drop([c.version]);
    published.length = 0;
    logged.length = 0;
  });
  afterAll(async () => {
    await testDb?.dispose();
  });

  /** The training's writer (model-copies.ts) copies `source`; the version is then the one active last. */
  async function copied(version: string, source: Source, opts: { compress?: boolean } = {}) {
    const writer = createModelCopies({ copies: repo, chunkBytes: CHUNK_BYTES, ...opts }).begin(version);
    for (const [name, data] of source.artifacts) writer.artifact(name, data);
    for (const [table, entries] of source.tables) writer.entries(table, entries);
    expect(await writer.complete(meta(version))).toBe(true);
    await repo.markActive(version);
    return writer.stats;
  }
  const stored = async (version: string) =>
    (await testDb.db.query<{ seq: number; bytes: Buffer }>('SELECT seq, bytes FROM model_copy_chunks WHERE version = $1 ORDER BY seq', [version])).rows;
  const restore = () =>
    createModelRestore({
      copies: repo, store,
      publishScrubbed: async (_mark, m, publish) => {
        published.push(m.version);
        return publish(0);
      },
      log: (msg) => logged.push(msg),
    }).restore();
  /** What the store serves of `version`, against `source`: every artifact and entry the same bytes. */
  async function expectServes(version: string, source: Source) {
    expect((await store.getActive())?.version).toBe(version);
    for (const [name, data] of source.artifacts) expect(Buffer.from((await store.getArtifact(version, name)) ?? [0xff]).equals(Buffer.from(data))).toBe(true);
    for (const [table, entries] of source.tables) {
      const keys = [...entries.keys()];
      const back = await store.getEntries(version, table, keys);
      expect(back.every((v, i) => v !== null && Buffer.from(v).equals(Buffer.from(entries.get(keys[i])!)))).toBe(true);
    }
  }

  it('When a training copies its version, Then every chunk is stored compressed and the copy takes less room, and a store that comes back empty is put back from it byte for byte', async () => {
    const source = sourceVersion(1);
    const stats = await copied('v-z', source);
    const chunks = await stored('v-z');
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.every((c) => c.bytes.subarray(0, 8).equals(Buffer.from([0, 0, 0, 0, ...Buffer.from('RMCB')])))).toBe(true);
    const storedBytes = chunks.reduce((n, c) => n + c.bytes.length, 0);
    expect(stats.stored).toBe(storedBytes);
    // The copy's size recorded is the decoded one (what the restore counts); its chunks hold less.
    expect((await repo.lastActive())?.bytes).toBe(stats.bytes);
    expect(storedBytes).toBeLessThan(stats.bytes * 0.8);

    expect({ outcome: await restore(), logged }).toEqual({ outcome: 'restored', logged: [] });
    expect(published).toEqual(['v-z']);
    await expectServes('v-z', source);
  }, 60_000);

  it('When the copy was written uncompressed (the release before, or MODEL_COPY_COMPRESSION false), Then it is put back byte for byte as before, and the reader of the release before reads it', async () => {
    const source = sourceVersion(2);
    const stats = await copied('v-plain', source, { compress: false });
    const chunks = await stored('v-plain');
    expect(chunks.reduce((n, c) => n + c.bytes.length, 0)).toBe(stats.bytes);
    // The reader of the release before: the frames decoded straight from the chunks as stored.
    let frames = 0;
    for await (const _ of decodeCopy((async function* () { yield* chunks.map((c) => c.bytes); })())) frames++;
    expect(frames).toBeGreaterThan(3);

    expect(await restore()).toBe('restored');
    await expectServes('v-plain', source);
  }, 60_000);

  it('When a compressed chunk is damaged, Then the copy is refused as damaged (the retraining is the fallback) and nothing is published or left in the store', async () => {
    const source = sourceVersion(3);
    await copied('v-bad', source);
    const chunks = await stored('v-bad');
    expect(chunks.every((c) => c.bytes.subarray(4, 8).toString() === 'RMCB')).toBe(true);
    const middle = chunks[Math.floor(chunks.length / 2)];
    // Bytes inside the compressed stream flipped: it no longer decompresses, or not to the length its header gives,
    // or to other bytes, which its frames' CRCs refuse.
    const damaged = Buffer.from(middle.bytes);
    for (let i = 20; i < Math.min(damaged.length, 60); i++) damaged[i] ^= 0x5a;
    await testDb.db.query('UPDATE model_copy_chunks SET bytes = $3 WHERE version = $1 AND seq = $2', ['v-bad', middle.seq, damaged]);

    expect(await restore()).toBe('none');
    expect(published).toEqual([]);
    expect(await store.listVersions()).toEqual([]);
    expect(await store.getArtifact('v-bad', 'factors')).toBeNull();
    expect(logged.join('\n')).toMatch(/the copy of v-bad in Postgres is damaged or incomplete/);
  }, 60_000);

  // Less than it inflates to: the decompression stops at that limit. More: it inflates whole, to the chunk as cut, and
  // only the comparison of the lengths refuses it.
  it.each([-1, 1])('When the header of a compressed chunk gives a length other than what it inflates to (by %i), Then the copy is refused, nothing published', async (by) => {
    await copied('v-len', sourceVersion(4));
    const [first] = await stored('v-len');
    expect(first.bytes.subarray(4, 8).toString()).toBe('RMCB');
    const lying = Buffer.from(first.bytes);
    lying.writeUInt32LE(lying.readUInt32LE(8) + by, 8);
    await testDb.db.query('UPDATE model_copy_chunks SET bytes = $2 WHERE version = $1 AND seq = 0', ['v-len', lying]);
    expect(await restore()).toBe('none');
    expect(published).toEqual([]);
    expect(await store.listVersions()).toEqual([]);
  }, 60_000);

  it('When a flush hands over many chunks at once (a large artifact), Then at most one is compressed ahead of the insert under way, and the copy is put back whole', async () => {
    // The chunks compressed (or being compressed) and not yet inserted: what the writer holds besides the raw chunks.
    let packed = 0;
    let inserted = 0;
    let most = 0;
    const counting: ModelCopyRepository = {
      ...repo,
      putChunk: async (version, seq, bytes) => {
        await repo.putChunk(version, seq, bytes);
        inserted++;
      },
    };
    const pack = (chunk: Uint8Array) => {
      packed++;
      most = Math.max(most, packed - inserted);
      return packCopyChunk(chunk);
    };
    const source = sourceVersion(6);
    const big = new Uint8Array(20 * CHUNK_BYTES);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
    source.artifacts.set('big', big);
    const writer = createModelCopies({ copies: counting, chunkBytes: CHUNK_BYTES, pack }).begin('v-many');
    writer.artifact('big', big);
    await writer.flush();
    expect(inserted).toBeGreaterThanOrEqual(20);
    for (const [name, data] of source.artifacts) if (name !== 'big') writer.artifact(name, data);
    for (const [table, entries] of source.tables) writer.entries(table, entries);
    expect(await writer.complete(meta('v-many'))).toBe(true);
    await repo.markActive('v-many');
    expect({ packed, inserted, most }).toEqual({ packed: writer.stats.chunks, inserted: writer.stats.chunks, most: 2 });

    expect(await restore()).toBe('restored');
    await expectServes('v-many', source);
  }, 60_000);

  it.each([
    ['Postgres refuses an insert', 'insert'],
    ['a compression fails', 'pack'],
  ] as const)('When %s mid-copy, Then the copy fails, is never recorded whole, and nothing is left unhandled', async (_what, where) => {
    const failing: ModelCopyRepository = {
      ...repo,
      putChunk: async (version, seq, bytes) => {
        if (where === 'insert' && seq === 3) throw new Error('connection terminated');
        await repo.putChunk(version, seq, bytes);
      },
    };
    let packed = 0;
    const pack = async (chunk: Uint8Array) => {
      if (where === 'pack' && packed++ === 3) throw new Error('compression failed');
      return packCopyChunk(chunk);
    };
    const version = `v-fail-${where}`;
    const writer = createModelCopies({ copies: failing, chunkBytes: CHUNK_BYTES, pack, log: (msg) => logged.push(msg) }).begin(version);
    const source = sourceVersion(7);
    for (const [name, data] of source.artifacts) writer.artifact(name, data);
    for (const [table, entries] of source.tables) writer.entries(table, entries);
    expect(await writer.complete(meta(version))).toBe(false);
    expect(writer.stats.failed).toBe(true);
    expect((await repo.whole()).map((c) => c.version)).not.toContain(version);
    expect((await stored(version)).length).toBeLessThanOrEqual(3);
    expect(logged.join('\n')).toMatch(new RegExp(`model copy of ${version} failed`));
    await writer.abandon();
    expect(await stored(version)).toEqual([]);
  }, 60_000);

  it('When the reader of the release before reads a compressed copy (its frames decoded straight from the chunks as stored), Then it refuses it at the first chunk as damaged, having decoded nothing', async () => {
    await copied('v-old-reader', sourceVersion(5));
    const chunks = await stored('v-old-reader');
    let read = 0;
    let frames = 0;
    const asStored = async function* () {
      for (const c of chunks) {
        read++;
        yield c.bytes;
      }
    };
    // model-restore.ts of the release before catches a SnapshotFormatError as a damaged copy: it deletes its draft
    // (nothing was written to it yet) and answers `none`, the retraining being the fallback; nothing is published.
    const refusal = (async () => {
      for await (const _ of decodeCopy(asStored())) frames++;
    })();
    await expect(refusal).rejects.toThrow(SnapshotFormatError);
    await expect(refusal).rejects.toThrow('snapshot too short');
    expect(frames).toBe(0);
    expect(read).toBe(1);
  }, 60_000);
});
