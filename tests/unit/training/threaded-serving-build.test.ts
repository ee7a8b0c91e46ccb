import { describe, expect, it } from 'vitest';
import { loadOnlineRetail } from '../../../src/cli/online-retail-input.js';
import { buildDataset, DatasetBuilder, type Dataset } from '../../../src/recommenders/dataset.js';
import { assembleServingModel, buildServingModel, prepareServingModel, singleStrategies, userRowChunks } from '../../../src/serving/serving-model-builder.js';
import { strategyTable } from '../../../src/serving/user-entry.js';
import type { ServingModelInfo } from '../../../src/serving/serving-artifacts.js';
import { fitRecipe, loadRecipe } from '../../../src/training/recipe.js';
import { buildServingModelInThreads, slimDataset } from '../../../src/training/threaded-serving-build.js';
import { sharedChunks } from '../../../src/training/shared-chunks.js';
import { computeInWorker } from '../../../src/training/compute-in-worker.js';
import { computeModel } from '../../../src/training/compute-model.js';
import { chunkGate, chunksInFlight, giveSlot } from '../../../src/training/chunk-gate.js';

// The first 200 of the 354 customers of the bundled slice of Online Retail (real histories: 29,788 of its 37,695
// purchases), every source of the default recipe (ALS smaller; EASE on the 400 most-bought items, so still restricted as
// on a large shop: its artifact, which every thread decodes, is 1.3 MB rather than 8.0 MB and its fit a third), so the
// test stays quick on a busy machine. Every
// build below is checked against the single-thread one on these customers; the chunk sizes are set so that each
// build still runs in as many chunks as it did on the whole slice.
const input = await loadOnlineRetail('sample/online-retail-sample.csv.gz');
const customers = new Set(input.users.slice(0, 200).map((u) => u.id));
const ds = buildDataset({ ...input, events: input.events.filter((e) => customers.has(e.userId)), users: input.users.filter((u) => customers.has(u.id)) });
const base = await loadRecipe('default');
const recipe = {
  ...base,
  sources: {
    ...base.sources,
    als: { ...base.sources.als, params: { ...(base.sources.als.params as object), factors: 16, iterations: 4 } },
    ease: { ...base.sources.ease, params: { ...(base.sources.ease.params as object), maxItems: 400 } },
  },
};
const fitted = await fitRecipe(ds, recipe);

const asObject = (tables: Map<string, Iterable<[string, Uint8Array]>>) =>
  Object.fromEntries([...tables].map(([name, rows]) => [name, [...rows].map(([id, bytes]) => [id, Buffer.from(bytes).toString('base64')])]));

// The single-thread build every threaded build must equal, made once for the whole file.
const single = buildServingModel({ ds, fitted, recipe });
const expected = asObject(single.tables);

/**
 * The first 40 customers, for the whole trainings below: what they check (which tables a version stores; a training's
 * ALS half-steps split between two threads by rows, EASE fitted in a thread of its own) does not depend on how many
 * customers there are, and the serving build inside a training runs on one thread at these sizes either way
 * (MIN_USERS_PER_THREAD). The threaded serving builds keep the 200.
 */
const few = new Set(input.users.slice(0, 40).map((u) => u.id));
const fewDs = buildDataset({ ...input, events: input.events.filter((e) => few.has(e.userId)), users: input.users.filter((u) => few.has(u.id)) });

/** The one-thread training of the 40 with the recommenders kept, computed once for the two tests that read it. */
let keptOnOneThread: ReturnType<typeof computeModel> | undefined;
const trainedOnOneThread = () => (keptOnOneThread ??= computeModel(fewDs, recipe, { storeRecommenders: true, threads: 1 }));

/**
 * Left to itself, the calling thread takes chunks until the workers have started, and on a loaded machine that is
 * nearly every chunk (196 and 199 of 200 rows at load 18): a build whose workers' rows were lost would still nearly
 * equal the single-thread one. The threaded builds below let it build one chunk (on one thread it builds them all), so
 * the workers build all the others whatever the load, and comparing with the single-thread build checks their rows.
 * The failing-thread test keeps the default: what it checks is that the calling thread stops taking chunks.
 */
const workersBuild = { minUsersPerThread: 1, callerChunks: 1 };

