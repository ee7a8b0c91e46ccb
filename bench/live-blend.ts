/**
 * What one purchase since training does to a customer's list (serving's live blend,
 * src/serving/recommend-for-user.ts blendLive).
 *
 *   npx tsx bench/live-blend.ts [RECIPE] [--cutoff 2011-08-01] [--days 30] [--k 10] [--data FILE]
 *
 * Fits the recipe (as written, no tuning) on the purchases before the cutoff and builds every customer's
 * serving entry as training does. A customer counts when they bought before the cutoff and placed two or
 * more orders in the `days` after it. Their first order after the cutoff becomes live purchases (as
 * POST /v1/events appends them); the items of their later orders in the window that they had never
 * bought (before the cutoff or in that first order) are what they went on to buy. For each customer it
 * asks serving for k items (default query: purchases excluded) without and with the live purchases and
 * prints novel NDCG@k and recall@k of both, and how many of the list without them stay in the list with
 * them. The default cutoff lies before the first test period of the evaluation protocol (2011-09-01).
 */
import { ndcgAt, recallAt } from '../src/evaluation/metrics.js';
import { buildDataset } from '../src/recommenders/dataset.js';
import { recommendForUser } from '../src/serving/recommend-for-user.js';
import { fitRecipe } from '../src/training/recipe.js';
import { dataFile as checkedDataFile, loadOnlineRetail, withoutDataArg, benchRecipe, optionTaker } from './lib/online-retail.js';
import { benchServing } from './lib/serving-bench.js';

const dataFile = checkedDataFile();
const args = withoutDataArg();
const flag = optionTaker(args);
const cutoff = Date.parse(flag('--cutoff') ?? '2011-08-01T00:00:00Z');
const days = Number(flag('--days') ?? 30);
const k = Number(flag('--k') ?? 10);
const recipeName = args[0] ?? 'default';
const end = cutoff + days * 86_400_000;

const t0 = performance.now();
const seconds = () => ((performance.now() - t0) / 1000).toFixed(1);
const input = await loadOnlineRetail(dataFile);
const before = input.events.filter((e) => e.ts < cutoff);
const ds = buildDataset({ events: before, items: input.items, users: input.users });
const recipe = await benchRecipe(recipeName);
const fitted = await fitRecipe(ds, recipe);
console.log(`recipe ${recipeName} as written, fitted on ${before.length} purchases before ${new Date(cutoff).toISOString().slice(0, 10)} in ${seconds()} s`);

// The orders of each known customer in the window, in time order.
const orders = new Map<string, Map<string, { ts: number; items: string[] }>>();
for (const e of input.events) {
  if (e.ts < cutoff || e.ts >= end || !ds.userIndex.has(e.userId) || !ds.itemIndex.has(e.itemId)) continue;
  const byOrder = orders.get(e.userId) ?? new Map<string, { ts: number; items: string[] }>();
  const key = e.orderId ?? `@${e.ts}`;
  const o = byOrder.get(key) ?? { ts: e.ts, items: [] };
  o.items.push(e.itemId);
  byOrder.set(key, o);
  orders.set(e.userId, byOrder);
}
const customers = [...orders].filter(([, o]) => o.size >= 2).map(([id, o]) => ({ id, orders: [...o.values()].sort((a, b) => a.ts - b.ts) }));

const { deps, store, histories } = await benchServing(ds, fitted, recipe, customers.map((c) => ds.userIndex.get(c.id)!));

let users = 0;
const sum = { staleNdcg: 0, staleRecall: 0, liveNdcg: 0, liveRecall: 0, kept: 0, liveSlots: 0 };
for (const c of customers) {
  const u = ds.userIndex.get(c.id)!;
  const bought = new Set([...histories[u].map((h) => ds.itemIds[h.item]), ...c.orders[0].items]);
  const next = new Set<number>();
  for (const o of c.orders.slice(1)) for (const id of o.items) if (!bought.has(id)) next.add(ds.itemIndex.get(id)!);
  if (next.size === 0) continue;
  const stale = await recommendForUser(deps, c.id, { k });
  await store.appendUserEvents(c.id, c.orders[0].items.map((itemId) => ({ itemId, ts: c.orders[0].ts })));
  const live = await recommendForUser(deps, c.id, { k });
  const rank = (a: typeof stale) => a.items.map((it) => ds.itemIndex.get(it.itemId)!);
  users++;
  sum.staleNdcg += ndcgAt(next, rank(stale), k);
  sum.staleRecall += recallAt(next, rank(stale), k);
  sum.liveNdcg += ndcgAt(next, rank(live), k);
  sum.liveRecall += recallAt(next, rank(live), k);
  const staleIds = new Set(stale.items.map((it) => it.itemId));
  sum.kept += live.items.filter((it) => staleIds.has(it.itemId)).length / Math.max(1, stale.items.length);
}
const f4 = (x: number) => (x / users).toFixed(4);
console.log(`${users} customers with a new item in a later order within ${days} days; k = ${k}`);
console.log(`without the first order's purchases: novel NDCG@${k} ${f4(sum.staleNdcg)}  R@${k} ${f4(sum.staleRecall)}`);
console.log(`with them (live blend):             novel NDCG@${k} ${f4(sum.liveNdcg)}  R@${k} ${f4(sum.liveRecall)}`);
console.log(`share of the list without them kept in the list with them: ${f4(sum.kept)}`);
console.log(`total ${seconds()} s`);
