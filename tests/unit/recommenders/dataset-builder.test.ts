import { describe, expect, it } from 'vitest';
import { buildDataset, DatasetBuilder, type BuildDatasetInput, type Dataset, type ItemInfo, type PurchaseRow, type UserInfo } from '../../../src/recommenders/dataset.js';

/** buildDataset as it was before the builder (rows as objects, sorted with Array.prototype.sort): the reference. */
function referenceBuildDataset(input: BuildDatasetInput): Dataset {
  const events = [...input.events].sort((a, b) => a.ts - b.ts);
  const catalog = new Map<string, ItemInfo>();
  for (const item of input.items ?? []) catalog.set(item.id, item);
  const userInfo = new Map<string, UserInfo>();
  for (const user of input.users ?? []) userInfo.set(user.id, user);
  const userIds: string[] = [];
  const itemIds: string[] = [];
  const userIndex = new Map<string, number>();
  const itemIndex = new Map<string, number>();
  const addUser = (id: string) => {
    let u = userIndex.get(id);
    if (u === undefined) userIndex.set(id, (u = userIds.push(id) - 1));
    return u;
  };
  const addItem = (id: string) => {
    let i = itemIndex.get(id);
    if (i === undefined) itemIndex.set(id, (i = itemIds.push(id) - 1));
    return i;
  };
  if (!input.onlyInteractedItems) for (const id of catalog.keys()) addItem(id);
  const n = events.length;
  const eventUser = new Int32Array(n);
  const eventItem = new Int32Array(n);
  const eventOrder = new Int32Array(n);
  const eventTs = new Float64Array(n);
  const eventQuantity = new Float32Array(n);
  const eventPrice = new Float64Array(n);
  const orderIndex = new Map<string, number>();
  for (let e = 0; e < n; e++) {
    const row = events[e];
    eventUser[e] = addUser(row.userId);
    eventItem[e] = addItem(row.itemId);
    const orderKey = row.orderId !== null ? `${row.userId}\u0000${row.orderId}` : `${row.userId}\u0000@${row.ts}`;
    let o = orderIndex.get(orderKey);
    if (o === undefined) orderIndex.set(orderKey, (o = orderIndex.size));
    eventOrder[e] = o;
    eventTs[e] = row.ts;
    eventQuantity[e] = row.quantity;
    eventPrice[e] = row.price ?? Number.NaN;
  }
  for (const id of userInfo.keys()) addUser(id);
  const items = itemIds.map((id) => catalog.get(id) ?? { id, title: '', description: null, categories: [], price: null, attributes: {}, available: true });
  const userAttributes = userIds.map((id) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(userInfo.get(id)?.attributes ?? {})) if (typeof v === 'string' && v !== '') out[k] = v;
    return out;
  });
  return {
    userIds, itemIds, userIndex, itemIndex, items, userAttributes, eventUser, eventItem, eventOrder, eventTs, eventQuantity, eventPrice,
    orderCount: orderIndex.size,
    now: input.now ?? (n > 0 ? eventTs[n - 1] : Date.now()),
  };
}

function random(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x80000000;
  };
}

/** Rows with many ties in time, null orders and prices, ids reused across users, in the given order. */
function rows(n: number, seed: number, opts: { sorted?: boolean; nanEvery?: number } = {}): PurchaseRow[] {
  const r = random(seed);
  const out: PurchaseRow[] = [];
  for (let e = 0; e < n; e++) {
    const ts = 1_300_000_000_000 + Math.floor(r() * 50) * 60_000;
    out.push({
      userId: `u${Math.floor(r() * 40)}`,
      itemId: `i${Math.floor(r() * 30)}`,
      orderId: r() < 0.2 ? null : `o${Math.floor(r() * 60)}`,
      ts: opts.nanEvery && e % opts.nanEvery === 3 ? Number.NaN : ts,
      quantity: 1 + Math.floor(r() * 5),
      price: r() < 0.1 ? null : Math.round(r() * 1000) / 100,
    });
  }
  if (opts.sorted) out.sort((a, b) => a.ts - b.ts);
  return out;
}

