import { DatasetBuilder, type Dataset, type ItemInfo, type PurchaseRow, type UserInfo } from '../recommenders/dataset.js';
import { userItemMatrix, type Csr } from '../recommenders/interactions.js';
import { purchaseColumnsOf, purchaseRows, type PurchaseColumns } from './purchase-columns.js';

/**
 * Train/test splits of the evaluation protocol (docs/DESIGN.md):
 * - the train Dataset indexes only items bought in train (the "train catalog") and only users with a
 *   train event;
 * - test items are those bought in the test period that are in the train catalog;
 * - mode `novel` also drops the items the user already bought in train (and the runner never
 *   recommends them); mode `all` keeps repurchases;
 * - test users: >= 1 train event and >= 1 test item left after the mode's filtering.
 */
export type EvalMode = 'novel' | 'all';

export const EVAL_MODES: readonly EvalMode[] = ['novel', 'all'];

export type SplitKind = 'temporal' | 'leave-last-order' | 'validation';

export interface EvaluationSplit {
  kind: SplitKind;
  /** Start of the test period (epoch ms) for temporal and validation splits; null for leave-last-order. */
  cutoff: number | null;
  /** End of the test period (exclusive) for validation splits; null otherwise. */
  testEnd: number | null;
  train: Dataset;
  /** Train user x item matrix (weight = distinct orders); row u = what user u bought in train. */
  trainMatrix: Csr;
  /** Distinct train orders per user index. */
  trainOrders: Int32Array;
  /** Relevant item indices per test user index, by mode; keys in ascending user index. */
  test: Record<EvalMode, Map<number, ReadonlySet<number>>>;
  /** The test period's purchase lines, and how many the protocol counts (TestPurchases). */
  testPurchases: TestPurchases;
}

/**
 * What the protocol leaves out of a test period: its purchase lines, those it counts (a customer and a product
 * that were in train), those of customers with no purchase before it, and those of known customers' products first
 * bought in it (not in the train catalog). A shop launching products every month leaves most of its demand out.
 */
export interface TestPurchases {
  total: number;
  counted: number;
  newCustomers: number;
  newItems: number;
}

/** What a split needs besides the purchases: the catalog and the users. */
export interface SplitCatalog {
  /** Catalog data, passed through to the train Dataset (only items bought in train are indexed). */
  items?: Iterable<ItemInfo>;
  /** User attributes, passed through for the users that have train events. */
  users?: Iterable<UserInfo>;
}

/**
 * The purchases to split, as rows (`events`) or as columns (`purchases`, PurchaseColumns: what an evaluation
 * and `npm run tune` read in batches, and what a thread is handed). Either gives the same split: rows are
 * made columns first, and the split reads the columns without making an object per purchase.
 */
export type SplitInput = RowSplitInput | (SplitCatalog & { purchases: PurchaseColumns; events?: undefined });

/** A split's input with its purchases as rows. */
export type RowSplitInput = SplitCatalog & { events: Iterable<PurchaseRow>; purchases?: undefined };

/** The input's purchases as columns (made from its rows when it has rows). */
export function purchasesOf(input: SplitInput): PurchaseColumns {
  return input.purchases ?? purchaseColumnsOf(input.events);
}

/** The same input with its purchases as columns, so several splits of it read one copy. */
export function columnarInput(input: SplitInput): SplitInput {
  return input.purchases ? input : { ...catalogOf(input), purchases: purchaseColumnsOf(input.events) };
}

/** The input's catalog and users, without its purchases. */
export function catalogOf(input: SplitCatalog): SplitCatalog {
  return { ...(input.items ? { items: input.items } : {}), ...(input.users ? { users: input.users } : {}) };
}

/** The input's purchases as rows, in their order (for tests and callers that want objects). */
export function inputRows(input: SplitInput): PurchaseRow[] {
  return input.purchases ? purchaseRows(input.purchases) : [...input.events];
}

const DAY_MS = 86_400_000;

/** Which side of a split each purchase is on: left out (0), train or test. */
const TRAIN = 1;
const TEST = 2;

/** Temporal split: train = ts < cutoff, test = ts >= cutoff. Decay/recency reference time = cutoff. */
export function temporalSplit(input: SplitInput, cutoff: number): EvaluationSplit {
  const c = purchasesOf(input);
  const side = new Uint8Array(c.length);
  for (let i = 0; i < c.length; i++) side[i] = c.ts[i] < cutoff ? TRAIN : TEST;
  return assembleSplit('temporal', input, c, side, { cutoff, testEnd: null, now: cutoff });
}

/**
 * Validation split inside a training period ending at `end` (exclusive, typically the real cutoff):
 * the last `days` days [end - days, end) are the test period, the events before them are train;
 * events at or after `end` are ignored, so tuning never sees the real test period.
 */
export function validationSplit(input: SplitInput, options: { end: number; days: number }): EvaluationSplit {
  const start = options.end - options.days * DAY_MS;
  const c = purchasesOf(input);
  const side = new Uint8Array(c.length);
  for (let i = 0; i < c.length; i++) {
    const ts = c.ts[i];
    if (ts < start) side[i] = TRAIN;
    else if (ts < options.end) side[i] = TEST;
  }
  return assembleSplit('validation', input, c, side, { cutoff: start, testEnd: options.end, now: start });
}

