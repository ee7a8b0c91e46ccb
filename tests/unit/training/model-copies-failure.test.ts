/**
 * A copy that fails never stops the training nor the process: a Postgres that refuses the copy's first statement
 * (its row) before any chunk is written must not leave a rejection nobody handles (Node ends the process on one).
 */
import { describe, expect, it } from 'vitest';
import type { ModelCopyRepository } from '../../../src/data/model-copy-repository.js';
import { createModelCopies } from '../../../src/training/model-copies.js';
import type { ModelMeta } from '../../../src/store/model-store.js';

describe('a model copy whose first write fails', () => {
  it('When Postgres refuses the copy at its start, Then no rejection is left unhandled, and the copy says it failed (the version is published without it)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const refused = () => Promise.reject(new Error('connection refused'));
      const repo = { begin: refused, putChunk: refused, complete: refused } as unknown as ModelCopyRepository;
      const logged: string[] = [];
      const copies = createModelCopies({ copies: repo, log: (msg) => logged.push(msg) });
      const copy = copies.begin('v-1');
      // The training builds its version for a while before it writes anything under it.
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
      copy.artifact('a', new Uint8Array([1, 2, 3]));
      await copy.flush();
      expect(await copy.complete({ version: 'v-1' } as ModelMeta)).toBe(false);
      expect(copy.stats.failed).toBe(true);
      expect(logged.some((m) => m.includes('model copy of v-1 failed'))).toBe(true);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
