/**
 * A copy in Postgres missing a chunk in its middle (model-copy-repository.ts, model-restore.ts) is refused where the
 * gap is, as its chunks arrive: not after every chunk behind it was read (the decoder, out of step with the frames
 * after a gap, waits for a frame length read from the wrong bytes and may hold up to the whole version meanwhile).
 * Against the real Postgres and Redis: a copy of many small chunks written as a training writes one.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelCopyRepository, type ModelCopyRepository } from '../../../src/data/model-copy-repository.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createCopyEncoder } from '../../../src/store/model-copy-codec.js';
import { createModelCopies } from '../../../src/training/model-copies.js';
import { createModelRestore } from '../../../src/training/model-restore.js';
import { createPostgresTestDb, POSTGRES_URL, randomPrefix, REDIS_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

const ready = (await serviceAvailable(POSTGRES_URL)) && (await serviceAvailable(REDIS_URL));
if (!ready && process.env.REQUIRE_SERVICES === 'true') throw new Error('this test needs Postgres and Redis and REQUIRE_SERVICES=true');

describe.skipIf(!ready)('a copy missing a chunk in its middle', () => {
  let testDb: TestDb;
  let repo: ModelCopyRepository;
  let store: ModelStore;
  const version = 'v-chunk-gap';
  /** 40 artifacts of 4 KiB, one chunk each. */
  const ARTIFACTS = 40;

  beforeAll(async () => {
    testDb = await createPostgresTestDb();
    repo = createModelCopyRepository(testDb.db);
    store = createRedisModelStore({ url: REDIS_URL, prefix: `${randomPrefix('chunk-gap')}:` });
    // Chunks of exactly one frame each (names of one length, artifacts of one size): a chunk missing is a frame
    // missing, and the frames after it decode as well as the ones before.
    const name = (i: number) => `a${String(i).padStart(2, '0')}`;
    const sizing = createCopyEncoder(version);
    sizing.artifact(name(0), new Uint8Array(4096));
    const writer = createModelCopies({ copies: repo, chunkBytes: sizing.bytes }).begin(version);
    for (let i = 0; i < ARTIFACTS; i++) writer.artifact(name(i), randomBytes(4096));
    expect(await writer.complete({ version, recipe: 'r', trainedAt: new Date(0).toISOString(), info: { erasureMark: 0 } })).toBe(true);
    await repo.markActive(version);
  }, 60_000);
  afterAll(async () => {
    await store?.deleteVersion(version).catch(() => false);
    await store?.close();
    await testDb?.dispose();
  });

  it('When the copy of the version to put back misses a middle chunk, Then the restore stops at the gap, reads none of the chunks after it, and leaves nothing in the store', async () => {
    const [{ chunks }] = (await repo.list()).filter((c) => c.version === version);
    expect(chunks).toBe(ARTIFACTS);
    const gap = Math.floor(chunks / 2);
    await testDb.db.query('DELETE FROM model_copy_chunks WHERE version = $1 AND seq = $2', [version, gap]);
    let read = 0;
    const counting = {
      ...repo,
      async *chunks(v: string) {
        for await (const chunk of repo.chunks(v)) {
          read++;
          yield chunk;
        }
      },
    };
    const published: string[] = [];
    const restore = createModelRestore({
      copies: counting, store,
      publishScrubbed: async (_mark, meta, publish) => {
        published.push(meta.version);
        return publish(0);
      },
    });
    expect(await restore.restore()).toBe('none');
    // The chunks before the gap, and the one after it that shows the gap.
    expect(read).toBe(gap + 1);
    expect(published).toEqual([]);
    expect(await store.listVersions()).toEqual([]);
    expect(await store.getArtifact(version, 'a00')).toBeNull();
  }, 60_000);
});