/**
 * Leave-last-order-out: for every user with >= 2 orders, the last order is test and the rest train;
 * users with one order stay wholly in train. An order is the order id, or (user, ts) when it has none,
 * as in buildDataset. The last order is the one with the latest event; ties go to the larger order key
 * (`o:ID`, or `t:TS` for a purchase without an order id, compared as strings).
 */
export function leaveLastOrderSplit(input: SplitInput): EvaluationSplit {
  const c = purchasesOf(input);
  // Each order id's key made once, not once per purchase.
  const orderKeys: (string | undefined)[] = new Array(c.orderIds.length);
  const orderKey = (i: number) => {
    const o = c.order[i];
    return o >= 0 ? (orderKeys[o] ??= `o:${c.orderIds[o]}`) : `t:${c.ts[i]}`;
  };
  // Per user (column index): every order's latest ts, to find the last order.
  const orders: (Map<string, number> | undefined)[] = new Array(c.userIds.length);
  for (let i = 0; i < c.length; i++) {
    const byOrder = orders[c.user[i]] ?? (orders[c.user[i]] = new Map<string, number>());
    const key = orderKey(i);
    byOrder.set(key, Math.max(byOrder.get(key) ?? -Infinity, c.ts[i]));
  }
  const lastOrder: (string | undefined)[] = new Array(c.userIds.length);
  orders.forEach((byOrder, user) => {
    if (!byOrder || byOrder.size < 2) return;
    let best: string | null = null;
    let bestTs = -Infinity;
    for (const [key, ts] of byOrder) {
      if (ts > bestTs || (ts === bestTs && best !== null && key > best)) {
        best = key;
        bestTs = ts;
      }
    }
    lastOrder[user] = best as string;
  });
  const side = new Uint8Array(c.length);
  for (let i = 0; i < c.length; i++) side[i] = lastOrder[c.user[i]] === orderKey(i) ? TEST : TRAIN;
  return assembleSplit('leave-last-order', input, c, side, { cutoff: null, testEnd: null });
}

/**
 * The split of the purchases marked TRAIN and TEST in `side`: the train Dataset is exactly buildDataset's
 * over the train purchases' rows in their order, without making those rows.
 */
function assembleSplit(
  kind: SplitKind,
  input: SplitCatalog,
  c: PurchaseColumns,
  side: Uint8Array,
  opts: { cutoff: number | null; testEnd: number | null; now?: number },
): EvaluationSplit {
  const inTrain = new Uint8Array(c.userIds.length);
  const builder = new DatasetBuilder();
  let testTotal = 0;
  for (let i = 0; i < c.length; i++) {
    if (side[i] === TEST) testTotal++;
    if (side[i] !== TRAIN) continue;
    const u = c.user[i];
    inTrain[u] = 1;
    const o = c.order[i];
    builder.addPurchase(c.userIds[u], c.itemIds[c.item[i]], o < 0 ? null : c.orderIds[o], c.ts[i], c.quantity[i], c.hasPrice[i] ? c.price[i] : null);
  }
  const trainUserIds = new Set<string>();
  inTrain.forEach((has, u) => has && trainUserIds.add(c.userIds[u]));
  const users = input.users ? [...input.users].filter((u) => trainUserIds.has(u.id)) : undefined;
  const train = builder.build({ items: input.items, users, onlyInteractedItems: true, now: opts.now });
  const trainMatrix = userItemMatrix(train);

  const trainOrders = new Int32Array(train.userIds.length);
  const seenOrders = new Set<number>();
  for (let e = 0; e < train.eventOrder.length; e++) {
    const o = train.eventOrder[e];
    if (!seenOrders.has(o)) {
      seenOrders.add(o);
      trainOrders[train.eventUser[e]]++;
    }
  }

  // The train user and item index of each column id (-1: not in train), looked up once per id.
  const trainUser = Int32Array.from(c.userIds, (id) => train.userIndex.get(id) ?? -1);
  const trainItem = Int32Array.from(c.itemIds, (id) => train.itemIndex.get(id) ?? -1);
  // Test items in the train catalog, per train user; "novel" drops what the user bought in train.
  const all: Set<number>[] = [];
  const novel: Set<number>[] = [];
  const testPurchases: TestPurchases = { total: testTotal, counted: 0, newCustomers: 0, newItems: 0 };
  for (let e = 0; e < c.length; e++) {
    if (side[e] !== TEST) continue;
    const u = trainUser[c.user[e]];
    const i = trainItem[c.item[e]];
    if (u < 0) testPurchases.newCustomers++;
    else if (i < 0) testPurchases.newItems++;
    if (u < 0 || i < 0) continue;
    testPurchases.counted++;
    (all[u] ??= new Set()).add(i);
    if (!rowContains(trainMatrix, u, i)) (novel[u] ??= new Set()).add(i);
  }
  return {
    kind,
    cutoff: opts.cutoff,
    testEnd: opts.testEnd,
    train,
    trainMatrix,
    trainOrders,
    test: { novel: denseToMap(novel), all: denseToMap(all) },
    testPurchases,
  };
}

/** Whether row u of a CSR matrix (indices sorted ascending) holds column i: binary search. */
export function rowContains(m: Csr, u: number, i: number): boolean {
  let lo = m.indptr[u];
  let hi = m.indptr[u + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = m.indices[mid];
    if (v === i) return true;
    if (v < i) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function denseToMap(sets: Set<number>[]): Map<number, ReadonlySet<number>> {
  const out = new Map<number, ReadonlySet<number>>();
  sets.forEach((s, u) => {
    if (s && s.size > 0) out.set(u, s);
  });
  return out;
}
