import { describe, expect, it } from 'vitest';
import { createAudienceService } from '../../../src/audiences/audience-service.js';
import { loadServingModel } from '../../../src/serving/serving-model.js';
import { storedAudienceVersions } from './stored-audience-versions.fixture.js';

/**
 * An audience from the stored postings (layout 2) reads its candidate members' entries for their reasons after
 * the ranking (audience-service.ts explainedMembers): the event loop turns there, and an erasure told meanwhile
 * (forgetUser, from this process or another's message) blanks the customer's id in the index. The answer is
 * made after that read, so a member of either tier erased meanwhile must be left out, not answered as ''.
 */
async function storedVersion() {
  const { store, metas } = await storedAudienceVersions(['v1']);
  return { store, model: (await loadServingModel(store, metas[0]))! };
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
