import { buildDataset, type Dataset, type ItemInfo, type PurchaseRow, type UserInfo } from '../recommenders/dataset.js';
import { userItemMatrix, type Csr } from '../recommenders/interactions.js';

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

export interface SplitInput {
  events: Iterable<PurchaseRow>;
  /** Catalog data, passed through to the train Dataset (only items bought in train are indexed). */
  items?: Iterable<ItemInfo>;
  /** User attributes, passed through for the users that have train events. */
  users?: Iterable<UserInfo>;
}

const DAY_MS = 86_400_000;

/** Temporal split: train = ts < cutoff, test = ts >= cutoff. Decay/recency reference time = cutoff. */
export function temporalSplit(input: SplitInput, cutoff: number): EvaluationSplit {
  const train: PurchaseRow[] = [];
  const test: PurchaseRow[] = [];
  for (const row of input.events) (row.ts < cutoff ? train : test).push(row);
  return assembleSplit('temporal', input, train, test, { cutoff, testEnd: null, now: cutoff });
}

/**
 * Validation split inside a training period ending at `end` (exclusive, typically the real cutoff):
 * the last `days` days [end - days, end) are the test period, the events before them are train;
 * events at or after `end` are ignored, so tuning never sees the real test period.
 */
export function validationSplit(input: SplitInput, options: { end: number; days: number }): EvaluationSplit {
  const start = options.end - options.days * DAY_MS;
  const train: PurchaseRow[] = [];
  const test: PurchaseRow[] = [];
  for (const row of input.events) {
    if (row.ts < start) train.push(row);
    else if (row.ts < options.end) test.push(row);
  }
  return assembleSplit('validation', input, train, test, { cutoff: start, testEnd: options.end, now: start });
}

/**
 * Leave-last-order-out: for every user with >= 2 orders, the last order is test and the rest train;
 * users with one order stay wholly in train. An order is the order id, or (user, ts) when it has none,
 * as in buildDataset. The last order is the one with the latest event; ties go to the larger order key.
 */
export function leaveLastOrderSplit(input: SplitInput): EvaluationSplit {
  const rows = [...input.events];
  const orderKey = (r: PurchaseRow) => (r.orderId !== null ? `o:${r.orderId}` : `t:${r.ts}`);
  // Per user: every order's latest ts, to find the last order.
  const orders = new Map<string, Map<string, number>>();
  for (const r of rows) {
    let byOrder = orders.get(r.userId);
    if (!byOrder) orders.set(r.userId, (byOrder = new Map()));
    const key = orderKey(r);
    byOrder.set(key, Math.max(byOrder.get(key) ?? -Infinity, r.ts));
  }
  const lastOrder = new Map<string, string>();
  for (const [user, byOrder] of orders) {
    if (byOrder.size < 2) continue;
    let best: string | null = null;
    let bestTs = -Infinity;
    for (const [key, ts] of byOrder) {
      if (ts > bestTs || (ts === bestTs && best !== null && key > best)) {
        best = key;
        bestTs = ts;
      }
    }
    lastOrder.set(user, best as string);
  }
  const train: PurchaseRow[] = [];
  const test: PurchaseRow[] = [];
  for (const r of rows) (lastOrder.get(r.userId) === orderKey(r) ? test : train).push(r);
  return assembleSplit('leave-last-order', input, train, test, { cutoff: null, testEnd: null });
}

function assembleSplit(
  kind: SplitKind,
  input: SplitInput,
  trainRows: PurchaseRow[],
  testRows: PurchaseRow[],
  opts: { cutoff: number | null; testEnd: number | null; now?: number },
): EvaluationSplit {
  const trainUserIds = new Set(trainRows.map((r) => r.userId));
  const users = input.users ? [...input.users].filter((u) => trainUserIds.has(u.id)) : undefined;
  const train = buildDataset({ events: trainRows, items: input.items, users, onlyInteractedItems: true, now: opts.now });
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

  // Test items in the train catalog, per train user; "novel" drops what the user bought in train.
  const all: Set<number>[] = [];
  const novel: Set<number>[] = [];
  const testPurchases: TestPurchases = { total: testRows.length, counted: 0, newCustomers: 0, newItems: 0 };
  for (const r of testRows) {
    const u = train.userIndex.get(r.userId);
    const i = train.itemIndex.get(r.itemId);
    if (u === undefined) testPurchases.newCustomers++;
    else if (i === undefined) testPurchases.newItems++;
    if (u === undefined || i === undefined) continue;
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