/** An artifact's bytes as text with its trainedAt stamp blanked (the only thing two builds may differ in). */
const withoutTime = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, 'T');

describe('threaded serving build', () => {
  it('When threads take chunks from one counter, Then every customer is in exactly one chunk, of consecutive customers, and the chunks are numbered by position', () => {
    const next = new Int32Array(new SharedArrayBuffer(4));
    const [a, b] = [sharedChunks(next, 95, 10), sharedChunks(next, 95, 10)];
    const taken: { index: number; from: number; to: number }[] = [];
    // Two takers alternating unevenly, as threads of unequal speed would.
    for (let turn = 0; ; turn++) {
      const got = (turn % 3 === 0 ? b : a).next();
      if (got.done) break;
      taken.push(got.value);
    }
    expect(b.next().done).toBe(true);
    expect(taken.map((c) => c.index)).toEqual([...Array(10).keys()]);
    for (const c of taken) expect(c).toEqual({ index: c.index, from: c.index * 10, to: Math.min(95, c.index * 10 + 10) });
  });

  it('When built on 1 or 3 threads, Then every table and artifact is byte for byte the single-thread build', { timeout: 120_000 }, async () => {
    expect(expected['serving-users'].length).toBeGreaterThan(100);
    // 2 threads take the same path as 3 with one worker fewer: the shared-columns test below builds on 2 and compares
    // every table with the single-thread build too.
    for (const threads of [1, 3]) {
      // Chunks of 15 customers, which the threads take as they get free: the rows come back interleaved.
      const built = await buildServingModelInThreads({ ds, fitted, recipe }, threads, { ...workersBuild, chunkUsers: 15 });
      expect(asObject(built.tables)).toEqual(expected);
      expect([...built.artifacts.keys()]).toEqual([...single.artifacts.keys()]);
      for (const [name, bytes] of single.artifacts) expect(withoutTime(built.artifacts.get(name)!), name).toBe(withoutTime(bytes));
    }
  });

  it('When the rows are handed on in chunks as they are built, Then the chunks together are the single-thread tables, and the build keeps none of them', { timeout: 120_000 }, async () => {
    // The calling thread alone, and with two worker threads handing their chunks on between its own (2 threads take
    // the same path as 3 with one worker fewer; the shared-columns test builds on 2).
    for (const threads of [1, 3]) {
      const received = new Map<string, [string, Uint8Array][]>();
      let chunks = 0;
      const built = await buildServingModelInThreads({ ds, fitted, recipe }, threads, {
        ...workersBuild,
        chunkUsers: 25,
        onEntries: (entries) => {
          chunks++;
          for (const [name, rows] of entries) received.set(name, [...(received.get(name) ?? []), ...rows]);
        },
      });
      // 200 customers in chunks of 25: several chunks.
      expect(chunks).toBeGreaterThanOrEqual(8);
      // Chunks come in no set order across threads: compare each per-user table sorted by customer.
      const byId = (rows: (string | unknown)[][]) => [...rows].sort(([a], [b]) => String(a).localeCompare(String(b)));
      const perUser = Object.keys(expected).filter((name) => name === 'serving-users' || name.startsWith('serving-user-'));
      expect([...received.keys()].sort()).toEqual(perUser.sort());
      const got = asObject(received);
      expect(Object.fromEntries(perUser.map((name) => [name, byId(got[name])]))).toEqual(Object.fromEntries(perUser.map((name) => [name, byId(expected[name])])));
      // The build's own per-user tables are empty: the rows went to onEntries only.
      for (const name of received.keys()) expect([...built.tables.get(name)!]).toEqual([]);
    }
  });

  it('When the writer is slower than the build, Then no more chunks than the gate allows are ever handed on and unwritten, and the chunks are still the whole tables', { timeout: 120_000 }, async () => {
    const perUser = Object.keys(expected).filter((name) => name === 'serving-users' || name.startsWith('serving-user-'));
    const byId = (rows: (string | unknown)[][]) => [...rows].sort(([a], [b]) => String(a).localeCompare(String(b)));
    /** Builds on 3 threads with a writer that takes 100 ms per chunk while the build runs, one chunk after another (from the first chunk, or only once the build is done); the most chunks ever handed on and not yet written. */
    const slowWriter = async (limit: number, writerStarts: 'at-once' | 'after-the-build' = 'at-once') => {
      const gate = chunkGate(limit);
      let built = false;
      let buildDone: () => void = () => {};
      const afterBuild = new Promise<void>((resolve) => (buildDone = resolve));
      const received = new Map<string, [string, Uint8Array][]>();
      let writes = Promise.resolve();
      let most = 0;
      await buildServingModelInThreads({ ds, fitted, recipe }, 3, {
        ...workersBuild,
        chunkUsers: 13,
        chunkGate: gate,
        onEntries: (entries) => {
          most = Math.max(most, chunksInFlight(gate));
          for (const [name, rows] of entries) received.set(name, [...(received.get(name) ?? []), ...rows]);
          // One write after another, as a training writes them.
          const start = writerStarts === 'at-once' || built ? Promise.resolve() : afterBuild;
          // Once the build is done nothing waits on the writer: it writes what it was handed without the 100 ms.
          writes = writes
            .then(() => start)
            .then(() => new Promise((resolve) => setTimeout(resolve, built ? 0 : 100)))
            .then(() => giveSlot(gate));
        },
      });
      built = true;
      buildDone();
      await writes;
      expect(chunksInFlight(gate)).toBe(0);
      const got = asObject(received);
      expect(Object.fromEntries(perUser.map((name) => [name, byId(got[name])]))).toEqual(Object.fromEntries(perUser.map((name) => [name, byId(expected[name])])));
      return most;
    };
    // Unbounded, the three threads run ahead of a writer that has not started (so how far ahead does not
    // depend on how the machine schedules them); with a gate of 2 they wait for it.
    expect(await slowWriter(1000, 'after-the-build')).toBeGreaterThan(2);
    expect(await slowWriter(2)).toBe(2);
  });

  it('When the chunks come back in any order, Then they are assembled into the single-thread tables', () => {
    const prepared = prepareServingModel({ ds, fitted, recipe });
    const chunks = Array.from({ length: Math.ceil(ds.userIds.length / 15) }, (_, index) => ({ index, from: index * 15, to: Math.min(ds.userIds.length, index * 15 + 15) }));
    const rows = [...userRowChunks({ ...prepared, ds, fitted }, chunks)];
    expect(rows.length).toBeGreaterThan(5);
    // Reversed, and the first and last swapped again: as threads of unequal speed would return them.
    const shuffled = [...rows].reverse();
    [shuffled[0], shuffled[shuffled.length - 1]] = [shuffled[shuffled.length - 1], shuffled[0]];
    expect(asObject(assembleServingModel(prepared, shuffled).tables)).toEqual(expected);
  });

  it('When a thread fails, Then this thread stops taking chunks, the build fails with its reason, and no chunk is handed on after that', { timeout: 120_000 }, async () => {
    // The other threads cannot rebuild ALS from a family they do not know; this thread has it fitted.
    const broken = { ...recipe, sources: { ...recipe.sources, als: { ...recipe.sources.als, recommender: 'no-such-family' } } };
    // A writer that takes 200 ms per chunk, through a gate of one: this thread's 40 chunks of 5 would take 8 s.
    const gate = chunkGate(1);
    let chunks = 0;
    const onEntries = () => {
      chunks++;
      setTimeout(() => giveSlot(gate), 200);
    };
    const build = buildServingModelInThreads({ ds, fitted, recipe: broken }, 3, { minUsersPerThread: 1, chunkUsers: 5, chunkGate: gate, onEntries });
    await expect(build).rejects.toThrow(/unknown recommender family "no-such-family"/);
    expect(chunks).toBeLessThan(Math.ceil(ds.userIds.length / 5));
    const atFailure = chunks;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(chunks).toBe(atFailure);
  });

  it('When single-strategy lists are stored, Then 3 threads build the same tables as one, byte for byte', { timeout: 120_000 }, async () => {
    const stored = { ...recipe, serving: { strategyLists: 'stored' } };
    const one = buildServingModel({ ds, fitted, recipe: stored });
    const three = await buildServingModelInThreads({ ds, fitted, recipe: stored }, 3, { ...workersBuild, chunkUsers: 15 });
    expect([...one.tables.keys()]).toEqual(['serving-users', ...singleStrategies(one.info.hybridSources).map(strategyTable)]);
    expect(asObject(three.tables)).toEqual(asObject(one.tables));
  });

  it('When the recommenders are not kept with the version, Then it stores its single-strategy lists (serving could not score them)', { timeout: 120_000 }, async () => {
    const kept = await trainedOnOneThread();
    const notKept = await computeModel(fewDs, recipe, { storeRecommenders: false, threads: 1 });
    const info = (m: typeof kept) => m.servingInfo as ServingModelInfo;
    expect(info(kept).strategyLists).toBe('on-request');
    expect(kept.tables.map(([name]) => name)).toEqual(['serving-users']);
    expect(info(notKept).strategyLists).toBe('stored');
    expect(notKept.tables.map(([name]) => name)).toEqual(['serving-users', ...singleStrategies(info(notKept).hybridSources).map(strategyTable)]);
  });

  it('When a whole training is computed on 2 threads (ALS half-steps shared), Then every artifact and table equals the one-thread result', { timeout: 120_000 }, async () => {
    // ALS threads block on Atomics, so they run only off the main thread: inside the training thread.
    const one = await trainedOnOneThread();
    const two = await computeInWorker(fewDs, recipe, { storeRecommenders: true, threads: 2 });
    const artifacts = (m: typeof one) => Object.fromEntries(m.artifacts.map(([name, bytes]) => [name, withoutTime(bytes)]));
    expect(Object.keys(artifacts(two))).toContain('recommender:als');
    expect(artifacts(two)).toEqual(artifacts(one));
    const tables = (m: typeof one) => asObject(new Map(m.tables));
    expect(tables(two)).toEqual(tables(one));
  });

  it('When the dataset is built with shared columns, as a training builds it, Then the threads read those columns in place, compute the same model, and the dataset stays whole', { timeout: 120_000 }, async () => {
    const events = input.events.filter((e) => customers.has(e.userId));
    const sharedDs = buildDataset({ ...input, events, users: input.users.filter((u) => customers.has(u.id)), shared: true });
    const columns = (d: Dataset) => [d.eventUser, d.eventItem, d.eventOrder, d.eventTs, d.eventQuantity, d.eventPrice, ...(d.signals ? [d.signals.user, d.signals.item, d.signals.ts, d.signals.weight] : [])];
    for (const column of columns(sharedDs)) expect(column.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect([...sharedDs.eventItem]).toEqual([...ds.eventItem]);
    expect([...sharedDs.eventTs]).toEqual([...ds.eventTs]);
    // What the serving build's threads get is the same memory, not a copy.
    slimDataset(sharedDs).eventTs[0] = -1;
    expect(sharedDs.eventTs[0]).toBe(-1);
    sharedDs.eventTs[0] = ds.eventTs[0];
    const threaded = await buildServingModelInThreads({ ds: sharedDs, fitted, recipe }, 2, { ...workersBuild, chunkUsers: 15 });
    expect(asObject(threaded.tables)).toEqual(expected);

    // With views as signals: shared too, and the training thread cannot take any column away. A whole training in its
    // thread, on the first 40 customers: what is checked (shared columns, none taken away, a row per customer) does not
    // depend on how many there are.
    const fewEvents = events.filter((e) => few.has(e.userId));
    const builder = new DatasetBuilder();
    builder.addAll(fewEvents);
    fewEvents.slice(0, 50).forEach((e, k) => builder.addSignal({ userId: e.userId, itemId: e.itemId, ts: e.ts + k, weight: 0.5 }));
    const withSignals = builder.build({ items: input.items, users: input.users.filter((u) => few.has(u.id)), shared: true });
    expect(withSignals.signals?.user).toHaveLength(50);
    const lengths = columns(withSignals).map((c) => c.length);
    for (const column of columns(withSignals)) expect(column.buffer).toBeInstanceOf(SharedArrayBuffer);
    const two = await computeInWorker(withSignals, recipe, { storeRecommenders: false, threads: 2, transferDataset: true });
    expect(new Map(two.tables).get('serving-users')!.length).toBe(few.size);
    expect(columns(withSignals).map((c) => c.length)).toEqual(lengths);
  });
});
