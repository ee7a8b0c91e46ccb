import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createModelStore } from '../../../src/store/create-model-store.js';
import { REDIS_URL, serviceAvailable } from '../../helpers/services.js';

const redisUp = await serviceAvailable(REDIS_URL);
const meta = { version: 'v1', recipe: 'r', trainedAt: '2026-01-01T00:00:00.000Z', info: { users: 2 } };

describe('createModelStore', () => {
  it('When REDIS_URL is unset, Then the store snapshots under DATA_DIR/model-store', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'data-dir-'));
    try {
      const store = await createModelStore({ DATA_DIR: dataDir, MODEL_VERSIONS_KEPT: 5 });
      await store.publish(meta);
      await store.close();
      expect((await readdir(join(dataDir, 'model-store'))).sort()).toEqual(['active', expect.stringMatching(/^model-[0-9a-f]{32}\.bin$/)]);
      const again = await createModelStore({ DATA_DIR: dataDir, MODEL_VERSIONS_KEPT: 5 });
      expect(await again.getActive()).toEqual(meta);
      await again.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it.skipIf(!redisUp)('When REDIS_URL is set, Then the store talks to that Redis and closes its own connection', async () => {
    const store = await createModelStore({ REDIS_URL, DATA_DIR: '/nonexistent', MODEL_VERSIONS_KEPT: 5 }, { prefix: `t_factory_${Date.now()}:` });
    expect(await store.ping()).toBe(true);
    expect(await store.getActive()).toBeNull();
    await store.close();
    expect(await store.ping()).toBe(false);
  });
});
