/**
 * The training dataset every recommender fits on: dense integer indices for users, items and orders,
 * and one row per purchase event in typed arrays, sorted by time. Built once per training or evaluation
 * split; recommenders never see ids or IO.
 */
export interface ItemInfo {
  id: string;
  title: string;
  description?: string | null;
  categories: string[];
  price: number | null;
  attributes: Record<string, unknown>;
  available: boolean;
  /** The product group (style) of a size or colour variant; null or absent: a group of its own. */
  itemGroupId?: string | null;
}

export interface UserInfo {
  id: string;
  attributes: Record<string, unknown>;
}

export interface PurchaseRow {
  userId: string;
  itemId: string;
  /** Basket id; events without one are treated as their own order per (user, timestamp). */
  orderId: string | null;
  /** Epoch milliseconds. */
  ts: number;
  quantity: number;
  price: number | null;
}

/**
 * A non-purchase event (view, add-to-cart, rating) as training weighs it: `weight` is what it adds to
 * the (user, item) pair, in units of one order (the recipe's eventWeights, applied by the loader).
 */
export interface SignalRow {
  userId: string;
  itemId: string;
  /** Epoch milliseconds. */
  ts: number;
  weight: number;
}

/**
 * Views, add-to-carts and ratings in columns (20 bytes each), in arrival order. Only item-kNN, ALS and
 * co-occurrence read them; buy-again, popularity, profiles and evaluation's test sets are purchases.
 */
export interface Signals {
  user: Int32Array;
  item: Int32Array;
  ts: Float64Array;
  weight: Float32Array;
}

export interface Dataset {
  userIds: string[];
  itemIds: string[];
  userIndex: Map<string, number>;
  itemIndex: Map<string, number>;
  /** Catalog data by item index; items seen only in events get an empty title. */
  items: ItemInfo[];
  /** User attributes by user index (string values only; others are dropped). */
  userAttributes: Record<string, string>[];
  /** Purchase events sorted by ts (ascending). */
  eventUser: Int32Array;
  eventItem: Int32Array;
  eventOrder: Int32Array;
  eventTs: Float64Array;
  eventQuantity: Float32Array;
  /**
   * Unit price, NaN when unknown. 64-bit, as Postgres stores it: profiles count spend as quantity x price
   * to the cent, which a 32-bit price (7 digits: 250,000.01 is 250,000.015625) cannot give.
   */
  eventPrice: Float64Array;
  orderCount: number;
  /** Non-purchase events, weighted; absent (or empty) in a purchase-only dataset. */
  signals?: Signals;
  /** Reference time for decay and recency: the latest event's ts (or the value passed in). */
  now: number;
}

export interface BuildDatasetInput {
  events: Iterable<PurchaseRow>;
  items?: Iterable<ItemInfo>;
  users?: Iterable<UserInfo>;
  /** When true, only items that occur in events are indexed (evaluation's "train catalog"). */
  onlyInteractedItems?: boolean;
  /**
   * When true, the event and signal columns live on SharedArrayBuffers: worker threads given the
   * dataset read the same memory instead of each holding a copy (a training's serving build at 16x:
   * 227 MB a copy with 32-bit prices; 64-bit ones add 4 bytes a purchase, 25 MB at 16x).
   */
  shared?: boolean;
  now?: number;
}

function stringAttributes(attrs: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs ?? {})) if (typeof v === 'string' && v !== '') out[k] = v;
  return out;
}

type ColumnType = Int32Array | Float32Array | Float64Array;
type ColumnConstructor<T extends ColumnType> = { new (n: number): T; new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };
type ColumnAllocator = <T extends ColumnType>(Ctor: ColumnConstructor<T>, n: number) => T;

/** Makes a column of n values, on a SharedArrayBuffer when `shared`. */
function columnAllocator(shared: boolean): ColumnAllocator {
  return (Ctor, n) => (shared ? new Ctor(new SharedArrayBuffer(n * Ctor.BYTES_PER_ELEMENT)) : new Ctor(n));
}

/** Rows per chunk of the builder's columns: they grow by whole chunks, never by copying. */
const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;

/** The builder's columns, each a list of chunks, so each can be released as soon as it is copied out. */
interface Columns {
  user: Int32Array[];
  item: Int32Array[];
  order: Int32Array[];
  ts: Float64Array[];
  quantity: Float32Array[];
  price: Float64Array[];
}

/** What the dataset needs besides the purchases: the catalog and the users, as buildDataset takes them. */
export type DatasetCatalog = Omit<BuildDatasetInput, 'events'>;

