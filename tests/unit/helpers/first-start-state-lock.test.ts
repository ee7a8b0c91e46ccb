import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockHolder, lockOwner, moveInto } from '../../helpers/first-start-state.js';

/**
 * The lock and the rename of the kept first-start state (tests/helpers/first-start-state.ts): several test workers
 * (processes) ask for it at once, one builds, and a builder killed mid-build must not leave a lock that holds forever.
 */
describe('the kept first-start state lock', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'recsvc-state-lock-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const lockWith = (name: string, content: string | null): string => {
    const lock = path.join(dir, name);
    mkdirSync(lock);
    if (content !== null) writeFileSync(path.join(lock, 'pid'), content);
    return lock;
  };

  it('Given a lock held by this live process, Then its holder is alive; Given one not written yet, Then no holder', () => {
    expect(lockHolder(lockWith('live.lock', lockOwner()))).toBe('alive');
    expect(lockHolder(lockWith('empty.lock', null))).toBeNull();
  });

  it('Given a lock whose process has exited, Then its holder is gone', async () => {
    const child = spawn('true');
    const pid = child.pid!;
    const owner = lockOwner(pid);
    await new Promise((r) => child.once('exit', r));
    expect(lockHolder(lockWith('exited.lock', owner))).toBe('gone');
  });

  it.skipIf(process.platform !== 'linux')('Given a lock whose pid is now another process (reused: another start time), Then its holder is gone', () => {
    // This process's pid, written with a start time it did not start at: a killed builder's pid taken by a later process.
    const [pid, started] = lockOwner().split(' ');
    expect(started, 'the start time from /proc').toMatch(/^\d+$/);
    expect(lockHolder(lockWith('reused.lock', `${pid} ${Number(started) + 1}`))).toBe('gone');
  });

  it('Given two builders of one state, When the second renames its copy into place, Then the first is kept and the second dropped, no error', () => {
    const target = path.join(dir, 'STATE');
    const first = path.join(dir, 'STATE.tmp-1');
    const second = path.join(dir, 'STATE.tmp-2');
    for (const [d, text] of [[first, 'first'], [second, 'second']]) {
      mkdirSync(d);
      writeFileSync(path.join(d, 'dump.rdb'), text);
    }
    expect(moveInto(first, target)).toBe(true);
    expect(moveInto(second, target)).toBe(false);
    expect(readFileSync(path.join(target, 'dump.rdb'), 'utf8')).toBe('first');
    expect(readdirSync(dir).filter((n) => n.startsWith('STATE'))).toEqual(['STATE']);
  });
});
