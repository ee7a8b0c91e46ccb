import type { Services } from '../../src/services.js';
import type { PrivateRedis } from './private-servers.js';

/** The test's own holder of the restore's lease (model-copy-repository.ts takeLease). */
const HOLDER = 'test-store-emptied';
/** Per store: how many times it said its subscription came back or an activation was announced (onActiveChanged). */
const announced = new WeakMap<object, { count: number }>();

/**
 * A crash and a start with nothing (a Redis without persistence restarted by its host), seen by `services` and not
 * yet put back: resolves once its store answers again and holds no version. Deterministic whether or not its model
 * recovery was started: the restore's lease is held meanwhile (any restore, this process's or another's, answers
 * `elsewhere`), and the look the store's returning subscription begins (checkSoon) is waited for before the lease is
 * let go, so no restore runs after this returns unless the test asks for one.
 */
export async function restartedEmpty(redis: PrivateRedis, services: Services): Promise<void> {
  const { store, modelCopyRepository: copies, modelRecovery } = services;
  let seen = announced.get(store);
  if (!seen) {
    const counter = { count: 0 };
    store.onActiveChanged?.(() => counter.count++);
    announced.set(store, (seen = counter));
  }
  const last = (await copies?.lastActive())?.version;
  if (last && !(await copies!.takeLease(last, HOLDER, 120_000))) throw new Error(`a restore of ${last} holds its lease`);
  try {
    const before = seen.count;
    await redis.kill();
    await redis.start();
    for (let i = 0; !(await store.ping()) || seen.count === before; i++) {
      if (i >= 300) throw new Error('the store did not see the Redis come back within 15 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    // Its subscription is back, which began a look if the recovery is started: it found the lease held.
    await modelRecovery?.idle();
    if ((await store.getActive()) !== null || (await store.listVersions()).length > 0) throw new Error('the store holds versions after the restart');
  } finally {
    if (last) await copies!.releaseLease(last, HOLDER);
  }
}