/**
 * Collects purchases one by one into typed columns (32 bytes a purchase; user, item and order ids
 * interned), so a caller streaming them from the database never holds them as objects, then builds the
 * Dataset. The result is exactly buildDataset's over the same rows in the same order: events sorted by
 * time (ties in arrival order), users, items and orders numbered in order of first appearance in that
 * sorted sequence (catalog items first unless onlyInteractedItems), users known only from `users` last.
 */
export class DatasetBuilder {
  private readonly cols: Columns = { user: [], item: [], order: [], ts: [], quantity: [], price: [] };
  private n = 0;
  private readonly sig: { user: Int32Array[]; item: Int32Array[]; ts: Float64Array[]; weight: Float32Array[] } = { user: [], item: [], ts: [], weight: [] };
  private ns = 0;
  // Provisional numbering, in arrival order; build() renumbers in time order.
  private readonly userIds: string[] = [];
  private readonly userIndex = new Map<string, number>();
  private readonly itemIds: string[] = [];
  private readonly itemIndex = new Map<string, number>();
  private readonly orderIndex = new Map<string, number>();
  private readonly last: { userId: string | null; orderId: string | null; u: number; o: number } = { userId: null, orderId: null, u: -1, o: -1 };
  private sorted = true;
  private lastTs = -Infinity;
  private built = false;

  /** Purchases added so far. */
  get size(): number {
    return this.n;
  }

  add(row: PurchaseRow): void {
    this.addPurchase(row.userId, row.itemId, row.orderId, row.ts, row.quantity, row.price);
  }

  /** One purchase by its fields, as add() takes it from a row (for callers that hold purchases in columns, not rows). */
  addPurchase(userId: string, itemId: string, orderId: string | null, ts: number, quantity: number, price: number | null): void {
    if (this.built) throw new Error('DatasetBuilder: add after build');
    const cols = this.cols;
    const at = this.n & CHUNK_MASK;
    if (at === 0) {
      cols.user.push(new Int32Array(CHUNK));
      cols.item.push(new Int32Array(CHUNK));
      cols.order.push(new Int32Array(CHUNK));
      cols.ts.push(new Float64Array(CHUNK));
      cols.quantity.push(new Float32Array(CHUNK));
      cols.price.push(new Float64Array(CHUNK));
    }
    const c = this.n >>> CHUNK_BITS;
    const last = this.last;
    // Rows of one order mostly arrive together: the same user and order as the row before skip both lookups.
    const same = last.userId === userId;
    let u = same ? last.u : this.userIndex.get(userId);
    if (u === undefined) this.userIndex.set(userId, (u = this.userIds.push(userId) - 1));
    let i = this.itemIndex.get(itemId);
    if (i === undefined) this.itemIndex.set(itemId, (i = this.itemIds.push(itemId) - 1));
    let o: number | undefined;
    if (same && orderId !== null && last.orderId === orderId) o = last.o;
    else {
      // Orders are per user: the same order id from two users (bad data) stays two baskets.
      const orderKey = orderId !== null ? `${userId}\u0000${orderId}` : `${userId}\u0000@${ts}`;
      o = this.orderIndex.get(orderKey);
      if (o === undefined) this.orderIndex.set(orderKey, (o = this.orderIndex.size));
    }
    last.userId = userId;
    last.orderId = orderId;
    last.u = u;
    last.o = o;
    cols.user[c][at] = u;
    cols.item[c][at] = i;
    cols.order[c][at] = o;
    cols.ts[c][at] = ts;
    cols.quantity[c][at] = quantity;
    cols.price[c][at] = price ?? Number.NaN;
    // NaN compares false both ways: a NaN time makes the rows "unsorted" and takes the exact fallback below.
    if (!(ts >= this.lastTs)) this.sorted = false;
    else this.lastTs = ts;
    this.n++;
  }

  addAll(rows: Iterable<PurchaseRow>): void {
    for (const row of rows) this.add(row);
  }

  /**
   * Adds a weighted non-purchase event (rows of weight <= 0 are skipped). Signals never change how
   * purchases, users and items are numbered: users seen only in signals are numbered after every other
   * user, and with onlyInteractedItems a signal on an item nobody bought is dropped.
   */
  addSignal(row: SignalRow): void {
    if (this.built) throw new Error('DatasetBuilder: add after build');
    if (!(row.weight > 0)) return;
    const sig = this.sig;
    const at = this.ns & CHUNK_MASK;
    if (at === 0) {
      sig.user.push(new Int32Array(CHUNK));
      sig.item.push(new Int32Array(CHUNK));
      sig.ts.push(new Float64Array(CHUNK));
      sig.weight.push(new Float32Array(CHUNK));
    }
    const c = this.ns >>> CHUNK_BITS;
    let u = this.userIndex.get(row.userId);
    if (u === undefined) this.userIndex.set(row.userId, (u = this.userIds.push(row.userId) - 1));
    let i = this.itemIndex.get(row.itemId);
    if (i === undefined) this.itemIndex.set(row.itemId, (i = this.itemIds.push(row.itemId) - 1));
    sig.user[c][at] = u;
    sig.item[c][at] = i;
    sig.ts[c][at] = row.ts;
    sig.weight[c][at] = row.weight;
    this.ns++;
  }

