import { describe, expect, it } from 'vitest';
import { buildPostings, packEntries, rankAudience } from '../../../src/audiences/audience-index.js';
import { audienceOfComputed } from '../../../src/audiences/computed-audience.js';
import { buildServingModel } from '../../../src/serving/serving-model-builder.js';
import { decodeUserEntry, USERS_TABLE } from '../../../src/serving/user-entry.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';
import { fitSources } from '../serving/fit-sources.js';

// Two shops in one (garden / kitchen customers buy disjoint items); user j of a group bought items
// j..j+3 (mod 6), so the right audience of item n is the 4 customers of its own group who did not buy it.
const { ds, groupOfItem } = twoGroups();
const build = buildServingModel({ ds, fitted: fitSources(ds), precomputeDays: null });
const { model, index } = audienceOfComputed({ artifacts: [...build.artifacts], tables: [...build.tables].map(([n, rows]) => [n, [...rows]]) });
const item = (id: string) => model.items.index.get(id)!;
const buyersOf = (id: string) => new Set(ds.eventItem.reduce<string[]>((out, it, e) => (ds.itemIds[it] === id ? [...out, ds.userIds[ds.eventUser[e]]] : out), []));
const userIdsOf = (members: { user: number }[]) => members.map((m) => index.userIds[m.user]);

describe('audiences from the models\' scores on two disjoint groups', () => {
  it('When the audience of a product is ranked, Then its first members are exactly the customers of its group who have not bought it', () => {
    for (const id of ['g0', 'g3', 'k2', 'k5']) {
      const group = groupOfItem(item(id));
      const buyers = buyersOf(id);
      const expected = ds.userIds.filter((u) => u[0] === group && !buyers.has(u));
      expect(expected).toHaveLength(4);
      const top = userIdsOf(rankAudience(index, { targets: [item(id)], k: expected.length, gamma: 0.5, excludeBuyersSince: -Infinity }));
      expect(new Set(top)).toEqual(new Set(expected));
    }
  });

  it('When earlier buyers are left out, Then no buyer of the product is in an audience of any size; kept, Then they may be', () => {
    const buyers = buyersOf('g1');
    const without = userIdsOf(rankAudience(index, { targets: [item('g1')], k: 24, gamma: 0.5, excludeBuyersSince: -Infinity }));
    expect(without.length).toBeGreaterThan(0);
    expect(without.filter((u) => buyers.has(u))).toEqual([]);
    const withBuyers = userIdsOf(rankAudience(index, { targets: [item('g1')], k: 24, gamma: 0.5, excludeBuyersSince: null }));
    expect(withBuyers.some((u) => buyers.has(u))).toBe(true);
  });

  it('When a member is a candidate of the models, Then the reason is the source that put the product on their list, and a purchase it names is their own, from the same group', () => {
    const members = rankAudience(index, { targets: [item('k4')], k: 4, gamma: 0.5, excludeBuyersSince: -Infinity });
    expect(members).toHaveLength(4);
    for (const m of members) expect(index.hybridSources).toContain(m.source);
    // Only sources with neighbour lists name a purchase (honest explanations): popularity names none.
    for (const m of members) if (m.source === 'popularity' || m.source === 'trend') expect(m.anchor).toBe(-1);
    const anchored = members.filter((m) => m.anchor >= 0);
    for (const m of anchored) {
      const userId = index.userIds[m.user];
      const anchorId = model.items.ids[m.anchor];
      expect(anchorId[0]).toBe('k');
      expect(buyersOf(anchorId).has(userId)).toBe(true);
    }
  });

  it('When the audience is filtered to some customers, Then only they are in it', () => {
    const allowed = new Set(['g-user1', 'g-user2']);
    const members = rankAudience(index, {
      targets: [item('g0')], k: 10, gamma: 0.5, excludeBuyersSince: -Infinity, allow: (u) => allowed.has(index.userIds[u]),
    });
    expect(members.length).toBeGreaterThan(0);
    for (const u of userIdsOf(members)) expect(allowed.has(u)).toBe(true);
  });

  it('When several products are targets, Then scores add up over them and the list stays in order, best first', () => {
    const members = rankAudience(index, { targets: [item('g0'), item('g1')], k: 24, gamma: 0, excludeBuyersSince: null });
    for (let r = 1; r < members.length; r++) expect(members[r - 1].score).toBeGreaterThanOrEqual(members[r].score);
    const single = rankAudience(index, { targets: [item('g0')], k: 24, gamma: 0, excludeBuyersSince: null });
    const both = new Map(members.map((m) => [m.user, m.score]));
    for (const m of single) if (m.tier === 'candidate' && both.has(m.user)) expect(both.get(m.user)!).toBeGreaterThanOrEqual(m.score);
  });

  it('When the customers are packed in several chunks, Then the postings are the plain inversion of every customer\'s lists, customers numbered on across the chunks', () => {
    const entries = build.tables.get(USERS_TABLE)!;
    const decoded = [...entries].map(([, b]) => decodeUserEntry(b));
    const n = model.info.hybridSources.length;
    const chunks = [packEntries(decoded.slice(0, 3), n), packEntries([], n), packEntries(decoded.slice(3, 10), n), packEntries(decoded.slice(10), n)];
    const postings = buildPostings(chunks, index.itemCount);
    for (let i = 0; i < index.itemCount; i++) {
      // Plainly: who holds item i, in customer order, with the score and anchor it has on their list.
      const holders: [number, number, number][] = [];
      const buyers: number[] = [];
      decoded.forEach((e, u) => {
        e.hybrid.items.forEach((it, k) => it === i && holders.push([u, e.hybrid.scores[k], e.hybrid.because[k]]));
        if (e.purchased.includes(i)) buyers.push(u);
      });
      const { indptr, users, anchor, scores } = postings.candidates;
      const got = [...users.subarray(indptr[i], indptr[i + 1])].map((u, p) => [u, scores[indptr[i] + p], anchor![indptr[i] + p]]);
      expect(got).toEqual(holders);
      expect([...postings.buyers.users.subarray(postings.buyers.indptr[i], postings.buyers.indptr[i + 1])]).toEqual(buyers);
    }
    expect(postings.candidates.users.length).toBeGreaterThan(0);
    // Each customer's columns, in the same numbering.
    decoded.forEach((e, u) => {
      expect(postings.customers.orders[u]).toBe(e.orders);
      const { indptr, items } = postings.customers.recent;
      expect([...items.subarray(indptr[u], indptr[u + 1])]).toEqual([...e.recentItems]);
    });
  });
});
