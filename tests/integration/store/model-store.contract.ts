import { randomBytes } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { LIVE_EVENTS_KEPT, SCRUBBED_AGAIN_KEPT, type ModelMeta, type ModelStore } from '../../../src/store/model-store.js';

/** Makes a fresh, empty store; the contract closes every store it made after each test. */
export type StoreFactory = (opts: StoreOptions) => Promise<ModelStore>;
/** `artifactPartBytes`: the size above which a store that reads artifacts in parts does (others ignore it). */
type StoreOptions = { versionsKept?: number; artifactPartBytes?: number };

const meta = (version: string, info: Record<string, unknown> = {}): ModelMeta => ({
  version,
  recipe: 'default',
  trainedAt: '2026-01-02T03:04:05.000Z',
  info,
});
const text = (s: string) => new TextEncoder().encode(s);
const bytesOf = (b: Uint8Array | null) => (b === null ? null : Array.from(b));
const versionsOf = (metas: ModelMeta[]) => metas.map((m) => m.version);

/**
 * The behaviour every ModelStore must have, run against each implementation (call inside a describe).
 * Expected values are built from the inputs, never read back from the store under test.
 */
export function modelStoreContract(factory: StoreFactory): void {
  const opened: ModelStore[] = [];
  const make = async (opts: StoreOptions = {}) => {
    const store = await factory(opts);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  it('When artifacts are stored, Then they read back byte for byte, empty and 1 MB included', async () => {
    const store = await make();
    const big = new Uint8Array(randomBytes(1 << 20));
    // A view into a larger buffer: only the view's bytes belong to the artifact.
    const view = new Uint8Array([9, 9, 1, 2, 3, 9]).subarray(2, 5);
    await store.putArtifact('v1', 'big', big);
    await store.putArtifact('v1', 'empty', new Uint8Array(0));
    await store.putArtifact('v1', 'view', view);
    await store.putArtifact('v1', 'over', text('first'));
    await store.putArtifact('v1', 'over', text('second'));

    const readBig = await store.getArtifact('v1', 'big');
    expect(readBig?.byteLength).toBe(1 << 20);
    expect(Buffer.compare(Buffer.from(readBig!), Buffer.from(big))).toBe(0);
    expect(bytesOf(await store.getArtifact('v1', 'empty'))).toEqual([]);
    expect(bytesOf(await store.getArtifact('v1', 'view'))).toEqual([1, 2, 3]);
    expect(bytesOf(await store.getArtifact('v1', 'over'))).toEqual(Array.from(text('second')));
    expect(await store.getArtifact('v1', 'missing')).toBeNull();
    expect(await store.getArtifact('v2', 'big')).toBeNull();
  });

  it('When an artifact is larger than a read part, Then it reads back byte for byte, in a buffer of its own', async () => {
    const store = await make({ artifactPartBytes: 1000 });
    const sizes = [999, 1000, 1001, 10_007];
    const blobs = sizes.map((n) => new Uint8Array(randomBytes(n)));
    for (const [k, blob] of blobs.entries()) await store.putArtifact('v1', `a${k}`, blob);
    for (const [k, blob] of blobs.entries()) {
      const read = (await store.getArtifact('v1', `a${k}`))!;
      expect(Buffer.compare(Buffer.from(read), Buffer.from(blob))).toBe(0);
      // Loaders keep typed views of these bytes (decodeArtifact `share`): at offset 0 they are aligned.
      expect([read.byteOffset, read.buffer.byteLength]).toEqual([0, blob.byteLength]);
    }
    expect(await store.getArtifact('v1', 'missing')).toBeNull();
  });

  it('When entries are stored, Then getEntries returns them in the order asked with null for missing keys', async () => {
    const store = await make();
    const big = new Uint8Array(randomBytes(1 << 20));
    await store.putEntries('v1', 'users', [
      ['u1', text('one')],
      ['u2', new Uint8Array(0)],
      ['u|3 ü', big],
    ]);
    await store.putEntries('v1', 'items', [['u1', text('item table')]]);
    await store.putEntries('v1', 'users', new Map([['u4', text('a second batch adds to the table')]]));

    const [missing, empty, one, large, four] = await store.getEntries('v1', 'users', ['nope', 'u2', 'u1', 'u|3 ü', 'u4']);
    expect(missing).toBeNull();
    expect(bytesOf(empty)).toEqual([]);
    expect(bytesOf(one)).toEqual(Array.from(text('one')));
    expect(Buffer.compare(Buffer.from(large!), Buffer.from(big))).toBe(0);
    expect(bytesOf(four)).toEqual(Array.from(text('a second batch adds to the table')));
    expect((await store.getEntries('v1', 'items', ['u1'])).map(bytesOf)).toEqual([Array.from(text('item table'))]);
    expect(await store.getEntries('v1', 'other', ['u1'])).toEqual([null]);
    expect(await store.getEntries('v2', 'users', ['u1', 'u2'])).toEqual([null, null]);
    expect(await store.getEntries('v1', 'users', [])).toEqual([]);
  });

  it('When a version is asked what it holds, Then each artifact has its size and each table its count, missing ones 0, drafts and published alike', async () => {
    const store = await make();
    await store.putArtifact('v1', 'a', text('12345'));
    await store.putArtifact('v1', 'empty', new Uint8Array(0));
    await store.putEntries('v1', 'users', [['u1', text('x')], ['u2', new Uint8Array(0)], ['u3', text('z')]]);
    // Written twice: a key counts once.
    await store.putEntries('v1', 'users', [['u1', text('again')]]);
    const names = { artifacts: ['a', 'empty', 'gone'], tables: ['users', 'none'] };
    const expected = { artifacts: { a: 5, empty: 0, gone: 0 }, tables: { users: 3, none: 0 } };
    expect(await store.contentsOf!('v1', names)).toEqual(expected);
    await store.publish(meta('v1'));
    expect(await store.contentsOf!('v1', names)).toEqual(expected);
    expect(await store.contentsOf!('v9', names)).toEqual({ artifacts: { a: 0, empty: 0, gone: 0 }, tables: { users: 0, none: 0 } });
  });

  it('When a caller changes its buffer after a write, Then the stored bytes stay as written', async () => {
    const store = await make();
    const data = text('abc');
    await store.putArtifact('v1', 'a', data);
    await store.putEntries('v1', 't', [['k', data]]);
    data[0] = 0x7a;
    const read = await store.getArtifact('v1', 'a');
    read![1] = 0x7a;
    expect(bytesOf(await store.getArtifact('v1', 'a'))).toEqual(Array.from(text('abc')));
    expect((await store.getEntries('v1', 't', ['k'])).map(bytesOf)).toEqual([Array.from(text('abc'))]);
  });

  it('When nothing was published, Then nothing is active and no version is listed', async () => {
    const store = await make();
    await store.putArtifact('v1', 'a', text('draft'));
    expect(await store.getActive()).toBeNull();
    expect(await store.listVersions()).toEqual([]);
    expect(await store.ping()).toBe(true);
  });

  it('When versions are published, Then the latest is active and the list is newest first', async () => {
    const store = await make();
    await store.putArtifact('a', 'model', text('A'));
    await store.publish(meta('a', { users: 3, nested: { ok: true } }));
    expect(await store.getActive()).toEqual(meta('a', { users: 3, nested: { ok: true } }));
    // Published back to back, most likely within one millisecond: the order must still hold.
    await store.publish(meta('b'));
    await store.publish(meta('c'));
    expect(await store.getActive()).toEqual(meta('c'));
    expect(await store.listVersions()).toEqual([meta('c'), meta('b'), meta('a', { users: 3, nested: { ok: true } })]);
    expect(bytesOf(await store.getArtifact('a', 'model'))).toEqual(Array.from(text('A')));
  });

  it('When a published version is written or published again, Then it is refused and unchanged', async () => {
    const store = await make();
    await store.putArtifact('a', 'model', text('A'));
    await store.putEntries('a', 't', [['k', text('K')]]);
    await store.publish(meta('a'));
    await expect(store.putArtifact('a', 'model', text('changed'))).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(store.putEntries('a', 't', [['k', text('changed')]])).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(store.publish(meta('a', { again: true }))).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(bytesOf(await store.getArtifact('a', 'model'))).toEqual(Array.from(text('A')));
    expect((await store.getEntries('a', 't', ['k'])).map(bytesOf)).toEqual([Array.from(text('K'))]);
    expect(await store.listVersions()).toEqual([meta('a')]);
  });

  it('When a version name could break a key or a file name, Then writes and publish refuse it', async () => {
    const store = await make();
    for (const bad of ['', 'a}b', '{a}', 'a/b', '../x', 'a b', 'x'.repeat(129)]) {
      await expect(store.putArtifact(bad, 'n', text('x'))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(store.putEntries(bad, 't', [])).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(store.publish(meta(bad))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    await store.publish(meta('2026-11-22T15:45:25.123Z'));
    expect(versionsOf(await store.listVersions())).toEqual(['2026-11-22T15:45:25.123Z']);
  });

  it('When v2 is written and published while readers read, Then every read comes from one version only', async () => {
    const store = await make();
    const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    // Each value names its version, padded to a realistic size.
    const value = (version: string, key: string) => text(`${version}|${key}|`.padEnd(200, '.'));
    const versionIn = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b).split('|')[0]);
    await store.putEntries('v1', 'users', keys.map((k) => [k, value('v1', k)]));
    await store.publish(meta('v1'));

    let writerDone = false;
    const writer = async () => {
      for (let i = 0; i < keys.length; i += 400) {
        await store.putEntries('v2', 'users', keys.slice(i, i + 400).map((k) => [k, value('v2', k)]));
      }
      await store.publish(meta('v2'));
      writerDone = true;
    };
    const seen = new Set<string>();
    const sample = [keys[0], keys[777], keys[1999], keys[1200]];
    const reader = async () => {
      // Reads until the writer is done, then once more: that last read must already see v2.
      for (let done = false; !done; ) {
        done = writerDone;
        const active = await store.getActive();
        const read = await store.getEntries(active!.version, 'users', sample);
        expect(read.map(versionIn)).toEqual(sample.map(() => active!.version));
        seen.add(active!.version);
        if (done) expect(active!.version).toBe('v2');
        // Yield to the event loop as separate requests would: a loop of resolved awaits alone would
        // starve the file writes of a snapshotting store's publish.
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await Promise.all([writer(), reader(), reader()]);
    expect(seen).toEqual(new Set(['v1', 'v2']));
  });

  it('When an older version is activated, Then it is served again, and unknown versions are refused', async () => {
    const store = await make();
    await store.putEntries('a', 'users', [['u', text('from a')]]);
    await store.publish(meta('a'));
    await store.putEntries('b', 'users', [['u', text('from b')]]);
    await store.publish(meta('b'));

    expect(await store.activate('a')).toBe(true);
    const active = await store.getActive();
    expect(active).toEqual(meta('a'));
    expect((await store.getEntries(active!.version, 'users', ['u'])).map(bytesOf)).toEqual([Array.from(text('from a'))]);
    expect(versionsOf(await store.listVersions())).toEqual(['b', 'a']);

    expect(await store.activate('unknown')).toBe(false);
    expect(await store.activate('a}x')).toBe(false);
    await store.putArtifact('draft', 'm', text('unpublished'));
    expect(await store.activate('draft')).toBe(false);
    expect(await store.getActive()).toEqual(meta('a'));
  });

  it('When a publish says which version was active when its caller began, Then it flips only if that one or none is still active; else it only lists the version', async () => {
    const store = await make();
    // Nothing active: flipped.
    expect(await store.publish(meta('a'), { activeWas: null })).toBe(true);
    expect(await store.publish(meta('b'), { activeWas: 'a' })).toBe(true);
    expect((await store.getActive())!.version).toBe('b');
    // Rolled back to a after the caller began on b: c is listed, a stays active.
    expect(await store.activate('a')).toBe(true);
    expect(await store.publish(meta('c'), { activeWas: 'b' })).toBe(false);
    expect((await store.getActive())!.version).toBe('a');
    expect(versionsOf(await store.listVersions())).toEqual(['c', 'b', 'a']);
    // Without the condition, a publish flips as always; a listed version can be activated later.
    expect(await store.publish(meta('d'))).toBe(true);
    expect(await store.activate('c')).toBe(true);
    await expect(store.publish(meta('c'), { activeWas: 'c' })).rejects.toThrow();
  });

  it('When a version is put back with its place (`at`) and listed only, Then it lists where it was and is never made active, even with none active', async () => {
    const store = await make();
    expect(await store.publish(meta('b'), { activeWas: null, at: 2000 })).toBe(true);
    expect(await store.publish(meta('a'), { listOnly: true, at: 1000 })).toBe(false);
    expect(await store.publish(meta('c'), { listOnly: true, at: 3000 })).toBe(false);
    expect(versionsOf(await store.listVersions())).toEqual(['c', 'b', 'a']);
    expect((await store.getActive())!.version).toBe('b');
    const empty = await make();
    expect(await empty.publish(meta('x'), { listOnly: true })).toBe(false);
    expect(await empty.getActive()).toBeNull();
    expect(await empty.activate('x')).toBe(true);
    // A publish after them still lists newest.
    expect(await store.publish(meta('d'))).toBe(true);
    expect(versionsOf(await store.listVersions())[0]).toBe('d');
  });

  it('When a publish does not flip and only one version is kept, Then neither the active version nor the one just published is pruned', async () => {
    const store = await make({ versionsKept: 1 });
    await store.publish(meta('a'));
    expect(await store.publish(meta('b'), { activeWas: 'z' })).toBe(false);
    expect(versionsOf(await store.listVersions())).toEqual(['b', 'a']);
    // It can be activated, as the training's note says.
    expect(await store.activate('b')).toBe(true);
  });

  it('When versions are put back listed only (a restore\'s) and only one version is kept, Then only the active one stays, with no extra version until the next publish', async () => {
    const store = await make({ versionsKept: 1 });
    expect(await store.publish(meta('b'), { activeWas: null, at: 2000 })).toBe(true);
    for (const [v, at] of [['a', 1000], ['c', 3000]] as const) {
      await store.putArtifact(v, 'model', text(v));
      expect(await store.publish(meta(v), { listOnly: true, at })).toBe(false);
    }
    expect(versionsOf(await store.listVersions())).toEqual(['b']);
    expect(await store.getArtifact('a', 'model')).toBeNull();
    expect(await store.getArtifact('c', 'model')).toBeNull();
    expect((await store.getActive())!.version).toBe('b');
  });

  it('When more versions are published than are kept, Then the oldest are deleted with their data', async () => {
    const store = await make({ versionsKept: 2 });
    for (const v of ['v1', 'v2', 'v3', 'v4']) {
      await store.putArtifact(v, 'model', text(v));
      await store.putEntries(v, 'users', [['u', text(v)]]);
      await store.publish(meta(v));
    }
    expect(versionsOf(await store.listVersions())).toEqual(['v4', 'v3']);
    expect(await store.getArtifact('v1', 'model')).toBeNull();
    expect(await store.getEntries('v2', 'users', ['u'])).toEqual([null]);
    expect(bytesOf(await store.getArtifact('v3', 'model'))).toEqual(Array.from(text('v3')));
    expect(await store.activate('v1')).toBe(false);
    expect(await store.getActive()).toEqual(meta('v4'));
  });

  // After a rollback, the version serving until a publish (the known-good one the operator went back to)
  // is older than the bad one rolled back from: the oldest-first prune deleted it and kept the bad one.
  it('When an operator rolled back to an old version and the next publish flips, Then the version serving until then is kept for rollback and the bad one is pruned', async () => {
    const store = await make({ versionsKept: 2 });
    for (const v of ['good', 'bad']) await store.publish(meta(v));
    expect(await store.activate('good')).toBe(true);
    expect(await store.publish(meta('next'), { activeWas: 'good' })).toBe(true);
    expect(versionsOf(await store.listVersions())).toEqual(['next', 'good']);
    // Without a condition alike (a publish that flips whatever is active).
    expect(await store.activate('good')).toBe(true);
    expect(await store.publish(meta('later'))).toBe(true);
    expect(versionsOf(await store.listVersions())).toEqual(['later', 'good']);
    // With one version kept, only the active one stays, as before.
    const one = await make({ versionsKept: 1 });
    for (const v of ['a', 'b']) await one.publish(meta(v));
    expect(versionsOf(await one.listVersions())).toEqual(['b']);
  });

  it('When a version is deleted, Then its data is gone, but the active one is refused', async () => {
    const store = await make();
    for (const v of ['a', 'b']) {
      await store.putArtifact(v, 'model', text(v));
      await store.publish(meta(v));
    }
    expect(await store.deleteVersion('b')).toBe(false);
    expect(bytesOf(await store.getArtifact('b', 'model'))).toEqual(Array.from(text('b')));

    expect(await store.deleteVersion('a')).toBe(true);
    expect(await store.getArtifact('a', 'model')).toBeNull();
    expect(versionsOf(await store.listVersions())).toEqual(['b']);
    expect(await store.activate('a')).toBe(false);
    expect(await store.deleteVersion('a')).toBe(false);
    expect(await store.deleteVersion('never-existed')).toBe(false);

    // A failed training cleans up its unpublished writes the same way.
    await store.putEntries('draft', 'users', [['u', text('x')]]);
    expect(await store.deleteVersion('draft')).toBe(true);
    expect(await store.getEntries('draft', 'users', ['u'])).toEqual([null]);
  });

  it('When user events are appended, Then they read back in order, capped to the newest, until the user is deleted', async () => {
    const store = await make();
    expect(await store.getUserEvents('u1')).toEqual([]);
    await store.appendUserEvents('u1', [
      { itemId: 'i|pipe', ts: 1_700_000_000_123 },
      { itemId: 'i2', ts: 1_700_000_000_456.5 },
    ]);
    await store.appendUserEvents('u1', []);
    await store.appendUserEvents('u2', [{ itemId: 'other', ts: 1 }]);
    expect(await store.getUserEvents('u1')).toEqual([
      { itemId: 'i|pipe', ts: 1_700_000_000_123 },
      { itemId: 'i2', ts: 1_700_000_000_456.5 },
    ]);

    // 2 + 60 events in two appends: the newest 50 are the last 50 of the 60.
    const more = Array.from({ length: 60 }, (_, i) => ({ itemId: `m${i}`, ts: 2_000 + i }));
    await store.appendUserEvents('u1', more.slice(0, 30));
    await store.appendUserEvents('u1', more.slice(30));
    const events = await store.getUserEvents('u1');
    expect(LIVE_EVENTS_KEPT).toBe(50);
    expect(events).toHaveLength(50);
    expect(events[0]).toEqual({ itemId: 'm10', ts: 2_010 });
    expect(events[49]).toEqual({ itemId: 'm59', ts: 2_059 });

    await store.deleteUser('u1');
    await store.deleteUser('nobody');
    expect(await store.getUserEvents('u1')).toEqual([]);
    expect(await store.getUserEvents('u2')).toEqual([{ itemId: 'other', ts: 1 }]);
  });

  it('When a user is erased, Then their entries are gone from every table of every published version, and others stay', async () => {
    const store = await make();
    const bytes = (s: string) => new TextEncoder().encode(s);
    for (const version of ['erase-v1', 'erase-v2']) {
      await store.putEntries(version, 'users', [['gone', bytes(`${version}:gone`)], ['kept', bytes(`${version}:kept`)]]);
      await store.putEntries(version, 'users-als', [['gone', bytes('x')]]);
      await store.publish({ version, recipe: 'r', trainedAt: new Date().toISOString(), info: {} });
    }
    await store.deleteUser('gone');
    for (const version of ['erase-v1', 'erase-v2']) {
      const read = await store.getEntries(version, 'users', ['gone', 'kept']);
      expect(read.map((b) => b && new TextDecoder().decode(b))).toEqual([null, `${version}:kept`]);
      expect(await store.getEntries(version, 'users-als', ['gone'])).toEqual([null]);
    }
  });

  it('When a user is erased while versions are being written, Then the drafts named lose their entries and the others keep theirs until their training scrubs them', async () => {
    const store = await make();
    const bytes = (s: string) => new TextEncoder().encode(s);
    for (const version of ['draft-named', 'draft-other']) await store.putEntries(version, 'users', [['gone', bytes('x')], ['kept', bytes('y')]]);
    await store.deleteUser('gone', ['draft-named']);
    expect(await store.getEntries('draft-named', 'users', ['gone', 'kept'])).toEqual([null, expect.anything()]);
    // A training's check of what it wrote (train-model.ts assertHeld) counts the draft's entries: one gone
    // behind its back failed it. Its own scrub before the publish names it.
    expect((await store.getEntries('draft-other', 'users', ['gone', 'kept'])).map((b) => b && new TextDecoder().decode(b))).toEqual(['x', 'y']);
  });

  it("When one version's entries of some users are deleted, Then only that version's entries of them go: the live events, the other versions and the other users keep theirs", async () => {
    const store = await make();
    const bytes = (s: string) => new TextEncoder().encode(s);
    const read = async (version: string, table: string, ids: string[]) => (await store.getEntries(version, table, ids)).map((b) => b && new TextDecoder().decode(b));
    for (const version of ['scoped-v1', 'scoped-v2']) {
      await store.putEntries(version, 'users', [['back', bytes(`${version}:back`)], ['kept', bytes(`${version}:kept`)]]);
      await store.putEntries(version, 'users-als', [['back', bytes(`${version}:als`)]]);
      await store.publish({ version, recipe: 'r', trainedAt: new Date().toISOString(), info: {} });
    }
    await store.putEntries('scoped-draft', 'users', [['back', bytes('draft:back')], ['kept', bytes('draft:kept')]]);
    await store.appendUserEvents('back', [{ itemId: 'bought-since', ts: 5 }]);

    await store.deleteUserEntries('scoped-v1', ['back', 'nobody']);
    await store.deleteUserEntries('scoped-draft', ['back']);
    await store.deleteUserEntries('no-such-version', ['back']);

    expect(await read('scoped-v1', 'users', ['back', 'kept'])).toEqual([null, 'scoped-v1:kept']);
    expect(await read('scoped-v1', 'users-als', ['back'])).toEqual([null]);
    expect(await read('scoped-v2', 'users', ['back', 'kept'])).toEqual(['scoped-v2:back', 'scoped-v2:kept']);
    expect(await read('scoped-v2', 'users-als', ['back'])).toEqual(['scoped-v2:als']);
    expect(await read('scoped-draft', 'users', ['back', 'kept'])).toEqual([null, 'draft:kept']);
    expect(await store.getUserEvents('back')).toEqual([{ itemId: 'bought-since', ts: 5 }]);
  });

  it('When an artifact is redacted, Then published and unpublished versions read the new bytes, and a missing artifact is not created', async () => {
    const store = await make();
    await store.putArtifact('redact-v1', 'profiles', text('with-gone'));
    await store.putArtifact('redact-v1', 'other', text('untouched'));
    await store.publish(meta('redact-v1'));
    await store.putArtifact('redact-v2', 'profiles', text('draft-with-gone'));

    expect(await store.redactArtifact('redact-v1', 'profiles', text('without'))).toBe(true);
    expect(await store.redactArtifact('redact-v2', 'profiles', text('draft-without'))).toBe(true);
    expect(await store.redactArtifact('redact-v1', 'missing', text('x'))).toBe(false);
    expect(await store.redactArtifact('no-such-version', 'profiles', text('x'))).toBe(false);

    expect(bytesOf(await store.getArtifact('redact-v1', 'profiles'))).toEqual(Array.from(text('without')));
    expect(bytesOf(await store.getArtifact('redact-v1', 'other'))).toEqual(Array.from(text('untouched')));
    expect(bytesOf(await store.getArtifact('redact-v2', 'profiles'))).toEqual(Array.from(text('draft-without')));
    expect(await store.getArtifact('redact-v1', 'missing')).toBeNull();
    expect(await store.getArtifact('no-such-version', 'profiles')).toBeNull();
  });

  it('When an artifact is patched in place, Then a read holds the new bytes at their offsets and the old elsewhere, a range read sees them, and nothing is grown or created', async (ctx) => {
    const store = await make();
    // Optional, as a pair: an erasure rewrites whole on a store without them.
    if (!store.patchArtifact || !store.readArtifactRange) return ctx.skip();
    await store.putArtifact('patch-v1', 'model', text('0123456789'));
    await store.publish(meta('patch-v1'));
    await store.putArtifact('patch-draft', 'model', text('abcdefghij'));

    expect(await store.patchArtifact('patch-v1', 'model', [{ offset: 2, bytes: text('xy') }, { offset: 9, bytes: text('z') }])).toBe(true);
    expect(await store.patchArtifact('patch-draft', 'model', [{ offset: 0, bytes: text('A') }])).toBe(true);
    expect(bytesOf(await store.getArtifact('patch-v1', 'model'))).toEqual(Array.from(text('01xy45678z')));
    expect(bytesOf(await store.getArtifact('patch-draft', 'model'))).toEqual(Array.from(text('Abcdefghij')));
    expect(bytesOf(await store.readArtifactRange('patch-v1', 'model', 1, 5))).toEqual(Array.from(text('1xy4')));
    // A range past the end gives what there is.
    expect(bytesOf(await store.readArtifactRange('patch-v1', 'model', 8, 20))).toEqual(Array.from(text('8z')));

    // Past the end: refused, and none of the call's patches written.
    await expect(store.patchArtifact('patch-v1', 'model', [{ offset: 0, bytes: text('Q') }, { offset: 9, bytes: text('zz') }])).rejects.toThrow();
    expect(bytesOf(await store.getArtifact('patch-v1', 'model'))).toEqual(Array.from(text('01xy45678z')));
    expect(await store.patchArtifact('patch-v1', 'missing', [{ offset: 0, bytes: text('x') }])).toBe(false);
    expect(await store.patchArtifact('no-such-version', 'model', [{ offset: 0, bytes: text('x') }])).toBe(false);
    expect(await store.getArtifact('patch-v1', 'missing')).toBeNull();
    expect(await store.readArtifactRange('patch-v1', 'missing', 0, 4)).toBeNull();
    expect(await store.readArtifactRange('no-such-version', 'model', 0, 4)).toBeNull();
    expect((await store.contentsOf?.('patch-v1', { artifacts: ['model'], tables: [] }))?.artifacts).toEqual(store.contentsOf ? { model: 10 } : undefined);
  });

  it('When an artifact is rewritten at another length or deleted between the read that found a patch and the patch, Then the patch asked with the length read writes nothing, creates nothing and says false', async (ctx) => {
    const store = await make();
    if (!store.patchArtifact || !store.readArtifactRange) return ctx.skip();
    await store.putArtifact('patch-cond', 'model', text('0123456789'));
    await store.publish(meta('patch-cond'));
    expect(await store.patchArtifact('patch-cond', 'model', [{ offset: 1, bytes: text('a') }], { size: 10 })).toBe(true);
    expect(bytesOf(await store.getArtifact('patch-cond', 'model'))).toEqual(Array.from(text('0a23456789')));
    // Rewritten shorter (another layout) after the read: the offsets read no longer say where the customer is.
    expect(await store.redactArtifact('patch-cond', 'model', text('abcdefgh'))).toBe(true);
    expect(await store.patchArtifact('patch-cond', 'model', [{ offset: 2, bytes: text('Z') }], { size: 10 })).toBe(false);
    expect(bytesOf(await store.getArtifact('patch-cond', 'model'))).toEqual(Array.from(text('abcdefgh')));
    // Gone (evicted) after the read: nothing is created.
    expect(await store.patchArtifact('patch-cond', 'gone', [{ offset: 2, bytes: text('Z') }], { size: 10 })).toBe(false);
    expect(await store.readArtifactRange('patch-cond', 'gone', 0, 4)).toBeNull();
  });

  it('When erasure records are raised, Then each rises only from where it stood (never down, never from below `from`), a draft is not recorded and a deleted version loses its record', async (ctx) => {
    const store = await make({ versionsKept: 2 });
    // Optional: a store that never loses a write it answered keeps none.
    if (!store.erasureRecords || !store.raiseErasureRecords) return ctx.skip();
    const raise = store.raiseErasureRecords.bind(store);
    for (const v of ['rec-v1', 'rec-v2']) {
      await store.putArtifact(v, 'm', text(v));
      await store.publish(meta(v));
    }
    await store.putArtifact('rec-draft', 'm', text('draft'));
    expect(await store.erasureRecords()).toEqual({ versions: new Map([['rec-v1', undefined], ['rec-v2', undefined]]), liveEvents: undefined, scrubbedAgain: [] });

    // With `from`, a missing record stays missing: what it was scrubbed of before is unknown.
    await raise(4, { versions: ['rec-v1', 'rec-v2'], liveEvents: true, from: 2 });
    expect(await store.erasureRecords()).toEqual({ versions: new Map([['rec-v1', undefined], ['rec-v2', undefined]]), liveEvents: undefined, scrubbedAgain: [] });
    await raise(3, { versions: ['rec-v1', 'rec-draft'], liveEvents: true });
    await raise(2, { versions: ['rec-v2'] });
    expect(await store.erasureRecords()).toEqual({ versions: new Map([['rec-v1', 3], ['rec-v2', 2]]), liveEvents: 3, scrubbedAgain: [] });
    // From 3: rec-v1 and the live events were up to date, rec-v2 was not.
    await raise(5, { versions: ['rec-v1', 'rec-v2'], liveEvents: true, from: 3 });
    await raise(1, { versions: ['rec-v1'], liveEvents: true });
    expect(await store.erasureRecords()).toEqual({ versions: new Map([['rec-v1', 5], ['rec-v2', 2]]), liveEvents: 5, scrubbedAgain: [] });

    // A third publish prunes rec-v1 (2 kept).
    await store.putArtifact('rec-v3', 'm', text('v3'));
    await store.publish(meta('rec-v3'));
    await raise(6, { versions: ['rec-v1', 'rec-v3'] });
    expect(await store.erasureRecords()).toEqual({ versions: new Map([['rec-v2', 2], ['rec-v3', 6]]), liveEvents: 5, scrubbedAgain: [] });
  });

  it('When scrubs done again are noted, Then the records list them newest first, each with a token of its own and its time, the last SCRUBBED_AGAIN_KEPT only', async (ctx) => {
    const store = await make();
    if (!store.erasureRecords || !store.noteScrubbedAgain) return ctx.skip();
    expect((await store.erasureRecords()).scrubbedAgain).toEqual([]);
    const before = Date.now();
    await store.noteScrubbedAgain(7);
    await store.noteScrubbedAgain(3);
    const after = Date.now();
    const [second, first] = (await store.erasureRecords()).scrubbedAgain!;
    expect([second.from, first.from]).toEqual([3, 7]);
    expect(second.token).not.toBe(first.token);
    // When each was written (the writer's clock): a process that first reads them counts those since it started.
    for (const note of [first, second]) {
      expect(note.at).toBeGreaterThanOrEqual(before);
      expect(note.at).toBeLessThanOrEqual(after);
    }
    for (let k = 0; k < SCRUBBED_AGAIN_KEPT; k++) await store.noteScrubbedAgain(100 + k);
    const notes = (await store.erasureRecords()).scrubbedAgain!;
    expect(notes.map((n) => n.from)).toEqual(Array.from({ length: SCRUBBED_AGAIN_KEPT }, (_, k) => 100 + SCRUBBED_AGAIN_KEPT - 1 - k));
  });

  it('When users\' live events are deleted, Then theirs are gone and every process is told; their entries and other users\' events stay', async (ctx) => {
    const store = await make();
    if (!store.deleteUserEvents) return ctx.skip();
    const erased: string[] = [];
    store.onUserErased?.((id) => erased.push(id));
    await store.putEntries('ev-v1', 'users', [['gone', text('entry')]]);
    await store.publish(meta('ev-v1'));
    await store.appendUserEvents('gone', [{ itemId: 'i1', ts: 1 }]);
    await store.appendUserEvents('also-gone', [{ itemId: 'i2', ts: 2 }]);
    await store.appendUserEvents('kept', [{ itemId: 'i3', ts: 3 }]);

    await store.deleteUserEvents(['gone', 'also-gone']);

    expect(await store.getUserEvents('gone')).toEqual([]);
    expect(await store.getUserEvents('also-gone')).toEqual([]);
    expect(await store.getUserEvents('kept')).toEqual([{ itemId: 'i3', ts: 3 }]);
    expect(bytesOf((await store.getEntries('ev-v1', 'users', ['gone']))[0])).toEqual(Array.from(text('entry')));
    if (store.onUserErased) await expect.poll(() => [...erased].sort()).toEqual(['also-gone', 'gone']);
  });
}