  /** The signals in final numbering (see addSignal); their chunks are released. */
  private signals(userOf: (provisional: number) => number, itemOf: (provisional: number) => number, alloc: ColumnAllocator): Signals | undefined {
    if (this.ns === 0) return undefined;
    const sig = this.sig;
    const out: Signals = { user: new Int32Array(this.ns), item: new Int32Array(this.ns), ts: new Float64Array(this.ns), weight: new Float32Array(this.ns) };
    let k = 0;
    for (let e = 0; e < this.ns; e++) {
      const c = e >>> CHUNK_BITS;
      const at = e & CHUNK_MASK;
      const item = itemOf(sig.item[c][at]);
      if (item < 0) continue;
      out.user[k] = userOf(sig.user[c][at]);
      out.item[k] = item;
      out.ts[k] = sig.ts[c][at];
      out.weight[k] = sig.weight[c][at];
      k++;
    }
    sig.user.length = sig.item.length = sig.ts.length = sig.weight.length = 0;
    if (k === 0) return undefined;
    const first = <T extends ColumnType>(a: T, Ctor: ColumnConstructor<T>) => {
      const column = alloc(Ctor, k);
      column.set(a.subarray(0, k) as never);
      return column;
    };
    return { user: first(out.user, Int32Array), item: first(out.item, Int32Array), ts: first(out.ts, Float64Array), weight: first(out.weight, Float32Array) };
  }

  /** Every event's time, in arrival order. */
  private times(): Float64Array {
    const ts = new Float64Array(this.n);
    const chunks = this.cols.ts;
    for (let c = 0; c < chunks.length; c++) {
      const from = c << CHUNK_BITS;
      ts.set(chunks[c].subarray(0, Math.min(CHUNK, this.n - from)), from);
    }
    return ts;
  }

