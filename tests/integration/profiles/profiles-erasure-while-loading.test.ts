import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProfileService } from '../../../src/profiles/profile-service.js';
import { PROFILES_ARTIFACT } from '../../../src/profiles/profiles-artifact.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

/**
 * b8bc463/06a3183: an erasure takes the customer out of what the process holds, and an audience index
 * being read when it lands is built without them (audience-service.ts erasedWhileLoading). The profile
 * service's load (profile-service.ts load) that read the artifact before the erasure only declines to
 * keep its result (`started !== generation`): it still hands it, the customer in it, to every request
 * that waited for it, whose list, count and report then name the erased customer after the 204.
 */
const usePostgres = await serviceAvailable(POSTGRES_URL);
const DAY = 86_400_000;
const base = Date.UTC(2024, 2, 1, 12);
const id = (i: number) => `s${String(i).padStart(2, '0')}`;

describe('profiles being read when an erasure lands', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb });
    const events = Array.from({ length: 20 }, (_, k) => ({
      userId: id(k + 1), itemId: `item-${k % 3}`, quantity: 1, price: 10 * (k + 1), orderId: `o${k + 1}`, ts: new Date(base + k * DAY).toISOString(),
    }));
    expect((await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events } })).json().inserted).toBe(20);
    await t.services.trainer.train({ tune: false });
  }, 120_000);
  afterAll(() => t?.dispose());

  it('When a customer is erased after their profiles were read and before they are decoded, Then the lists and report that load answers leave them out', async () => {
    const { store, events, catalog } = t.services;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const read = new Promise<void>((r) => (reached = r));
    // The same store; the profiles artifact's read answers only once the erasure is done (a slow read of a large artifact).
    const slow: ModelStore = Object.assign(Object.create(store) as ModelStore, {
      getArtifact: async (version: string, name: string) => {
        const bytes = await store.getArtifact(version, name);
        if (name === PROFILES_ARTIFACT) {
          reached();
          await gate;
        }
        return bytes;
      },
    });
    const profiles = createProfileService({ store: slow, events, catalog });
    const listed = profiles.members('valueTier', 'low', { limit: 20 });
    const report = profiles.report();
    await read;
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/s05', headers: auth('admin') })).statusCode).toBe(204);
    // As services.ts wires it for the service's own profile service.
    profiles.forgetUser('s05');
    release();
    const page = (await listed)!;
    expect(page.users.map((u) => u.userId)).not.toContain('s05');
    expect(page.total).toBe(9);
    expect((await report)!.users).toBe(19);
    // A request after it reads again: without them.
    expect((await profiles.members('valueTier', 'low', { limit: 20 }))!.users.map((u) => u.userId)).not.toContain('s05');
  }, 60_000);
});
