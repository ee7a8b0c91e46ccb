#!/usr/bin/env python3
"""Independent check of GET /v1/popular?windowDays=N[&attribute=country:XX][&category=PATH] on the synthetic fashion
shop (bench/lib/fashion-shop.py): distinct buyers per available item among purchases (quantity > 0) dated within N
days of the newest purchase, ties by item id. Reads the generic files directly, not the service.

    python3 bench/lib/fashion-popular-check.py DIR/generic 30 [country] [category-path]
"""
import csv, sys
from datetime import datetime, timedelta
d, days = sys.argv[1], float(sys.argv[2])
country = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
cat = sys.argv[4].lower() if len(sys.argv) > 4 else None
items = {}
with open(f'{d}/items.csv') as f:
    for r in csv.DictReader(f):
        items[r['id']] = r
users = {}
if country:
    with open(f'{d}/users.csv') as f:
        for r in csv.DictReader(f):
            users[r['id']] = r['country']
rows = []
maxts = None
with open(f'{d}/events.csv') as f:
    for r in csv.DictReader(f):
        if int(r['quantity']) <= 0:
            continue
        ts = datetime.fromisoformat(r['ts'])
        rows.append((ts, r['user_id'], r['item_id']))
        if maxts is None or ts > maxts:
            maxts = ts
since = maxts - timedelta(days=days)
pairs = {(u, i) for ts, u, i in rows if ts >= since and (not country or users.get(u) == country)}
count = {}
for u, i in pairs:
    it = items.get(i)
    if not it or it['available'] != 'true':
        continue
    if cat and not any(c.lower() == cat or c.lower().startswith(cat + '/') for c in it['categories'].split('|')):
        continue
    count[i] = count.get(i, 0) + 1
top = sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
print(f'newest purchase {maxts.isoformat()}, window from {since.isoformat()}')
for i, n in top:
    print(n, i)
