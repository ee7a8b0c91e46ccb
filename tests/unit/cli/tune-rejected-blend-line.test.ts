import { describe, expect, it } from 'vitest';
import { rejectedBlendLine } from '../../../src/cli/tune-command.js';

// What `npm run tune` prints of the tuned blend when it is not served whole (validation.rejectedBlend: the whole
// tuned blend; validation.served: who serves each half).
const rejectedBlend = {
  weights: { cold: { als: 1 }, warm: { als: 0.5, ease: 1 } },
  repeatWeights: { cold: { 'buy-again': 1 }, warm: { 'buy-again': 2, ease: 0.5 } },
  popularityDiscount: 0.3,
};
const blendOf = 'weights {"cold":{"als":1},"warm":{"als":0.5,"ease":1}} repeat {"cold":{"buy-again":1},"warm":{"buy-again":2,"ease":0.5}} discount 0.3';

describe('npm run tune: the tuned blend\'s line', () => {
  it('says nothing when the blend is served whole', () => {
    expect(rejectedBlendLine({ served: { novel: 'blend', all: 'blend' } })).toBeUndefined();
  });

  it('says not kept when single sources serve both halves (and in records from before the halves were judged apart)', () => {
    expect(rejectedBlendLine({ rejectedBlend, served: { novel: 'ease', all: 'buy-again' } })).toBe(`tuned blend not kept (new items: ease alone, own items: buy-again alone): ${blendOf}`);
    expect(rejectedBlendLine({ rejectedBlend, served: { novel: 'ease', all: 'ease' } })).toBe(`tuned blend not kept (ease alone): ${blendOf}`);
    expect(rejectedBlendLine({ rejectedBlend })).toBe(`tuned blend not kept: ${blendOf}`);
  });

  it('says which half is served when one is: not "not kept" for a blend whose own-item (or new-item) weights are published', () => {
    expect(rejectedBlendLine({ rejectedBlend, served: { novel: 'ease', all: 'blend' } })).toBe(`tuned blend kept for own items only (its repeat weights; new items: ease alone): ${blendOf}`);
    expect(rejectedBlendLine({ rejectedBlend, served: { novel: 'blend', all: 'buy-again' } })).toBe(`tuned blend kept for new items only (its weights and discount; own items: buy-again alone): ${blendOf}`);
  });
});
