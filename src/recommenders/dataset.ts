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
  /** Unit price, NaN when unknown. */
  eventPrice: Float32Array;
  orderCount: number;
  /** Reference time for decay and recency: the latest event's ts (or the value passed in). */
  now: number;
}

export interface BuildDatasetInput {
  events: Iterable<PurchaseRow>;
  items?: Iterable<ItemInfo>;
  users?: Iterable<UserInfo>;
  /** When true, only items that occur in events are indexed (evaluation's "train catalog"). */
  onlyInteractedItems?: boolean;
  now?: number;
}

function stringAttributes(attrs: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs ?? {})) if (typeof v === 'string' && v !== '') out[k] = v;
  return out;
}

export function buildDataset(input: BuildDatasetInput): Dataset {
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
  const eventPrice = new Float32Array(n);
  const orderIndex = new Map<string, number>();
  for (let e = 0; e < n; e++) {
    const row = events[e];
    eventUser[e] = addUser(row.userId);
    eventItem[e] = addItem(row.itemId);
    // Orders are per user: the same order id from two users (bad data) stays two baskets.
    const orderKey = row.orderId !== null ? `${row.userId}\u0000${row.orderId}` : `${row.userId}\u0000@${row.ts}`;
    let o = orderIndex.get(orderKey);
    if (o === undefined) orderIndex.set(orderKey, (o = orderIndex.size));
    eventOrder[e] = o;
    eventTs[e] = row.ts;
    eventQuantity[e] = row.quantity;
    eventPrice[e] = row.price ?? Number.NaN;
  }
  for (const id of userInfo.keys()) addUser(id);

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
    orderCount: orderIndex.size,
    now: input.now ?? (n > 0 ? eventTs[n - 1] : Date.now()),
  };
}
