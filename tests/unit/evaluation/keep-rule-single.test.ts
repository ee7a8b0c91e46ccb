import { describe, expect, it } from 'vitest';
import { KEEP_RULES, keepDecision, keepOwnHalfAgainstSingle, keepOwnHalfAsServed, type KeepInput } from '../../../src/evaluation/keep-rule.js';

/**
 * `per-mode-single` (bench/README "Rule (3) with all-mode protected"): where ALS serves new items, the
 * blend's own-item weights beside them must also beat ALS alone on all-mode. Hand-made judged objectives
 * per fold, oldest first, as on the SEED 53 fashion shop: the blend loses new items to ALS on the middle
 * fold; beside ALS's new items its own-item weights beat repurchase on every fold but not ALS alone.
 */
const input: KeepInput = {
  blend: { novel: [0.44, 0.33, 0.36], all: [0.3, 0.29, 0.3] },
  sources: {
    als: { novel: [0.43, 0.38, 0.3], all: [0.31, 0.3, 0.3] },
    ease: { novel: [0.4, 0.3, 0.28], all: [0.28, 0.27, 0.27] },
    repurchase: { novel: [0, 0, 0], all: [0.2, 0.2, 0.2] },
    'buy-again': { novel: [0, 0, 0], all: [0.17, 0.17, 0.17] },
  },
  novelCandidates: ['als', 'ease'],
  ownCandidates: ['repurchase', 'buy-again'],
  blendActsOnCap: true,
};
const servedAll = [0.29, 0.285, 0.295];

describe('keep rule per-mode-single', () => {
  it('is a keep rule a recipe may name, and splits as per-mode does before the served check', () => {
    expect(KEEP_RULES).toContain('per-mode-single');
    expect(keepDecision('per-mode-single', input)).toEqual({ novel: 'als', all: 'blend' });
    expect(keepDecision('per-mode', input)).toEqual({ novel: 'als', all: 'blend' });
  });

  it('per-mode keeps the blend\'s own-item weights beside ALS (they beat repurchase on every fold); per-mode-single serves ALS whole (ALS alone beats them)', () => {
    expect(keepOwnHalfAsServed({ novel: 'als', all: 'blend' }, servedAll, input)).toEqual({ novel: 'als', all: 'blend' });
    expect(keepOwnHalfAgainstSingle({ novel: 'als', all: 'blend' }, servedAll, input)).toEqual({ novel: 'als', all: 'als' });
  });

  it('keeps the own-item weights when they beat both ALS alone and repurchase on every fold', () => {
    expect(keepOwnHalfAgainstSingle({ novel: 'als', all: 'blend' }, [0.32, 0.31, 0.31], input)).toEqual({ novel: 'als', all: 'blend' });
  });

  it('gives own items to repurchase when it, not the new-item source, has the better mean all-mode', () => {
    const weakSingle = { ...input, sources: { ...input.sources, als: { novel: input.sources.als.novel, all: [0.15, 0.3, 0.1] } } };
    expect(keepOwnHalfAgainstSingle({ novel: 'als', all: 'blend' }, servedAll, weakSingle)).toEqual({ novel: 'als', all: 'repurchase' });
  });

  it('leaves a decision that keeps the blend\'s new items, or no own-item weights of it, as it is', () => {
    expect(keepOwnHalfAgainstSingle({ novel: 'blend', all: 'blend' }, [0, 0, 0], input)).toEqual({ novel: 'blend', all: 'blend' });
    expect(keepOwnHalfAgainstSingle({ novel: 'als', all: 'repurchase' }, [0, 0, 0], input)).toEqual({ novel: 'als', all: 'repurchase' });
  });
});
