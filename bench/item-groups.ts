/**
 * What product groups cost a served list: the Picker every list goes through (src/serving/picker.ts) taking k=10
 * from a user's 200 stored candidates and backfilling from popularity, on a catalogue of --items products
 * (default 60,000, the fashion shop's size). Three catalogues: no groups (as before groups existed), groups of
 * --variants products (default 10: two colours in five sizes), and the same with the candidates crowded by
 * variants (each candidate's siblings follow it, as similar variants score alike), where the Picker skips the most.
 * Two more: groups whose first variant shows its style to a source learnt per group (ItemGroups.shows), every
 * variant listable; and the same with every shown variant sold out, so each style a list takes is listed by a
 * sibling standing in for it (Picker standIn, on a checkout from before it: the style is dropped instead).
 * Prints microseconds per list, best of --rounds rounds of --lists lists each.
 *
 *   npx tsx bench/item-groups.ts [--items 60000] [--variants 10] [--lists 200000] [--rounds 5]
 */
import os from 'node:os';
import { itemFilter, Picker } from '../src/serving/picker.js';
import type { ServingModel } from '../src/serving/serving-model.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const n = Number(option('--items') ?? 60_000);
const variants = Number(option('--variants') ?? 10);
const lists = Number(option('--lists') ?? 200_000);
const rounds = Number(option('--rounds') ?? 5);

/** A deterministic pseudo-random sequence (mulberry32), so every run draws the same candidates. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function model(groups: boolean, shown: 'none' | 'listable' | 'sold out' = 'none'): ServingModel {
  const ids = Array.from({ length: n }, (_, i) => `p${i}`);
  const score = Float32Array.from({ length: n }, (_, i) => 1 / (1 + i));
  const items = {
    ids,
    index: new Map(ids.map((id, i) => [id, i])),
    titles: ids,
    available: Uint8Array.from({ length: n }, (_, i) => (shown === 'sold out' && i % variants === 0 ? 0 : 1)),
    price: new Float64Array(n).fill(10),
    categories: ids.map(() => []),
    // Built here, not by itemGroupsOf, so the bench runs on a checkout from before groups too (which ignores them).
    ...(groups ? { groups: styleGroups(shown !== 'none') } : {}),
  };
  return { items, popular: { score, order: Int32Array.from({ length: n }, (_, i) => i), segments: [] } } as unknown as ServingModel;
}

/** Item i is of style floor(i / variants). */
function styleGroups(shows: boolean) {
  const ids = Array.from({ length: Math.ceil(n / variants) }, (_, s) => `style${s}`);
  const of = Int32Array.from({ length: n }, (_, i) => Math.floor(i / variants));
  const learnt = shows ? { shows: Uint8Array.from({ length: n }, (_, i) => (i % variants === 0 ? 1 : 0)), trained: of.slice() } : {};
  return { of, ids, index: new Map(ids.map((id, s) => [id, s])), ...learnt };
}

/** 200 candidates per user: random items, or (crowded) random styles with all their variants one after another. */
function candidates(crowded: boolean): Int32Array[] {
  const next = random(7);
  return Array.from({ length: 1000 }, () => {
    let style = 0;
    return Int32Array.from({ length: 200 }, (_, k) => {
      if (!crowded) return Math.floor(next() * n);
      if (k % variants === 0) style = Math.floor(next() * Math.floor(n / variants));
      return style * variants + (k % variants);
    });
  });
}

const SOURCES = ['item-knn'];
function run(m: ServingModel, users: Int32Array[]): { us: number; distinct: number } {
  let best = Infinity;
  let distinct = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let l = 0; l < lists; l++) {
      const c = users[l % users.length];
      const picker = new Picker(m, itemFilter(m, { k: 10 }), 10);
      for (let k = 0; k < c.length && !picker.full; k++) picker.offer(c[k], 1 - k / 1000, SOURCES);
      picker.backfillPopular(-1);
      if (l === 0) distinct = new Set(picker.picks.map((p) => Math.floor(p.item / variants))).size;
    }
    best = Math.min(best, ((performance.now() - t0) * 1000) / lists);
  }
  return { us: best, distinct };
}

console.log(`${n} items, groups of ${variants}, ${lists} lists x ${rounds} rounds; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
const spread = candidates(false);
const crowded = candidates(true);
for (const [name, m, users] of [
  ['no groups, spread candidates', model(false), spread],
  ['groups, spread candidates', model(true), spread],
  ['no groups, crowded candidates', model(false), crowded],
  ['groups, crowded candidates', model(true), crowded],
  ['shown variants, spread', model(true, 'listable'), spread],
  ['shown variants sold out, spread', model(true, 'sold out'), spread],
] as const) {
  const { us, distinct } = run(m, users);
  console.log(`${name.padEnd(34)} ${us.toFixed(3)} us a list (first list: ${distinct} styles of 10)`);
}
