import type { PurchaseRow } from '../recommenders/dataset.js';

/**
 * Purchases as columns: each distinct user, item and order id once, and per purchase numbers in typed
 * arrays. An evaluation and `npm run tune` collect the purchases they stream in batches so (no object per
 * purchase), an evaluation hands them to its thread by transferring the arrays' buffers instead of a
 * structured clone of millions of objects, and the splits (splits.ts), the tuning sample and the fold
 * threads read them as they are.
 */
export interface PurchaseColumns {
  length: number;
  userIds: string[];
  itemIds: string[];
  orderIds: string[];
  user: Int32Array;
  item: Int32Array;
  /** Index into orderIds; -1 for a purchase without an order id. */
  order: Int32Array;
  ts: Float64Array;
  quantity: Float64Array;
  price: Float64Array;
  /** 1 where the purchase has a price (a null price is not NaN: both must come back as they were). */
  hasPrice: Uint8Array;
}

/** Collects batches of purchase rows, in the order given, into PurchaseColumns. */
export class PurchaseColumnsBuilder {
  private n = 0;
  private capacity = 0;
  private readonly users = new Map<string, number>();
  private readonly items = new Map<string, number>();
  private readonly orders = new Map<string, number>();
  private user = new Int32Array(0);
  private item = new Int32Array(0);
  private order = new Int32Array(0);
  private ts = new Float64Array(0);
  private quantity = new Float64Array(0);
  private price = new Float64Array(0);
  private hasPrice = new Uint8Array(0);

  get length(): number {
    return this.n;
  }

  addAll(rows: readonly PurchaseRow[]): void {
    this.reserve(this.n + rows.length);
    for (const r of rows) this.add(r.userId, r.itemId, r.orderId, r.ts, r.quantity, r.price);
  }

  /** One purchase, by its fields (no row object needed). */
  add(userId: string, itemId: string, orderId: string | null, ts: number, quantity: number, price: number | null): void {
    if (this.n === this.capacity) this.reserve(this.n + 1);
    const i = this.n++;
    this.user[i] = idOf(this.users, userId);
    this.item[i] = idOf(this.items, itemId);
    this.order[i] = orderId === null ? -1 : idOf(this.orders, orderId);
    this.ts[i] = ts;
    this.quantity[i] = quantity;
    this.hasPrice[i] = price === null ? 0 : 1;
    this.price[i] = price ?? 0;
  }

  build(): PurchaseColumns {
    const n = this.n;
    return {
      length: n,
      userIds: [...this.users.keys()],
      itemIds: [...this.items.keys()],
      orderIds: [...this.orders.keys()],
      user: this.user.slice(0, n),
      item: this.item.slice(0, n),
      order: this.order.slice(0, n),
      ts: this.ts.slice(0, n),
      quantity: this.quantity.slice(0, n),
      price: this.price.slice(0, n),
      hasPrice: this.hasPrice.slice(0, n),
    };
  }

  private reserve(size: number): void {
    if (size <= this.capacity) return;
    const capacity = Math.max(size, this.capacity * 2, 1024);
    const grow = <A extends Int32Array | Float64Array | Uint8Array>(a: A, make: (n: number) => A): A => {
      const next = make(capacity);
      next.set(a.subarray(0, this.n) as never);
      return next;
    };
    this.user = grow(this.user, (c) => new Int32Array(c));
    this.item = grow(this.item, (c) => new Int32Array(c));
    this.order = grow(this.order, (c) => new Int32Array(c));
    this.ts = grow(this.ts, (c) => new Float64Array(c));
    this.quantity = grow(this.quantity, (c) => new Float64Array(c));
    this.price = grow(this.price, (c) => new Float64Array(c));
    this.hasPrice = grow(this.hasPrice, (c) => new Uint8Array(c));
    this.capacity = capacity;
  }
}

function idOf(ids: Map<string, number>, id: string): number {
  let at = ids.get(id);
  if (at === undefined) {
    at = ids.size;
    ids.set(id, at);
  }
  return at;
}

/** The columns of `events`, in their order. */
export function purchaseColumnsOf(events: Iterable<PurchaseRow>): PurchaseColumns {
  const builder = new PurchaseColumnsBuilder();
  builder.addAll(Array.isArray(events) ? (events as PurchaseRow[]) : [...events]);
  return builder.build();
}

