import { describe, expect, it } from 'vitest';
import { AUDIENCE_ARTIFACT, audienceCollector } from '../../../src/audiences/audience-artifact.js';
import { createAudienceService } from '../../../src/audiences/audience-service.js';
import { AppError } from '../../../src/errors.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact, encodeUserIdsArtifact } from '../../../src/serving/serving-artifacts.js';
import { buildServingModel } from '../../../src/serving/serving-model-builder.js';
import { loadServingModel } from '../../../src/serving/serving-model.js';
import { USERS_TABLE } from '../../../src/serving/user-entry.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { writeModelVersion } from '../../../src/training/write-model-version.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';
import { fitSources } from '../serving/fit-sources.js';

/**
 * An audience from the stored postings (layout 2) reads its candidate members' entries for their reasons
 * (audience-service.ts explainedMembers). An entry can be missing while the version is still listed: the store
 * lost the users table (a Redis hash is one key, so `allkeys-*` eviction or a shard restarted empty takes every
 * entry at once, and nothing brings them back short of a new training), or another process erased the member and
 * this one has not been told yet. The first must not fail every audience of the version for good (it was a 503,
 * "ask again", at every request); the second must never answer the erased customer.
 */
async function storedVersion(store?: Awaited<ReturnType<typeof createMemoryModelStore>>, version = 'v1') {
  const { ds } = twoGroups();
  const fitted = fitSources(ds);
  const build = buildServingModel({ ds, fitted, precomputeDays: null, recipe: { candidates: { perUser: 2 } } });
  const collector = audienceCollector(ds.userIds, fitted.sources.size);
  collector.add([...build.tables.get(USERS_TABLE)!]);
  store ??= await createMemoryModelStore();
  await writeModelVersion(store, version, {
    artifacts: new Map([...build.artifacts, [AUDIENCE_ARTIFACT, collector.artifact(ds.itemIds.length)]]),
    tables: build.tables,
  });
  const meta = { version, recipe: 'stored', trainedAt: new Date().toISOString(), info: { serving: build.info } };
  await store.publish(meta);
  return { store, model: (await loadServingModel(store, meta))! };
}

const query = (itemId: string) => ({ itemIds: [itemId], k: 24, includeRecentBuyers: true });

describe('an audience whose members\' entries the model store no longer holds', () => {
  it('When the store lost the users table while the version stays listed, Then the audience is answered, same members in the same order, marked fallback, the reasons the tier\'s own', async () => {
    const { store, model } = await storedVersion();
    const intact = createAudienceService({ model: async () => model, store, profiles: { userIdsIn: async () => null } });
    const before = (await intact.audience(query(model.items.ids[0])))!;
    expect(before.fallback).toBe(false);
    expect(before.users.filter((u) => u.tier === 'candidate').length).toBeGreaterThan(0);
    // As a Redis that evicted the version's users hash answers: every entry null, the version still listed.
    const evicted = {
      getArtifact: store.getArtifact.bind(store),
      readArtifactRange: store.readArtifactRange!.bind(store),
      listVersions: store.listVersions.bind(store),
      getEntries: async (version: string, table: string, keys: string[]) => (table === USERS_TABLE ? keys.map(() => null) : store.getEntries(version, table, keys)),
    };
    const audiences = createAudienceService({ model: async () => model, store: evicted, profiles: { userIdsIn: async () => null } });
    for (let ask = 0; ask < 2; ask++) {
      const after = (await audiences.audience(query(model.items.ids[0])))!;
      expect(after.fallback).toBe(true);
      expect(after.users.map(({ reason: _r, ...u }) => u)).toEqual(before.users.map(({ reason: _r, ...u }) => u));
      for (const u of after.users.filter((m) => m.tier === 'candidate')) expect(u.reason).toBe('scored by the hybrid model');
      // The related tier's reasons come from the postings and the neighbour lists, not the entries.
      expect(after.users.filter((m) => m.tier === 'related').map((u) => u.reason)).toEqual(before.users.filter((m) => m.tier === 'related').map((u) => u.reason));
    }
  });

  it('When another process erased a candidate member (id blanked in the stored user index, entry deleted) and this one was not told, Then the answer leaves them out, is not marked fallback, and is no 503', async () => {
    const { store, model } = await storedVersion();
    const audiences = createAudienceService({ model: async () => model, store, profiles: { userIdsIn: async () => null } });
    const before = (await audiences.audience(query(model.items.ids[0])))!;
    const erased = before.users.find((u) => u.tier === 'candidate')!.userId;
    // What the other process's erasure did to the store (user-erasure.ts scrub: the user index first, then the entries).
    const ids = decodeUserIdsArtifact((await store.getArtifact('v1', ARTIFACT_USER_IDS))!);
    await store.redactArtifact('v1', ARTIFACT_USER_IDS, encodeUserIdsArtifact(ids.map((id) => (id === erased ? '' : id))));
    await store.deleteUserEntries('v1', [erased]);
    const after = (await audiences.audience(query(model.items.ids[0])))!;
    expect(after.users.map((u) => u.userId)).not.toContain(erased);
    expect(after.users).toEqual(before.users.filter((u) => u.userId !== erased));
    expect(after.fallback).toBe(false);
  });

  it('When the store lost the user index as well as the users table, Then the members it cannot tell from erased are left out and the answer is marked fallback (an export refuses it), not given as whole', async () => {
    const { store, model } = await storedVersion();
    const audiences0 = createAudienceService({ model: async () => model, store, profiles: { userIdsIn: async () => null } });
    const before = (await audiences0.audience(query(model.items.ids[0])))!;
    expect(before.users.filter((u) => u.tier === 'candidate').length).toBeGreaterThan(0);
    // The index is loaded while the store holds everything; then both keys are evicted (allkeys-*: each key on its own).
    let evicted = false;
    const reads = {
      getArtifact: async (version: string, name: string) => (evicted && name === ARTIFACT_USER_IDS ? null : store.getArtifact(version, name)),
      readArtifactRange: async (version: string, name: string, start: number, end: number) => (evicted && name === ARTIFACT_USER_IDS ? null : store.readArtifactRange!(version, name, start, end)),
      listVersions: store.listVersions.bind(store),
      getEntries: async (version: string, table: string, keys: string[]) => (evicted && table === USERS_TABLE ? keys.map(() => null) : store.getEntries(version, table, keys)),
    };
    const audiences = createAudienceService({ model: async () => model, store: reads, profiles: { userIdsIn: async () => null } });
    expect((await audiences.audience(query(model.items.ids[0])))!.fallback).toBe(false);
    evicted = true;
    const after = (await audiences.audience(query(model.items.ids[0])))!;
    // Not one candidate can be told from an erased customer: none is answered, and the answer says it is not whole.
    expect(after.users.filter((u) => u.tier === 'candidate')).toEqual([]);
    expect(after.fallback).toBe(true);
  });

  it('When the version was deleted (no longer listed) while the reasons were read, Then it is still a 503 to ask again', async () => {
    const { store, model } = await storedVersion();
    const audiences = createAudienceService({ model: async () => model, store, profiles: { userIdsIn: async () => null } });
    // The index is read while the version is there; then a newer training publishes and deletes it.
    await audiences.audience(query(model.items.ids[0]));
    await storedVersion(store, 'v2');
    expect(await store.deleteVersion('v1')).toBe(true);
    const err = await audiences.audience(query(model.items.ids[0])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('DEPENDENCY_UNAVAILABLE');
  });
});