const catalogOf = (): Pick<BuildDatasetInput, 'items' | 'users'> => ({
  items: [35, 3, 0, 31].map((i) => ({ id: `i${i}`, title: `item ${i}`, categories: ['c'], price: i, attributes: {}, available: true })),
  users: [41, 7, 2].map((u) => ({ id: `u${u}`, attributes: { country: u % 2 ? 'France' : 'Norway', n: 3 } })),
});

/** Equal datasets; typed arrays compared byte for byte (same type, same bits: NaN prices included), which is fast. */
function expectSame(actual: Dataset, expected: Dataset): void {
  const split = (ds: Dataset) => {
    const arrays: Record<string, ArrayBufferView> = {};
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(ds)) if (ArrayBuffer.isView(v)) arrays[k] = v;
    else rest[k] = v;
    return { arrays, rest };
  };
  const a = split(actual);
  const e = split(expected);
  expect(a.rest).toEqual(e.rest);
  expect(Object.keys(a.arrays).sort()).toEqual(Object.keys(e.arrays).sort());
  for (const [k, v] of Object.entries(e.arrays)) {
    const got = a.arrays[k];
    expect(got.constructor, k).toBe(v.constructor);
    expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(v.buffer, v.byteOffset, v.byteLength)), k).toBe(true);
  }
}

describe('DatasetBuilder', () => {
  const cases: [string, PurchaseRow[]][] = [
    ['unsorted rows with ties', rows(3000, 1)],
    ['rows already in time order', rows(3000, 2, { sorted: true })],
    ['more rows than two chunks (65,536 each)', rows(150_000, 3)],
    ['rows with a NaN time', rows(500, 4, { nanEvery: 50 })],
    ['no rows', []],
  ];
  for (const [name, events] of cases) {
    for (const onlyInteractedItems of [false, true]) {
      it(`builds exactly what buildDataset built from row objects: ${name}${onlyInteractedItems ? ', only interacted items' : ''}`, () => {
        const catalog = catalogOf();
        const expected = referenceBuildDataset({ events, ...catalog, onlyInteractedItems, now: events.length ? undefined : 42 });
        const builder = new DatasetBuilder();
        // Rows arrive in batches, as from a cursor.
        for (let from = 0; from < events.length; from += 777) builder.addAll(events.slice(from, from + 777));
        expect(builder.size).toBe(events.length);
        expectSame(builder.build({ ...catalog, onlyInteractedItems, now: events.length ? undefined : 42 }), expected);
        expectSame(buildDataset({ events, ...catalog, onlyInteractedItems, now: events.length ? undefined : 42 }), expected);
      });
    }
  }

  it('When a customer has no purchase, Then they are in the dataset for their attributes only: an id alone (an anonymous visitor named by feedback) is not', () => {
    const events: PurchaseRow[] = [{ userId: 'buyer', itemId: 'i1', quantity: 1, price: null, orderId: 'o1', ts: 1000 }];
    const users: UserInfo[] = [
      { id: 'buyer', attributes: {} },
      { id: 'registered', attributes: { country: 'France' } },
      { id: 'visitor-7f3a', attributes: {} },
    ];
    const ds = buildDataset({ events, items: [{ id: 'i1', title: 'mug', categories: [], price: 1, attributes: {}, available: true }], users });
    expect([...ds.userIds].sort()).toEqual(['buyer', 'registered']);
    expect(ds.userAttributes[ds.userIndex.get('registered')!]).toEqual({ country: 'France' });
  });

  it('refuses rows after build, and a second build', () => {
    const builder = new DatasetBuilder();
    builder.addAll(rows(10, 5));
    builder.build();
    expect(() => builder.add(rows(1, 6)[0])).toThrow(/after build/);
    expect(() => builder.build()).toThrow(/twice/);
  });
});
