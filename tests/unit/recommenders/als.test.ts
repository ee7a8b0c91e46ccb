import { Matrix, solve } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { alsFactory, fitAls, type AlsParams } from '../../../src/recommenders/als.js';
import { decodeArtifact, encodeArtifact, LAYOUT_FIRST_READ_BYTES } from '../../../src/recommenders/artifact.js';
import { choleskySolve } from '../../../src/recommenders/cholesky.js';
import { alsLoss, conjugateGradientHalfStep, type ConfidenceRows } from '../../../src/recommenders/conjugate-gradient.js';
import { buildDataset, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import type { HistoryEntry, Recommender, UserContext } from '../../../src/recommenders/recommender.js';
import { mulberry32 } from '../../../src/recommenders/seeded-random.js';
import { SparseScores } from '../../../src/recommenders/sparse-scores.js';

const DAY = 86_400_000;

/**
 * Two worlds that never meet: users g0-u* buy only items g0-i*, users g1-u* only g1-i*. Each of the 12
 * users of a group buys 4 of the group's 6 items (one of them twice, in two orders) and skips 2, so
 * every user has unbought in-group items and the group is the one pattern to learn.
 */
function twoGroupEvents(): PurchaseRow[] {
  const events: PurchaseRow[] = [];
  for (const g of [0, 1]) {
    for (let u = 0; u < 12; u++) {
      const skipped = new Set([u % 6, (u + 1 + Math.floor(u / 6)) % 6]);
      for (let i = 0; i < 6; i++) {
        if (skipped.has(i)) continue;
        const orders = i === (u + 3) % 6 ? 2 : 1;
        for (let o = 0; o < orders; o++) {
          events.push({ userId: `g${g}-u${u}`, itemId: `g${g}-i${i}`, orderId: `o${o}`, ts: (o + 1) * DAY, quantity: 1, price: null });
        }
      }
    }
  }
  return events;
}

const twoGroups = () => buildDataset({ events: twoGroupEvents() });

const groupOf = (id: string) => id.slice(0, 2);
// Few users, so few factors and strong regularisation: with 64 free factors ALS memorises each user's row.
const params = (raw: Partial<AlsParams> = {}) => alsFactory.parseParams({ factors: 8, regularization: 5, iterations: 10, ...raw });

function scores(model: Recommender, ctx: UserContext, n: number): Float32Array {
  const out = new Float32Array(n);
  model.scoreUser(ctx, out);
  return out;
}

function historyOf(ds: ReturnType<typeof twoGroups>, user: string): HistoryEntry[] {
  const u = ds.userIndex.get(user)!;
  const out: HistoryEntry[] = [];
  for (let e = 0; e < ds.eventUser.length; e++) {
    if (ds.eventUser[e] === u) out.push({ item: ds.eventItem[e], ts: ds.eventTs[e], quantity: 1, order: ds.eventOrder[e] });
  }
  return out;
}

describe('ALS recommender', () => {
  const ds = twoGroups();
  const n = ds.itemIds.length;

  it('ranks every unbought in-group item above every item of the other group, for every user', () => {
    const model = alsFactory.fit(ds, params());
    for (const [user, u] of ds.userIndex) {
      const bought = new Set(historyOf(ds, user).map((h) => h.item));
      const s = scores(model, { user: u, history: historyOf(ds, user), attributes: {} }, n);
      const inGroup = ds.itemIds.flatMap((id, i) => (groupOf(id) === groupOf(user) && !bought.has(i) ? [s[i]] : []));
      const outGroup = ds.itemIds.flatMap((id, i) => (groupOf(id) !== groupOf(user) ? [s[i]] : []));
      expect(Math.min(...inGroup)).toBeGreaterThan(Math.max(...outGroup));
    }
  });

  it('finds an item\'s nearest neighbours by factor cosine inside its own group', () => {
    const model = alsFactory.fit(ds, params());
    for (let i = 0; i < n; i++) {
      const near = model.similarItems!(i, 5);
      expect(near).toHaveLength(5);
      for (const nb of near) expect(groupOf(ds.itemIds[nb.item])).toBe(groupOf(ds.itemIds[i]));
    }
  });

  it('lowers the training loss at every iteration', () => {
    const losses: number[] = [];
    fitAls(ds, params({ iterations: 12 }), { onIteration: (_, loss) => losses.push(loss) });
    expect(losses).toHaveLength(12);
    for (let t = 1; t < losses.length; t++) expect(losses[t]).toBeLessThanOrEqual(losses[t - 1] * (1 + 1e-9));
    expect(losses[11]).toBeLessThan(losses[0]);
  });

  it('gives identical results for the same seed and different ones for another seed', () => {
    const ctx: UserContext = { user: 3, history: [], attributes: {} };
    const a = scores(alsFactory.fit(ds, params({ seed: 7 })), ctx, n);
    const b = scores(alsFactory.fit(ds, params({ seed: 7 })), ctx, n);
    const c = scores(alsFactory.fit(ds, params({ seed: 8 })), ctx, n);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('folds in a visitor unknown to the model from their history: their group\'s items come first', () => {
    const model = alsFactory.fit(ds, params());
    const g1 = (i: number) => ds.itemIndex.get(`g1-i${i}`)!;
    const history: HistoryEntry[] = [
      { item: g1(0), ts: 0, quantity: 1, order: 'cart' },
      { item: g1(3), ts: 0, quantity: 1, order: 'cart' },
    ];
    const s = scores(model, { user: -1, history, attributes: {} }, n);
    const ranked = [...s.keys()].filter((i) => i !== g1(0) && i !== g1(3)).sort((a, b) => s[b] - s[a]);
    expect(ranked.slice(0, 4).map((i) => groupOf(ds.itemIds[i]))).toEqual(['g1', 'g1', 'g1', 'g1']);
    expect(scores(model, { user: -1, history: [], attributes: {} }, n).every((v) => v === 0)).toBe(true);
  });

  it('re-solves a known user whose history grew after training, moving them towards the new group', () => {
    const model = alsFactory.fit(ds, params());
    const user = 'g0-u0';
    const u = ds.userIndex.get(user)!;
    const g1 = ds.itemIndex.get('g1-i2')!;
    const before = scores(model, { user: u, history: historyOf(ds, user), attributes: {} }, n);
    const grown = [...historyOf(ds, user), { item: g1, ts: 10 * DAY, quantity: 1, order: 'new' }];
    const after = scores(model, { user: u, history: grown, attributes: {} }, n);
    const g1Others = ds.itemIds.flatMap((id, i) => (groupOf(id) === 'g1' && i !== g1 ? [i] : []));
    for (const i of g1Others) expect(after[i]).toBeGreaterThan(before[i]);
  });

  it('restores identical scores and neighbours from its artifact, and follows items to new indices', () => {
    const model = alsFactory.fit(ds, params());
    const bytes = model.toArtifact();
    const back = alsFactory.fromArtifact(bytes, ds);
    const known: UserContext = { user: 5, history: historyOf(ds, ds.userIds[5]), attributes: {} };
    const anonymous: UserContext = { user: -1, history: [{ item: 2, ts: 0, quantity: 1, order: 1 }], attributes: {} };
    for (const ctx of [known, anonymous]) expect(scores(back, ctx, n)).toEqual(scores(model, ctx, n));
    expect(back.similarItems!(4, 3)).toEqual(model.similarItems!(4, 3));

    const reordered = ['NEW', ...[...ds.itemIds].reverse()];
    const moved = alsFactory.fromArtifact(bytes, { itemIds: reordered });
    const original = scores(model, known, n);
    const s = scores(moved, { user: 5, history: [], attributes: {} }, reordered.length);
    reordered.forEach((id, i) => expect(s[i]).toBe(id === 'NEW' ? 0 : original[ds.itemIndex.get(id)!]));
  });

  it('When a model is loaded with the gramian it was stored with, Then it solves new histories as one that computes it (older artifacts)', () => {
    const model = alsFactory.fit(ds, params());
    const bytes = model.toArtifact();
    const { header, arrays } = decodeArtifact(bytes);
    expect(arrays.yty).toBeInstanceOf(Float64Array);
    const { yty: _stored, ...older } = arrays;
    const olderBytes = encodeArtifact(header, older);
    const grown = [...historyOf(ds, ds.userIds[5]), { item: 2, ts: 10 * DAY, quantity: 1, order: 'new' }];
    const contexts: UserContext[] = [
      { user: -1, history: [{ item: 2, ts: 0, quantity: 1, order: 1 }, { item: 7, ts: 0, quantity: 2, order: 1 }], attributes: {} },
      { user: 5, history: grown, attributes: {} },
    ];
    for (const ctx of contexts) expect(scores(alsFactory.fromArtifact(bytes, ds), ctx, n)).toEqual(scores(alsFactory.fromArtifact(olderBytes, ds), ctx, n));
    // A catalogue without some fitted products: the stored gramian (which counts them) is not used.
    const fewer = { itemIds: ds.itemIds.filter((_, i) => i % 3 !== 0) };
    const anonymous: UserContext = { user: -1, history: [{ item: 1, ts: 0, quantity: 1, order: 1 }], attributes: {} };
    const withStored = scores(alsFactory.fromArtifact(bytes, fewer), anonymous, fewer.itemIds.length);
    expect(withStored).toEqual(scores(alsFactory.fromArtifact(olderBytes, fewer), anonymous, fewer.itemIds.length));
    // An erasure rewrites the artifact with its gramian.
    expect(decodeArtifact(alsFactory.withoutUsers!(bytes, new Set([5]))!).arrays.yty).toEqual(arrays.yty);
    // And the stored one is the one used: a different one solves differently.
    const doubled = encodeArtifact(header, { ...older, yty: (arrays.yty as Float64Array).map((v) => 2 * v) });
    expect(scores(alsFactory.fromArtifact(doubled, ds), contexts[0], n)).not.toEqual(scores(alsFactory.fromArtifact(bytes, ds), contexts[0], n));
  });

  it('When customers are erased, Then their rows of the artifact say nothing of them and every other row is unchanged', () => {
    const model = alsFactory.fit(ds, params());
    const bytes = model.toArtifact();
    const without = alsFactory.withoutUsers!(bytes, new Set([5, 999]));
    expect(without).not.toBeNull();
    const back = alsFactory.fromArtifact(without!, ds);
    // Without a history, a row scores from its stored factor alone: the erased one's is gone.
    const stored = (user: number) => scores(back, { user, history: [], attributes: {} }, n);
    expect(stored(5).every((v) => v === 0)).toBe(true);
    expect(scores(model, { user: 5, history: [], attributes: {} }, n).some((v) => v !== 0)).toBe(true);
    for (const user of [0, 4, 6]) expect(stored(user)).toEqual(scores(model, { user, history: [], attributes: {} }, n));
    // With one, the erased row is scored as a new customer with that history.
    const history = historyOf(ds, ds.userIds[5]);
    expect(scores(back, { user: 5, history, attributes: {} }, n)).toEqual(scores(back, { user: -1, history, attributes: {} }, n));
    // Erasing them again changes nothing more.
    expect(alsFactory.withoutUsers!(without!, new Set([5]))).toBeNull();
  });

  it('When customers are erased in place, Then the patched bytes are the rewrite\'s, found from the header alone, and the erased rows hold nothing of them', async () => {
    const model = alsFactory.fit(ds, params());
    const bytes = model.toArtifact();
    const { header } = decodeArtifact(bytes);
    const headerEnd = 10 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(6, true);
    const reads: [number, number][] = [];
    const read = async (start: number, end: number) => {
      reads.push([start, end]);
      return bytes.slice(start, end);
    };
    const patches = (await alsFactory.rowPatches!(read, new Set([5, 999, -1])))!;
    // One read, the layout's (the header and the bytes after it up to LAYOUT_FIRST_READ_BYTES: one round trip to Redis),
    // and none of the customers' rows it points into.
    expect(reads).toEqual([[0, Math.max(headerEnd, LAYOUT_FIRST_READ_BYTES)]]);
    const k = (header.params as { factors: number }).factors;
    // Row 5 only (999 and -1 are no row): its k factors and its last purchase time.
    expect(patches.map((p) => p.bytes.byteLength).sort((a, b) => a - b)).toEqual([8, 4 * k].sort((a, b) => a - b));
    const patched = bytes.slice();
    for (const { offset, bytes: b } of patches) patched.set(b, offset);
    expect(Buffer.from(patched).equals(Buffer.from(alsFactory.withoutUsers!(bytes, new Set([5]))!))).toBe(true);
    const { arrays } = decodeArtifact(patched);
    expect(Array.from((arrays.userFactors as Float32Array).subarray(5 * k, 6 * k))).toEqual(new Array(k).fill(0));
    expect((arrays.userLastTs as Float64Array)[5]).toBe(Number.NEGATIVE_INFINITY);
    const original = decodeArtifact(bytes).arrays;
    expect(Array.from((original.userFactors as Float32Array).subarray(5 * k, 6 * k)).some((v) => v !== 0)).toBe(true);
    // An artifact of another family is not patched (the caller rewrites it whole), nor one that is not there.
    const other = encodeArtifact({ algorithm: 'item-knn', version: 1 }, {});
    expect(await alsFactory.rowPatches!(async (a, b) => other.slice(a, b), new Set([5]))).toBeNull();
    expect(await alsFactory.rowPatches!(async () => null, new Set([5]))).toBeNull();
  });

  it('When a loaded copy forgets customers, Then it scores everyone as the scrubbed artifact does, without loading it again', () => {
    const model = alsFactory.fit(ds, params());
    const bytes = model.toArtifact();
    const scrubbed = alsFactory.fromArtifact(alsFactory.withoutUsers!(bytes, new Set([5, 999]))!, ds);
    const loaded = alsFactory.fromArtifact(bytes, ds);
    loaded.forgetUsers!(new Set([5, 999]));
    for (const [user, u] of ds.userIndex) {
      for (const history of [[], historyOf(ds, user)]) {
        expect(scores(loaded, { user: u, history, attributes: {} }, n)).toEqual(scores(scrubbed, { user: u, history, attributes: {} }, n));
      }
    }
    expect(scores(loaded, { user: 5, history: [], attributes: {} }, n).every((v) => v === 0)).toBe(true);
    expect(decodeArtifact(loaded.toArtifact()).arrays).toEqual(decodeArtifact(scrubbed.toArtifact()).arrays);
  });

  it('Given a row with a factor but no purchase time (an imported one), When that customer is erased, Then the artifact and a loaded copy both lose the factor', () => {
    const model = alsFactory.fit(ds, params());
    const { header, arrays } = decodeArtifact(model.toArtifact());
    // What a factor import stores for a customer known by attributes only: a vector, no last purchase.
    const userLastTs = (arrays.userLastTs as Float64Array).slice();
    userLastTs[5] = Number.NEGATIVE_INFINITY;
    const imported = encodeArtifact(header, { ...arrays, userLastTs });
    const bare = { user: 5, history: [], attributes: {} };
    expect(scores(alsFactory.fromArtifact(imported, ds), bare, n).some((v) => v !== 0)).toBe(true);

    const without = alsFactory.withoutUsers!(imported, new Set([5]));
    expect(without).not.toBeNull();
    expect(scores(alsFactory.fromArtifact(without!, ds), bare, n).every((v) => v === 0)).toBe(true);
    const loaded = alsFactory.fromArtifact(imported, ds);
    loaded.forgetUsers!(new Set([5]));
    expect(scores(loaded, bare, n).every((v) => v === 0)).toBe(true);
    expect(decodeArtifact(loaded.toArtifact()).arrays).toEqual(decodeArtifact(without!).arrays);
    // Once zeroed there is nothing left to rewrite.
    expect(alsFactory.withoutUsers!(without!, new Set([5]))).toBeNull();
  });

  it('Given a catalogue product nobody bought and a customer who bought nothing, Then ALS says nothing of either', () => {
    // Without interactions a row keeps whatever the solver started it from: tiny random factors whose
    // cosine to anything is noise, and whose scores a max-normalised blend would stretch to full weight.
    const lonelyItem = { id: 'never-bought', title: '', categories: [], price: null, attributes: {}, available: true };
    const events = twoGroupEvents();
    const withStrays = buildDataset({ events, items: [lonelyItem], users: [{ id: 'bought-nothing', attributes: {} }] });
    const model = alsFactory.fit(withStrays, params());
    const lonely = withStrays.itemIndex.get('never-bought')!;
    const nobody = withStrays.userIndex.get('bought-nothing')!;
    const count = withStrays.itemIds.length;

    expect(model.similarItems!(lonely, 5)).toEqual([]);
    for (let i = 0; i < count; i++) expect(model.similarItems!(i, count).map((nb) => nb.item)).not.toContain(lonely);
    for (const [user, u] of withStrays.userIndex) {
      const out = new SparseScores(count);
      model.scoreSparse!({ user: u, history: historyOf(withStrays, user), attributes: {} }, out, count);
      const found = Array.from({ length: out.size }, (_, p) => out.item(p));
      expect(found).not.toContain(lonely);
      if (u === nobody) expect(found).toEqual([]);
    }
    expect(scores(model, { user: nobody, history: [], attributes: {} }, count).every((v) => v === 0)).toBe(true);
  });

  it('rejects invalid parameters naming the field, and fills the documented defaults', () => {
    expect(() => alsFactory.parseParams({ factors: 0 })).toThrow(/als\.factors/);
    expect(() => alsFactory.parseParams({ cgsteps: 3 })).toThrow(/als\.cgsteps/);
    expect(alsFactory.parseParams({})).toMatchObject({ factors: 64, iterations: 15, cgSteps: 3 });
  });
});

describe('ALS solver pieces', () => {
  // A 3 x 4 confidence matrix (rows = users) and random item factors with k = 3.
  const k = 3;
  const m: ConfidenceRows = {
    rows: 3,
    indptr: Int32Array.from([0, 2, 3, 5]),
    indices: Int32Array.from([0, 2, 1, 0, 3]),
    confidence: Float64Array.from([5, 2, 9, 3, 4]),
  };
  const random = mulberry32(1);
  const y = Float64Array.from({ length: 4 * k }, () => random() - 0.5);
  const reg = 0.3;

  it('conjugate gradient with k steps solves each row\'s normal equations exactly', () => {
    const x = new Float64Array(3 * k).fill(0.1);
    conjugateGradientHalfStep(m, x, y, 4, k, reg, k);
    const Y = new Matrix(Array.from({ length: 4 }, (_, i) => [...y.subarray(i * k, (i + 1) * k)]));
    for (let u = 0; u < 3; u++) {
      // A = Y^T C_u Y + reg I and b = Y^T C_u p_u, built densely over all 4 items (c = 1, p = 0 off the row).
      const c = [1, 1, 1, 1];
      const p = [0, 0, 0, 0];
      for (let q = m.indptr[u]; q < m.indptr[u + 1]; q++) [c[m.indices[q]], p[m.indices[q]]] = [m.confidence[q], 1];
      const C = Matrix.diag(c);
      const A = Y.transpose().mmul(C).mmul(Y).add(Matrix.eye(k).mul(reg));
      const b = Y.transpose().mmul(C).mmul(Matrix.columnVector(p));
      const expected = solve(A, b).getColumn(0);
      for (let a = 0; a < k; a++) expect(x[u * k + a]).toBeCloseTo(expected[a], 9);
    }
  });

  it('computes the loss the same as the definition summed over every user-item pair', () => {
    const x = Float64Array.from({ length: 3 * k }, () => random() - 0.5);
    let direct = 0;
    let mass = 0;
    for (let u = 0; u < 3; u++) {
      for (let i = 0; i < 4; i++) {
        let c = 1;
        let p = 0;
        for (let q = m.indptr[u]; q < m.indptr[u + 1]; q++) if (m.indices[q] === i) [c, p] = [m.confidence[q], 1];
        let s = 0;
        for (let a = 0; a < k; a++) s += x[u * k + a] * y[i * k + a];
        direct += c * (p - s) ** 2;
        mass += c;
      }
    }
    direct += reg * ([...x].reduce((t, v) => t + v * v, 0) + [...y].reduce((t, v) => t + v * v, 0));
    expect(alsLoss(m, x, y, 4, k, reg)).toBeCloseTo(direct / mass, 12);
  });

  it('solves a hand-checked positive definite system by Cholesky', () => {
    // [[4, 2], [2, 3]] x = [2, 5]  =>  x = [-0.5, 2]
    const x = choleskySolve([4, 2, 2, 3], [2, 5], 2);
    expect(x[0]).toBeCloseTo(-0.5, 12);
    expect(x[1]).toBeCloseTo(2, 12);
    expect(() => choleskySolve([1, 2, 2, 1], [1, 1], 2)).toThrow(/positive definite/);
  });
});
