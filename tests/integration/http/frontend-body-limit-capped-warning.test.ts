/**
 * 3ed851b resolves FRONTEND_BODY_LIMIT_BYTES once, capped at BODY_LIMIT_BYTES, and warns at start whenever the
 * limit that applies cannot hold a full frontend batch, but only when FRONTEND_BODY_LIMIT_BYTES itself was set.
 * Unset, the limit follows FRONTEND_MAX_BATCH_SIZE (2.56 KiB an event) and BODY_LIMIT_BYTES caps it too: with a
 * batch of 1,000 and a BODY_LIMIT_BYTES of 1 MiB, the limit that applies is 1 MiB, a full frontend batch at the
 * longest fields is about 1.5 MB, and a browser's full batch is refused 413 with not a word at start: the
 * case the commit set out to warn about, reached through the other variable.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { frontendBodyLimitWarnings, longestFeedbackEventBytes } from '../../../src/http/plugins/frontend-body-limit.js';

describe('the start warning when BODY_LIMIT_BYTES caps the frontend body limit that follows the batch', () => {
  it('When FRONTEND_MAX_BATCH_SIZE is 1,000, FRONTEND_BODY_LIMIT_BYTES unset and BODY_LIMIT_BYTES 1 MiB, Then the server warns that a full frontend batch cannot be read', () => {
    const env = { FRONTEND_MAX_BATCH_SIZE: '1000', BODY_LIMIT_BYTES: String(1024 * 1024) };
    const config = loadConfig(env);
    // The limit that applies is the cap, and a full batch at the longest fields does not fit in it.
    expect(config.FRONTEND_BODY_LIMIT_BYTES).toBe(1024 * 1024);
    expect(1000 * longestFeedbackEventBytes()).toBeGreaterThan(1024 * 1024);
    const warnings = frontendBodyLimitWarnings(config, env);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cannot hold a full batch of FRONTEND_MAX_BATCH_SIZE 1000/);
  });
});
