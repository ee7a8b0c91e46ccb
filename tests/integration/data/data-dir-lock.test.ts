import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirLockedError, LOCK_FILE, lockDataDir, readLockHolder } from '../../../src/data/data-dir-lock.js';
import { openDatabase } from '../../../src/data/open-database.js';
import { createModelStore } from '../../../src/store/create-model-store.js';
import { seedMigratedPgliteDir } from '../../helpers/services.js';

const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'recsvc-lock-'));
  dirs.push(dir);
  return dir;
};
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Another process taking DATA_DIR's lock with the real module and keeping it until killed. */
async function otherProcessHolding(dir: string): Promise<ChildProcess> {
  const script = `import(${JSON.stringify(path.resolve('src/data/data-dir-lock.ts'))}).then((m) => {
    m.lockDataDir(${JSON.stringify(dir)}, 'holder-test');
    m.announceServerUrl(${JSON.stringify(dir)}, 'http://127.0.0.1:45678');
    console.log('locked');
    setInterval(() => {}, 1000);
  });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b) => String(b).includes('locked') && resolve());
    child.on('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
  return child;
}

describe("DATA_DIR's lock: one process owns the embedded data", () => {
  it('When another live process holds DATA_DIR, Then this one is refused with a message naming it, and the database is not opened', async () => {
    const dir = freshDir();
    const holder = await otherProcessHolding(dir);
    let caught: unknown;
    try {
      lockDataDir(dir);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DataDirLockedError);
    expect((caught as Error).message).toContain(`pid ${holder.pid}`);
    expect((caught as Error).message).toContain('the recsvc server at http://127.0.0.1:45678');
    await expect(openDatabase({ DATA_DIR: dir })).rejects.toThrow(DataDirLockedError);
    await expect(createModelStore({ DATA_DIR: dir, MODEL_VERSIONS_KEPT: 5 })).rejects.toThrow(DataDirLockedError);
    expect(existsSync(path.join(dir, 'pglite'))).toBe(false);
    expect(readLockHolder(dir)?.pid).toBe(holder.pid);
  }, 30_000);

  it('When the holder died without releasing, Then the next process takes the lock over', async () => {
    const dir = freshDir();
    const holder = await otherProcessHolding(dir);
    const exited = new Promise((r) => holder.on('exit', r));
    holder.kill('SIGKILL');
    await exited;
    expect(readLockHolder(dir)?.pid).toBe(holder.pid);
    const release = lockDataDir(dir);
    expect(readLockHolder(dir)?.pid).toBe(process.pid);
    release();
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  }, 30_000);

  it('When the lock file names this pid but this process never took it (a restarted container), Then it is taken over', () => {
    const dir = freshDir();
    writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, hostname: hostname(), command: 'server.ts', startedAt: '2020-01-01T00:00:00Z' }));
    const release = lockDataDir(dir);
    expect(readLockHolder(dir)?.startedAt).not.toBe('2020-01-01T00:00:00Z');
    release();
  });

  it('When the embedded database and model store of one process share DATA_DIR, Then both open, and closing both frees it', async () => {
    const dir = freshDir();
    // Migrated already, as after any earlier start: initdb and the migrations (first-start tests cover them) took
    // most of this test's time, past its timeout on a busy machine.
    await seedMigratedPgliteDir(path.join(dir, 'pglite'));
    const db = await openDatabase({ DATA_DIR: dir });
    const store = await createModelStore({ DATA_DIR: dir, MODEL_VERSIONS_KEPT: 5 });
    expect(readLockHolder(dir)?.pid).toBe(process.pid);
    await db.close();
    // The store still holds it.
    expect(readLockHolder(dir)?.pid).toBe(process.pid);
    await store.close();
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  }, 30_000);
});
