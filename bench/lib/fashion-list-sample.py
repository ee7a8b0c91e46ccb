#!/usr/bin/env python3
"""Personal lists of a sample of the synthetic fashion shop's customers (bench/lib/fashion-shop.py) from a running
server: the share of slots each source fills (first of `sources`), lists filled by popularity alone, distinct
products (style codes) per list of 10, and the wall time of each call (p50, p95, max).

    BASE=http://127.0.0.1:3000 KEY=... python3 bench/lib/fashion-list-sample.py DIR/generic N [SEED]
"""
import csv, json, os, random, sys, time, urllib.request, collections
BASE, KEY = os.environ.get('BASE', 'http://127.0.0.1:3000'), os.environ['KEY']
d, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
style, season = {}, {}
with open(f'{d}/items.csv') as f:
    for r in csv.DictReader(f):
        style[r['id']] = r['style_code']
        season[r['id']] = r['season']
orders = collections.defaultdict(set)
with open(f'{d}/events.csv') as f:
    r = csv.reader(f); next(r)
    for oid, u, i, q, p, ts in r:
        if int(q) > 0:
            orders[u].add(oid)
users = sorted(orders)
sample = rnd.sample(users, n)
seasons = collections.Counter()
slots, times, popular_only, distinct = collections.Counter(), [], collections.Counter(), collections.defaultdict(list)
for u in sample:
    req = urllib.request.Request(f'{BASE}/v1/users/{u}/recommendations?k=10', headers={'Authorization': f'Bearer {KEY}'})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as r:
        out = json.loads(r.read())
    times.append((time.perf_counter() - t) * 1000)
    grp = '1 order' if len(orders[u]) == 1 else '2-3 orders' if len(orders[u]) <= 3 else '4+ orders'
    srcs = [x['sources'][0] for x in out['items']]
    slots.update((grp, s) for s in srcs)
    seasons.update(season.get(x['itemId']) for x in out['items'])
    if srcs and all(s in ('popularity', 'trend') for s in srcs):
        popular_only[grp] += 1
    distinct[grp].append(len({style.get(x['itemId']) for x in out['items']}))
times.sort()
total = sum(seasons.values())
print('slots by collection (ALL = year-round basics): ' + ', '.join(f'{k} {v / total:.0%}' for k, v in seasons.most_common()))
print(f'{n} customers: p50 {times[n // 2]:.0f} ms, p95 {times[int(n * 0.95)]:.0f} ms, max {times[-1]:.0f} ms')
for g in ['1 order', '2-3 orders', '4+ orders']:
    tot = sum(v for (gg, _), v in slots.items() if gg == g)
    if not tot:
        continue
    share = ', '.join(f'{s} {v / tot:.0%}' for (gg, s), v in slots.most_common() if gg == g)
    k = len(distinct[g])
    print(f'{g} ({k} customers): slots by source: {share}; lists of popularity/trend only: {popular_only[g]}/{k}; '
          f'distinct products per list: mean {sum(distinct[g]) / k:.1f}')
