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
export async function restartedEmpty(redis: PrivateRedis, services: Services, ...others: Services[]): Promise<void> {
  const { store, modelCopyRepository: copies } = services;
  // Every process on this Redis sees it come back, each beginning a look of its own: all are waited for.
  const watched = [services, ...others].map((s) => ({ services: s, seen: announcements(s.store) }));
  const last = (await copies?.lastActive())?.version;
  if (last && !(await copies!.takeLease(last, HOLDER, 120_000))) throw new Error(`a restore of ${last} holds its lease`);
  try {
    const before = watched.map((w) => w.seen.count);
    await redis.kill();
    await redis.start();
    for (const [n, w] of watched.entries()) {
      for (let i = 0; w.seen.count === before[n]; i++) {
        if (i >= 300) throw new Error('a store did not see the Redis come back within 15 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      await storeAnswers(w.services.store);
    }
    // Their subscriptions are back, each of which began a look if its recovery is started: each found the lease held.
    for (const w of watched) await w.services.modelRecovery?.idle();
    if ((await store.getActive()) !== null || (await store.listVersions()).length > 0) throw new Error('the store holds versions after the restart');
  } finally {
    if (last) await copies!.releaseLease(last, HOLDER);
  }
}

/**
 * Resolves once `store` answers again after its Redis came back, on both of its connections: its artifacts' connection
 * reconnects on a back-off of its own and fails at once meanwhile ("Stream isn't writeable"), and a restore the test
 * starts next writes on it (in the service, the look tries again a second later).
 */
export async function storeAnswers(store: Services['store']): Promise<void> {
  for (let i = 0; !(await store.ping()); i++) {
    if (i >= 300) throw new Error('a store did not see the Redis come back within 15 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  const artifactsAnswer = async () => (await store.readArtifactRange?.('restarted-empty-probe', 'probe', 0, 0).then(() => true, () => false)) ?? true;
  for (let i = 0; !(await artifactsAnswer()); i++) {
    if (i >= 300) throw new Error("a store's artifacts connection did not come back within 15 s");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How many times `store` said its subscription came back or an activation was announced, counted from the first ask. */
function announcements(store: Services['store']): { count: number } {
  let seen = announced.get(store);
  if (!seen) {
    const counter = { count: 0 };
    store.onActiveChanged?.(() => counter.count++);
    announced.set(store, (seen = counter));
  }
  return seen;
}
