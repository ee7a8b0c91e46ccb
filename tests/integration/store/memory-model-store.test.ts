import { mkdtemp, readdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelMeta } from '../../../src/store/model-store.js';
import { SnapshotFormatError } from '../../../src/store/snapshot-codec.js';
import { modelStoreContract } from './model-store.contract.js';

const dirs: string[] = [];
const freshDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'model-store-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const meta = (version: string): ModelMeta => ({ version, recipe: 'r', trainedAt: '2026-01-01T00:00:00.000Z', info: { n: 1 } });
const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const modelFiles = async (dir: string) => (await readdir(dir)).filter((f) => f.startsWith('model-')).sort();

describe('memory model store, in memory only', () => {
  modelStoreContract((opts) => createMemoryModelStore(opts));
});

describe('memory model store, snapshotted to disk', () => {
  modelStoreContract(async (opts) => createMemoryModelStore({ ...opts, snapshotDir: await freshDir() }));
});

describe('memory model store across a restart', () => {
  it('When the process restarts, Then published versions, their bytes and the active pointer are back', async () => {
    const dir = await freshDir();
    const before = await createMemoryModelStore({ snapshotDir: dir });
    const blob = new Uint8Array(300_000).map((_, i) => (i * 31) % 256);
    await before.putArtifact('a', 'model', blob);
    await before.putEntries('a', 'users', [['u1', text('a-u1')], ['ü|2', new Uint8Array(0)]]);
    await before.publish(meta('a'));
    await before.putArtifact('b', 'model', text('b-model'));
    await before.publish(meta('b'));
    expect(await before.activate('a')).toBe(true);
    await before.close();

    const after = await createMemoryModelStore({ snapshotDir: dir });
    expect(await after.getActive()).toEqual(meta('a'));
    expect((await after.listVersions()).map((m) => m.version)).toEqual(['b', 'a']);
    expect(Buffer.compare(Buffer.from((await after.getArtifact('a', 'model'))!), Buffer.from(blob))).toBe(0);
    expect((await after.getEntries('a', 'users', ['u1', 'ü|2', 'u3'])).map(decode)).toEqual(['a-u1', '', null]);
    expect(decode(await after.getArtifact('b', 'model'))).toBe('b-model');
    // Versions published after the restart still list after the loaded ones.
    await after.publish(meta('c'));
    expect((await after.listVersions()).map((m) => m.version)).toEqual(['c', 'b', 'a']);
    await after.close();
  });

  it('When a user is erased, Then a restart does not bring their entries back', async () => {
    const dir = await freshDir();
    const before = await createMemoryModelStore({ snapshotDir: dir });
    await before.putEntries('a', 'users', [['gone', text('g')], ['kept', text('k')]]);
    await before.publish(meta('a'));
    await before.deleteUser('gone');

    const after = await createMemoryModelStore({ snapshotDir: dir });
    expect(await after.getEntries('a', 'users', ['gone', 'kept'])).toEqual([null, text('k')]);
  });

  it("When a version's entries of a user are deleted (a rollback's scrub), Then a restart does not bring them back", async () => {
    const dir = await freshDir();
    const before = await createMemoryModelStore({ snapshotDir: dir });
    await before.putEntries('a', 'users', [['gone', text('g')], ['kept', text('k')]]);
    await before.publish(meta('a'));
    await before.deleteUserEntries('a', ['gone']);

    const after = await createMemoryModelStore({ snapshotDir: dir });
    expect(await after.getEntries('a', 'users', ['gone', 'kept'])).toEqual([null, text('k')]);
  });

  it('When an artifact is redacted, Then a restart reads the redacted copy', async () => {
    const dir = await freshDir();
    const before = await createMemoryModelStore({ snapshotDir: dir });
    await before.putArtifact('a', 'profiles', text('with-gone'));
    await before.publish(meta('a'));
    await before.redactArtifact('a', 'profiles', text('without'));

    const after = await createMemoryModelStore({ snapshotDir: dir });
    expect(decode(await after.getArtifact('a', 'profiles'))).toBe('without');
  });

  it('When a version was written but never published, Then a restart does not know it', async () => {
    const dir = await freshDir();
    const before = await createMemoryModelStore({ snapshotDir: dir });
    await before.putArtifact('a', 'model', text('a'));
    await before.publish(meta('a'));
    await before.putArtifact('killed', 'model', text('half a model'));
    await before.putEntries('killed', 'users', [['u1', text('x')]]);

    const after = await createMemoryModelStore({ snapshotDir: dir });
    expect(await after.getArtifact('killed', 'model')).toBeNull();
    expect(await after.getEntries('killed', 'users', ['u1'])).toEqual([null]);
    expect((await after.listVersions()).map((m) => m.version)).toEqual(['a']);
    expect(await after.getActive()).toEqual(meta('a'));
  });

  it('When versions are pruned or deleted, Then their files go too and a restart agrees', async () => {
    const dir = await freshDir();
    const before = await createMemoryModelStore({ snapshotDir: dir, versionsKept: 2 });
    for (const v of ['v1', 'v2', 'v3', 'v4']) await before.publish(meta(v));
    expect(await modelFiles(dir)).toHaveLength(2);
    expect(await before.deleteVersion('v3')).toBe(true);
    expect(await modelFiles(dir)).toHaveLength(1);
    expect(await readFile(join(dir, 'active'), 'utf8')).toBe('v4');

    const after = await createMemoryModelStore({ snapshotDir: dir, versionsKept: 2 });
    expect((await after.listVersions()).map((m) => m.version)).toEqual(['v4']);
  });

  it('When user events were appended, Then a restart has lost them (training re-reads Postgres)', async () => {
    const dir = await freshDir();
    const before = await createMemoryModelStore({ snapshotDir: dir });
    await before.appendUserEvents('u1', [{ itemId: 'i1', ts: 1 }]);
    expect(await before.getUserEvents('u1')).toEqual([{ itemId: 'i1', ts: 1 }]);
    const after = await createMemoryModelStore({ snapshotDir: dir });
    expect(await after.getUserEvents('u1')).toEqual([]);
  });

  it('When a snapshot file is damaged, Then the store refuses to start and names the file', async () => {
    const dir = await freshDir();
    const before = await createMemoryModelStore({ snapshotDir: dir });
    await before.putArtifact('a', 'model', text('precious'));
    await before.publish(meta('a'));
    const [file] = await modelFiles(dir);
    const bytes = await readFile(join(dir, file));
    bytes[bytes.length - 10] ^= 0xff;
    await writeFile(join(dir, file), bytes);

    const failed = createMemoryModelStore({ snapshotDir: dir });
    await expect(failed).rejects.toBeInstanceOf(SnapshotFormatError);
    await expect(failed).rejects.toThrow(file);
  });

  it('When a crash left a temp file, Then the restart ignores and removes it', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'active.123.tmp'), 'half');
    await writeFile(join(dir, 'model-0123.bin.123.tmp'), 'half');
    const store = await createMemoryModelStore({ snapshotDir: dir });
    expect(await store.getActive()).toBeNull();
    expect(await readdir(dir)).toEqual([]);
  });
});
