import { describe, expect, it } from 'vitest';
import { AUDIENCE_ARTIFACT } from '../../../src/audiences/audience-artifact.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { goneFromStore, lostFromStore, writeModelVersion } from '../../../src/training/write-model-version.js';

const bytes = (n: number) => new Uint8Array(n).fill(7);

/** A published version with one artifact, a table of one customer and a table of three. */
async function published() {
  const store = await createMemoryModelStore({});
  const contents = await writeModelVersion(store, 'v1', {
    artifacts: new Map([['model', bytes(10)]]),
    tables: new Map<string, [string, Uint8Array][]>([
      ['few', [['u1', bytes(2)]]],
      ['users', [['u1', bytes(2)], ['u2', bytes(2)], ['u3', bytes(2)]]],
    ]),
  });
  const meta = { version: 'v1', recipe: 'r', trainedAt: new Date().toISOString(), info: { contents, erasureMark: 4 } };
  await store.publish(meta);
  return { store, meta };
}

describe('what the store lost of a published version', () => {
  it('When everything is there, Then nothing is gone, and erasures are not even counted', async () => {
    const { store, meta } = await published();
    let asked = false;
    expect(await goneFromStore(store, meta, async () => ((asked = true), 0))).toEqual([]);
    expect(asked).toBe(false);
  });

  it('When an erasure empties a small table, Then it is not reported gone; the same emptiness without erasures is', async () => {
    const { store, meta } = await published();
    await store.deleteUser('u1');
    const marks: number[] = [];
    // One customer erased since the version's mark (4) could have emptied a table of one entry, not one of three.
    expect(await goneFromStore(store, meta, async (mark) => (marks.push(mark), 1))).toEqual([]);
    expect(marks).toEqual([4]);
    expect(await goneFromStore(store, meta, async () => 0)).toEqual(['table few']);
  });
});

describe('the audience postings, which a version is whole without', () => {
  /** A version whose write summary lists `listed` artifacts, of which the store holds `held`. */
  async function version(held: [string, Uint8Array][], listed: Record<string, number>) {
    const store = await createMemoryModelStore({});
    const contents = await writeModelVersion(store, 'v1', { artifacts: new Map(held), tables: new Map([['users', [['u1', bytes(2)]] as [string, Uint8Array][]]]) });
    // Listed as a training before optionalArtifacts wrote them (the postings among `artifacts`).
    contents.artifacts = listed;
    delete contents.optionalArtifacts;
    const meta = { version: 'v1', recipe: 'r', trainedAt: new Date().toISOString(), info: { contents, erasureMark: 0 } };
    await store.publish(meta);
    return { store, meta, contents };
  }

  it('When only the audience postings are missing (evicted), Then the version lost nothing, before its publish or after; another missing artifact still counts', async () => {
    const { store, meta, contents } = await version([['model', bytes(10)]], { model: 10, [AUDIENCE_ARTIFACT]: 241 });
    expect(await goneFromStore(store, meta)).toEqual([]);
    expect(await lostFromStore(store, 'v1', contents, 0)).toBeNull();
    expect(await lostFromStore(store, 'v1', contents, 1)).toBeNull();

    const other = await version([['model', bytes(10)]], { model: 10, profiles: 30 });
    expect(await goneFromStore(other.store, other.meta)).toEqual(['artifact profiles']);
    expect(await lostFromStore(other.store, 'v1', other.contents, 0)).toBe('artifact profiles: 0 of 30 bytes');
  });

  it('When the audience postings are there but not as written, Then the training\'s check of its write still refuses them', async () => {
    const { store, contents } = await version([['model', bytes(10)], [AUDIENCE_ARTIFACT, bytes(100)]], { model: 10, [AUDIENCE_ARTIFACT]: 241 });
    expect(await lostFromStore(store, 'v1', contents, 0)).toBe(`artifact ${AUDIENCE_ARTIFACT}: 100 of 241 bytes`);
  });
});

describe('the audience postings seen by a replica of the release before (a rolling upgrade)', () => {
  it('When a version with postings is written, Then the summary\'s `artifacts`, which that release checks knowing only `serving-audience` as optional, does not list serving-audience-2; this release still checks its size, and its eviction is no loss', async () => {
    const store = await createMemoryModelStore({});
    const contents = await writeModelVersion(store, 'v1', {
      artifacts: new Map([['model', bytes(10)], [AUDIENCE_ARTIFACT, bytes(24)]]),
      tables: new Map([['users', [['u1', bytes(2)]] as [string, Uint8Array][]]]),
    });
    // b978bd3 goneFromStore: every entry of `artifacts` held with 0 bytes and not named `serving-audience` is gone.
    const goneForTheReleaseBefore = async (store: Awaited<ReturnType<typeof createMemoryModelStore>>) => {
      const held = await store.contentsOf!('v1', { artifacts: Object.keys(contents.artifacts), tables: [] });
      return Object.entries(contents.artifacts).filter(([name, want]) => want > 0 && held.artifacts[name] === 0 && name !== 'serving-audience').map(([name]) => name);
    };
    expect(contents.artifacts).toEqual({ model: 10 });
    const meta = { version: 'v1', recipe: 'r', trainedAt: new Date().toISOString(), info: { contents, erasureMark: 0 } };
    await store.publish(meta);
    expect(await lostFromStore(store, 'v1', contents, 0)).toBeNull();

    // Written short (a write cut): this release's check of the training's write names it.
    await store.redactArtifact('v1', AUDIENCE_ARTIFACT, bytes(16));
    expect(await lostFromStore(store, 'v1', contents, 0)).toBe(`artifact ${AUDIENCE_ARTIFACT}: 16 of 24 bytes`);

    // Evicted: no loss for either release (the same version in a store that holds all of it but the postings).
    const evicted = await createMemoryModelStore({});
    await writeModelVersion(evicted, 'v1', { artifacts: new Map([['model', bytes(10)]]), tables: new Map([['users', [['u1', bytes(2)]] as [string, Uint8Array][]]]) });
    await evicted.publish(meta);
    expect(await evicted.getArtifact('v1', AUDIENCE_ARTIFACT)).toBeNull();
    expect(await goneForTheReleaseBefore(evicted)).toEqual([]);
    expect(await goneFromStore(evicted, meta)).toEqual([]);
    expect(await lostFromStore(evicted, 'v1', contents, 0)).toBeNull();
  });
});
