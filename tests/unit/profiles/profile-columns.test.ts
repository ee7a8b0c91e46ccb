import { describe, expect, it } from 'vitest';
import { encodeProfiles, profileColumns } from '../../../src/profiles/profile-codec.js';
import { computeProfiles } from '../../../src/profiles/profile.js';
import { segmentReport, segmentReportOfColumns } from '../../../src/profiles/segment-report.js';
import { segmentProfiles } from '../../../src/profiles/segments.js';
import { dataset, events, items, NOW } from './profile-fixtures.js';

/**
 * The profile service keeps a version's profiles as the artifact's columns (profile-service.ts); an erasure
 * blanks the customer's row in them, so the process keeps nothing of them while the others serve as before.
 */
describe('profiles kept as columns', () => {
  const profiles = segmentProfiles(computeProfiles(dataset(events, items, NOW)));
  const bytes = () => encodeProfiles(profiles, { now: Date.parse(NOW) });

  it('When read as columns, Then each row decodes to its profile and the report is segmentReport\'s', () => {
    const c = profileColumns(bytes());
    expect(Array.from({ length: c.count }, (_, k) => c.profile(k))).toEqual(profiles);
    expect(segmentReportOfColumns(c)).toEqual(segmentReport(profiles));
  });

  it('When a row is blanked, Then nothing of that customer is left in the columns, and the others and the report without them are unchanged', () => {
    const c = profileColumns(bytes());
    const k = profiles.findIndex((p) => p.topTerms.length > 0);
    const gone = profiles[k];
    c.blank(k);
    const left = c.profile(k);
    expect(left.userId).toBe('');
    expect(c.userIds).not.toContain(gone.userId);
    expect([left.recencyDays, left.tenureDays, left.frequency, left.monetary, left.avgBasketSize, left.avgBasketLines, left.avgBasketValue]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect([left.rScore, left.fScore, left.mScore]).toEqual([0, 0, 0]);
    expect(left.topTerms.every((t) => t.weight === 0)).toBe(true);
    expect(left.topCategories.every((t) => t.weight === 0)).toBe(true);
    for (let j = 0; j < c.count; j++) if (j !== k) expect(c.profile(j)).toEqual(profiles[j]);
    expect(segmentReportOfColumns(c, (row) => row !== k)).toEqual(segmentReport(profiles.filter((_, j) => j !== k)));
  });
});
