/**
 * What an erasure costs the serving thread in a process holding a version's audience index (audience-service.ts
 * forgetUser -> audience-index.ts withoutUser), on a shop already trained into REDIS_URL (default key prefix):
 * the index loaded as the service loads it, then `--erasures` customers (default 100, members of the most-held
 * products' audiences) taken out one after another, each timed in CPU of this thread: first as before (a scan of
 * every posting: postingsWithout without the customers' places), then as now (withoutUser: the first erasure
 * builds where each customer's postings are, the others touch only theirs). Reads only.
 *
 *   REDIS_URL=... node --expose-gc --import tsx bench/audience-forget.ts [--erasures 100]
 */
import { cpus, loadavg } from 'node:os';
import { buildCustomerPostings, postingsWithout, rankAudience, withoutUser } from '../src/audiences/audience-index.js';
import { loadAudienceIndex } from '../src/audiences/audience-service.js';
import { loadServingModel } from '../src/serving/serving-model.js';
import { DEFAULT_REDIS_PREFIX } from '../src/store/create-model-store.js';
import { createRedisModelStore } from '../src/store/redis-model-store.js';
import { optionTaker } from './lib/online-retail.js';

const option = optionTaker(process.argv.slice(2));
const ERASURES = Number(option('--erasures') ?? 100);
const REDIS = process.env.REDIS_URL;
if (!REDIS) throw new Error('set REDIS_URL to a shop trained there (see the header)');
const store = createRedisModelStore({ url: REDIS, prefix: DEFAULT_REDIS_PREFIX });
const active = await store.getActive();
if (!active) throw new Error('no active version');
const model = await loadServingModel(store, active);
if (!model) throw new Error(`version ${active.version} has no serving artifacts`);
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const cpuMs = (f: () => void) => {
  const c0 = process.cpuUsage();
  f();
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1000;
};
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const sum = s.reduce((a, b) => a + b, 0);
  return `median ${s[s.length >> 1].toFixed(2)} ms, max ${s[s.length - 1].toFixed(2)} ms, sum ${sum.toFixed(0)} ms`;
};

console.log(`# audience-forget: ${new Date().toISOString()}, ${cpus().length} cores, load average ${load()}`);
const pick = (index: Awaited<ReturnType<typeof loadAudienceIndex>>['index']) => {
  const held = [...Array(model.items.ids.length).keys()].sort((x, y) => (index.candidates.indptr[y + 1] - index.candidates.indptr[y]) - (index.candidates.indptr[x + 1] - index.candidates.indptr[x]));
  const users = new Set<number>();
  for (const t of held) {
    for (const m of rankAudience(index, { targets: [t], k: 10, gamma: 0, excludeBuyersSince: null })) users.add(m.user);
    if (users.size >= ERASURES) break;
  }
  return [...users].slice(0, ERASURES);
};
for (const how of ['before: a scan of every posting', 'now: withoutUser (places built by the first)'] as const) {
  const { index } = await loadAudienceIndex(store, model);
  const users = pick(index);
  global.gc?.();
  const erase = (u: number) => cpuMs(() => (how.startsWith('before') ? postingsWithout(index, u) : withoutUser(index, u)));
  const first = erase(users[0]);
  if (!how.startsWith('before')) {
    // As the service does after an index's first erasure: the places a stretch per turn.
    const build = buildCustomerPostings(index, index.userIds.length);
    const stretches: number[] = [];
    for (;;) {
      let step: ReturnType<typeof build.next> | undefined;
      stretches.push(cpuMs(() => (step = build.next())));
      if (step!.done) {
        index.own = step!.value;
        break;
      }
    }
    const o = index.own!;
    console.log(`  the customers' places: ${stretches.length} stretches, ${stats(stretches)}; ${((o.cand.byteLength + o.buy.byteLength + o.indptr.byteLength + o.buyIndptr.byteLength) / 1e6).toFixed(1)} MB held`);
  }
  const times = users.slice(1).map(erase);
  const postings = index.candidates.users.length + index.buyers.users.length;
  console.log(`${how}: ${users.length} erasures over ${postings} postings (${index.userIds.length} customers), CPU of the process: first ${first.toFixed(2)} ms, the others ${stats(times)}; load average ${load()}`);
}
await store.close();
