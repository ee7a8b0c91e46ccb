import { describe, expect, it } from 'vitest';
import { backgroundLog } from '../../../src/background-log.js';

/** A logger that keeps its lines. */
function recorder() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('the background-failure log', () => {
  it('When one failure repeats for every request, Then it is written once per interval, with how many were left out', () => {
    const { lines, logger } = recorder();
    let t = 0;
    const log = backgroundLog(logger, { everyMs: 10_000, now: () => t });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    for (let k = 0; k < 500; k++) {
      log('live update failed', refused);
      t += 10; // 500 failures over 5 s
    }
    log('reading recent views failed', refused);
    expect(lines.map((l) => l.msg)).toEqual(['live update failed', 'reading recent views failed']);
    t = 10_000;
    log('live update failed', refused);
    expect(lines).toHaveLength(3);
    // A store that is away: a warning naming it, without a stack.
    expect(lines[2]).toEqual({ level: 'warn', msg: 'live update failed', obj: { cause: refused.message, code: 'ECONNREFUSED', skippedSinceLast: 499 } });
  });

  it('When the caller names what failed (a job), Then the line carries it', () => {
    const { lines, logger } = recorder();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    backgroundLog(logger)('could not record job progress; the job goes on', refused, { jobId: 'j1', type: 'train' });
    expect(lines).toEqual([{ level: 'warn', msg: 'could not record job progress; the job goes on', obj: { jobId: 'j1', type: 'train', cause: refused.message, code: 'ECONNREFUSED' } }]);
  });

  it('When the failure is not a store being away, Then it is an error with the error itself', () => {
    const { lines, logger } = recorder();
    const bug = new TypeError('x is not a function');
    backgroundLog(logger)('catalog overlay refresh failed', bug);
    expect(lines).toEqual([{ level: 'error', msg: 'catalog overlay refresh failed', obj: { err: bug } }]);
  });

  it('When a message comes without an error (what was done about a state), Then it is a warning, not an error', () => {
    const { lines, logger } = recorder();
    backgroundLog(logger)('the model store has no active model any more; serving v1 from memory');
    expect(lines).toEqual([{ level: 'warn', msg: 'the model store has no active model any more; serving v1 from memory', obj: {} }]);
  });
});
