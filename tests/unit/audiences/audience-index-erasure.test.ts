import { describe, expect, it } from 'vitest';
import { rankAudience, withoutUser } from '../../../src/audiences/audience-index.js';
import { audienceOfComputed } from '../../../src/audiences/computed-audience.js';
import { buildServingModel } from '../../../src/serving/serving-model-builder.js';
import { twoGroups } from '../recommenders/two-groups.fixture.js';
import { fitSources } from '../serving/fit-sources.js';

/**
 * An erasure takes a customer out of an audience index the process keeps (audience-service.ts forgetUser):
 * before, the index kept their decoded entry and id for the process's life, only skipped when ranking
 * through a set of every id erased, which grew without bound.
 */
const { ds } = twoGroups();
const build = buildServingModel({ ds, fitted: fitSources(ds), precomputeDays: null });
const fresh = () => audienceOfComputed({ artifacts: [...build.artifacts], tables: [...build.tables].map(([n, rows]) => [n, [...rows]]) });

describe('a customer taken out of an audience index', () => {
  it('When a member is taken out, Then no audience of any product (either tier, buyers kept or not) holds them, and the index keeps neither their id nor their lists', () => {
    const { model, index } = fresh();
    const everyItem = model.items.ids.map((_, i) => i);
    const ranked = (excludeBuyersSince: number | null) => everyItem.flatMap((t) => rankAudience(index, { targets: [t], k: 24, gamma: 0, excludeBuyersSince }).map((m) => m.user));
    const u = ranked(null)[0];
    const userId = index.userIds[u];
    const entry = index.entries[u];
    expect(entry.hybrid.items.length).toBeGreaterThan(0);
    const listed = [...entry.hybrid.items];
    withoutUser(index, u);
    expect(ranked(null)).not.toContain(u);
    expect(ranked(-Infinity)).not.toContain(u);
    expect(index.userIds).not.toContain(userId);
    expect(index.entries[u].hybrid.items.length).toBe(0);
    expect(index.entries[u].purchased.length).toBe(0);
    // What the old entry object held is zeroed too, and no candidate posting scores them any more.
    expect([...entry.hybrid.scores].every((s) => s === 0)).toBe(true);
    for (const item of listed) {
      for (let p = index.candidates.indptr[item]; p < index.candidates.indptr[item + 1]; p++) {
        if (index.candidates.users[p] === u) expect(index.candidates.scores[p]).toBe(0);
      }
    }
  });

  it('When a customer is taken out, Then the other customers\' audiences are as before, less them', () => {
    const a = fresh();
    const b = fresh();
    const target = a.model.items.index.get('g0')!;
    const before = rankAudience(a.index, { targets: [target], k: 24, gamma: 0, excludeBuyersSince: null }).map((m) => a.index.userIds[m.user]);
    const gone = before[1];
    withoutUser(b.index, b.index.userIds.indexOf(gone));
    const after = rankAudience(b.index, { targets: [target], k: 24, gamma: 0, excludeBuyersSince: null }).map((m) => b.index.userIds[m.user]);
    expect(after).toEqual(before.filter((id) => id !== gone));
  });
});