/**
 * Reads purchases that come in batches (a cursor's: EventRepository.streamPurchaseRows) into columns, in
 * the order read: only one batch is ever held as objects. The purchases of the customers `without` (those whose
 * erasure is owed: README "Erasure") are left out, as an erased customer's are gone.
 */
export async function readPurchaseColumns(batches: AsyncIterable<readonly PurchaseRow[]>, without: ReadonlySet<string> = new Set()): Promise<PurchaseColumns> {
  const builder = new PurchaseColumnsBuilder();
  for await (const rows of batches) builder.addAll(without.size === 0 ? rows : rows.filter((r) => !without.has(r.userId)));
  return builder.build();
}

/** Purchase `i` of the columns as a row (as it was added). */
export function purchaseRowAt(c: PurchaseColumns, i: number): PurchaseRow {
  const order = c.order[i];
  return {
    userId: c.userIds[c.user[i]],
    itemId: c.itemIds[c.item[i]],
    orderId: order < 0 ? null : c.orderIds[order],
    ts: c.ts[i],
    quantity: c.quantity[i],
    price: c.hasPrice[i] ? c.price[i] : null,
  };
}

/**
 * The purchases `keep` marks (keep[i] !== 0), in their order, as columns of their own: the same columns a
 * builder given those purchases' rows would make (ids numbered in order of first appearance among them).
 */
export function selectPurchases(c: PurchaseColumns, keep: Uint8Array): PurchaseColumns {
  let n = 0;
  for (let i = 0; i < c.length; i++) if (keep[i] !== 0) n++;
  const userOf = new Int32Array(c.userIds.length).fill(-1);
  const itemOf = new Int32Array(c.itemIds.length).fill(-1);
  const orderOf = new Int32Array(c.orderIds.length).fill(-1);
  const out: PurchaseColumns = {
    length: n,
    userIds: [],
    itemIds: [],
    orderIds: [],
    user: new Int32Array(n),
    item: new Int32Array(n),
    order: new Int32Array(n),
    ts: new Float64Array(n),
    quantity: new Float64Array(n),
    price: new Float64Array(n),
    hasPrice: new Uint8Array(n),
  };
  const renumber = (map: Int32Array, ids: string[], into: string[], v: number) => (map[v] >= 0 ? map[v] : (map[v] = into.push(ids[v]) - 1));
  let k = 0;
  for (let i = 0; i < c.length; i++) {
    if (keep[i] === 0) continue;
    out.user[k] = renumber(userOf, c.userIds, out.userIds, c.user[i]);
    out.item[k] = renumber(itemOf, c.itemIds, out.itemIds, c.item[i]);
    out.order[k] = c.order[i] < 0 ? -1 : renumber(orderOf, c.orderIds, out.orderIds, c.order[i]);
    out.ts[k] = c.ts[i];
    out.quantity[k] = c.quantity[i];
    out.price[k] = c.price[i];
    out.hasPrice[k] = c.hasPrice[i];
    k++;
  }
  return out;
}

/** The rows again, in their order, as they were added. */
export function purchaseRows(c: PurchaseColumns): PurchaseRow[] {
  const rows: PurchaseRow[] = new Array(c.length);
  for (let i = 0; i < c.length; i++) rows[i] = purchaseRowAt(c, i);
  return rows;
}

/** The first and last purchase times (epoch ms); null when there are none. */
export function purchaseTimeRange(c: PurchaseColumns): { first: number; last: number } | null {
  if (c.length === 0) return null;
  let first = Infinity;
  let last = -Infinity;
  for (let i = 0; i < c.length; i++) {
    const t = c.ts[i];
    if (t < first) first = t;
    if (t > last) last = t;
  }
  return { first, last };
}

/** The buffers to transfer (not copy) with the columns to another thread. */
export function purchaseColumnBuffers(c: PurchaseColumns): ArrayBuffer[] {
  return [c.user, c.item, c.order, c.ts, c.quantity, c.price, c.hasPrice].map((a) => a.buffer as ArrayBuffer);
}
