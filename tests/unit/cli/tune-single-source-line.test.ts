import { describe, expect, it } from 'vitest';
import { singleSourceLine } from '../../../src/cli/tune-command.js';
import type { SingleSourceDiscount } from '../../../src/evaluation/single-source-coverage.js';

// What `npm run tune` prints of the coverage re-rank searched for the source serving new items alone.
const searched = (popularityDiscount: number, applied: boolean): SingleSourceDiscount => ({
  source: 'ease',
  popularityDiscount,
  applied,
  without: { ndcg: 0.2, coverage: 0.05, reach: 0.05 },
  with: popularityDiscount > 0 ? { ndcg: 0.19, coverage: 0.2, reach: 0.2 } : { ndcg: 0.2, coverage: 0.05, reach: 0.05 },
});

describe('npm run tune: the single source\'s re-rank line', () => {
  it('says served when the recipe carries the discount', () => {
    expect(singleSourceLine(searched(0.5, true), 'discount')).toBe("ease's new items, discount 0.5 (served): novel NDCG 0.2000 -> 0.1900, coverage 0.050 -> 0.200");
  });

  it('blames the option only when it is off', () => {
    expect(singleSourceLine(searched(0.5, false), 'off')).toContain('(not served: tune.singleSourceCoverage is off)');
    expect(singleSourceLine(searched(0.5, false), undefined)).toContain('(not served: tune.singleSourceCoverage is off)');
  });

  it('with the option on and beta 0, says the option is on and chose no re-rank (not that it is off)', () => {
    const line = singleSourceLine(searched(0, false), 'discount');
    expect(line).not.toContain('is off');
    expect(line).toContain('(not served: tune.singleSourceCoverage is discount, and no re-rank was worth its price on the folds: beta 0)');
  });
});
