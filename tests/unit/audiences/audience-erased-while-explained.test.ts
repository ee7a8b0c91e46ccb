import { describe, expect, it } from 'vitest';
import { AUDIENCE_ARTIFACT, audienceCollector } from '../../../src/audiences/audience-artifact.js';
import { createAudienceService } from '../../../src/audiences/audience-service.js';
import { buildServingModel } from '../../../src/serving/serving-model-builder.js';
import { loadServingModel } from '../../../src/serving/serving-model.js';
import { USERS_TABLE } from '../../../src/serving/user-entry.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { writeModelVersion } from '../../../src/training/write-model-version.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';
import { fitSources } from '../serving/fit-sources.js';

/**
 * An audience from the stored postings (layout 2) reads its candidate members' entries for their reasons after
 * the ranking (audience-service.ts explainedMembers): the event loop turns there, and an erasure told meanwhile
 * (forgetUser, from this process or another's message) blanks the customer's id in the index. The answer is
 * made after that read, so a member of either tier erased meanwhile must be left out, not answered as ''.
 */
async function storedVersion() {
  const { ds } = twoGroups();
  const fitted = fitSources(ds);
  // Two candidates a customer, so the audiences of k 24 have a related tier too.
  const build = buildServingModel({ ds, fitted, precomputeDays: null, recipe: { candidates: { perUser: 2 } } });
  const collector = audienceCollector(ds.userIds, fitted.sources.size);
  collector.add([...build.tables.get(USERS_TABLE)!]);
  const store = await createMemoryModelStore();
  await writeModelVersion(store, 'v1', {
    artifacts: new Map([...build.artifacts, [AUDIENCE_ARTIFACT, collector.artifact(ds.itemIds.length)]]),
    tables: build.tables,
  });
  const meta = { version: 'v1', recipe: 'stored', trainedAt: new Date().toISOString(), info: { serving: build.info } };
  await store.publish(meta);
  return { store, model: (await loadServingModel(store, meta))! };
}

describe('an audience whose member is erased while its members\' reasons are read', () => {
  it('When a related-tier and a candidate member are erased during the read of the reasons, Then the answer leaves both out and holds no blank customer id', async () => {
    const { store, model } = await storedVersion();
    let during: (() => void) | undefined;
    const reads = {
      getArtifact: store.getArtifact.bind(store),
      listVersions: store.listVersions.bind(store),
      getEntries: (version: string, table: string, keys: string[]) => {
        const erase = during;
        during = undefined;
        erase?.();
        return store.getEntries(version, table, keys);
      },
    };
    const audiences = createAudienceService({ model: async () => model, store: reads, profiles: { userIdsIn: async () => null } });
    const query = { itemIds: [model.items.ids[0]], k: 24, includeRecentBuyers: true };
    const before = (await audiences.audience(query))!.users;
    const related = before.find((u) => u.tier === 'related');
    const candidate = before.find((u) => u.tier === 'candidate');
    expect(related).toBeDefined();
    expect(candidate).toBeDefined();
    // The erasures are told while the members' entries are read (the index read none: it is the stored postings).
    during = () => {
      audiences.forgetUser(related!.userId);
      audiences.forgetUser(candidate!.userId);
    };
    const after = (await audiences.audience(query))!.users;
    expect(during).toBeUndefined();
    expect(after.map((u) => u.userId)).not.toContain('');
    expect(after).toEqual(before.filter((u) => u.userId !== related!.userId && u.userId !== candidate!.userId));
    // Asked again, the same.
    expect((await audiences.audience(query))!.users).toEqual(after);
  });
});