  /**
   * Arrival positions in time order, stable (ties keep arrival order), or null when the rows arrived
   * sorted. A counting sort over the distinct times; with a NaN time (no order is consistent) the same
   * comparison sort as before, so the result is still buildDataset's.
   */
  private timeOrder(): Uint32Array | null {
    if (this.sorted) return null;
    const n = this.n;
    const ts = this.times();
    const distinct = ts.slice().sort();
    let k = 0;
    for (let j = 0; j < n; j++) if (j === 0 || distinct[j] !== distinct[k - 1]) distinct[k++] = distinct[j];
    if (Number.isNaN(distinct[k - 1])) {
      const order = Array.from({ length: n }, (_, e) => e).sort((a, b) => ts[a] - ts[b]);
      return Uint32Array.from(order);
    }
    const rank = new Int32Array(n);
    const start = new Int32Array(k + 1);
    for (let e = 0; e < n; e++) {
      let lo = 0;
      let hi = k - 1;
      const t = ts[e];
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (distinct[mid] < t) lo = mid + 1;
        else hi = mid;
      }
      rank[e] = lo;
      start[lo + 1]++;
    }
    for (let r = 0; r < k; r++) start[r + 1] += start[r];
    const order = new Uint32Array(n);
    for (let e = 0; e < n; e++) order[start[rank[e]]++] = e;
    return order;
  }

  /**
   * One column in time order, its chunks released; `map` renumbers values (provisional -> final ids).
   */
  private column<K extends keyof Columns>(name: K, out: Columns[K][number], order: Uint32Array | null, map?: (v: number) => number): Columns[K][number] {
    const n = this.n;
    const chunks: ArrayLike<number>[] = this.cols[name];
    for (let e = 0; e < n; e++) {
      const p = order ? order[e] : e;
      const v = chunks[p >>> CHUNK_BITS][p & CHUNK_MASK];
      out[e] = map ? map(v) : v;
    }
    this.cols[name].length = 0;
    return out;
  }

  /** The Dataset of the rows added; the builder cannot be used afterwards (its columns are released). */
  build(catalogInput: DatasetCatalog = {}): Dataset {
    if (this.built) throw new Error('DatasetBuilder: build called twice');
    this.built = true;
    const n = this.n;
    const catalog = new Map<string, ItemInfo>();
    for (const item of catalogInput.items ?? []) catalog.set(item.id, item);
    const userInfo = new Map<string, UserInfo>();
    for (const user of catalogInput.users ?? []) userInfo.set(user.id, user);

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
    if (!catalogInput.onlyInteractedItems) for (const id of catalog.keys()) addItem(id);

    const order = this.timeOrder();
    // Final numbers by first appearance in time order, from the provisional ones (-1: not seen yet).
    const finalUser = new Int32Array(this.userIds.length).fill(-1);
    const finalItem = new Int32Array(this.itemIds.length).fill(-1);
    const finalOrder = new Int32Array(this.orderIndex.size).fill(-1);
    let orders = 0;
    const alloc = columnAllocator(catalogInput.shared === true);
    const eventUser = this.column('user', alloc(Int32Array, n), order, (u) => (finalUser[u] >= 0 ? finalUser[u] : (finalUser[u] = addUser(this.userIds[u]))));
    // Users, items and orders are numbered in one pass in buildDataset; separate passes give the same
    // numbers because each numbering depends on its own column only.
    const eventItem = this.column('item', alloc(Int32Array, n), order, (i) => (finalItem[i] >= 0 ? finalItem[i] : (finalItem[i] = addItem(this.itemIds[i]))));
    const eventOrder = this.column('order', alloc(Int32Array, n), order, (o) => (finalOrder[o] >= 0 ? finalOrder[o] : (finalOrder[o] = orders++)));
    const eventTs = this.column('ts', alloc(Float64Array, n), order) as Float64Array;
    const eventQuantity = this.column('quantity', alloc(Float32Array, n), order) as Float32Array;
    const eventPrice = this.column('price', alloc(Float64Array, n), order) as Float64Array;
    this.orderIndex.clear();
    // Customers without events are kept for their attributes (a cold start by country, a segment). One
    // without either is only an id events once named (a storefront's anonymous visitor, whose feedback
    // creates the row): nothing to learn or serve from, and there may be millions of them.
    for (const [id, info] of userInfo) if (Object.keys(info.attributes ?? {}).length > 0) addUser(id);
    const signals = this.signals(
      (u) => (finalUser[u] >= 0 ? finalUser[u] : (finalUser[u] = addUser(this.userIds[u]))),
      (i) => {
        if (finalItem[i] >= 0) return finalItem[i];
        if (catalogInput.onlyInteractedItems) return -1;
        return (finalItem[i] = addItem(this.itemIds[i]));
      },
      alloc,
    );

    const items = itemIds.map(
      (id) => catalog.get(id) ?? { id, title: '', description: null, categories: [], price: null, attributes: {}, available: true },
    );
    const userAttributes = userIds.map((id) => stringAttributes(userInfo.get(id)?.attributes));
    return {
      userIds,
      itemIds,
      userIndex,
      itemIndex,
      items,
      userAttributes,
      eventUser,
      eventItem,
      eventOrder,
      eventTs,
      eventQuantity,
      eventPrice,
      orderCount: orders,
      ...(signals ? { signals } : {}),
      now: catalogInput.now ?? (n > 0 ? eventTs[n - 1] : Date.now()),
    };
  }
}

/** The dataset of purchase rows (any order) and the catalog: see DatasetBuilder for what it holds. */
export function buildDataset(input: BuildDatasetInput): Dataset {
  const builder = new DatasetBuilder();
  builder.addAll(input.events);
  return builder.build(input);
}

/**
 * The purchases of a dataset as rows again (ids, one order key per basket): for steps that split the
 * data themselves, such as tuning inside a training, which streams its purchases into a dataset.
 */
export function purchaseRowsOf(ds: Dataset): PurchaseRow[] {
  const rows: PurchaseRow[] = new Array(ds.eventUser.length);
  for (let e = 0; e < rows.length; e++) rows[e] = purchaseRowOf(ds, e);
  return rows;
}

/** Purchase `e` of a dataset as a row (see purchaseRowsOf). */
export function purchaseRowOf(ds: Dataset, e: number): PurchaseRow {
  const price = ds.eventPrice[e];
  return {
    userId: ds.userIds[ds.eventUser[e]],
    itemId: ds.itemIds[ds.eventItem[e]],
    orderId: `o${ds.eventOrder[e]}`,
    ts: ds.eventTs[e],
    quantity: ds.eventQuantity[e],
    price: Number.isNaN(price) ? null : price,
  };
}
