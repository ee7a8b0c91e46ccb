#!/usr/bin/env python3
"""Independent check of the evaluation's popularity row on the synthetic fashion shop (bench/lib/fashion-shop.py):
the protocol of docs/DESIGN.md (temporal split at CUTOFF, test users with a train purchase and a test item of the
train catalog, modes novel and all, NDCG@10 and recall@10) and the default recipe's popularity source as its docs
describe it (distinct buyers weighted 0.5^(age / 60 days) at the cutoff, per country list mixed with the global
one by buyers / (buyers + 50), each divided by its maximum). Reads the generic files, not the service.

    python3 bench/lib/fashion-eval-check.py DIR/generic 2026-11-01
"""
import csv, sys, math, heapq
from datetime import datetime, timezone
d, cutoff = sys.argv[1], datetime.fromisoformat(sys.argv[2]).replace(tzinfo=timezone.utc).timestamp()
HALF, SHRINK, K = 60 * 86400, 50, 10
country = {}
with open(f'{d}/users.csv') as f:
    for r in csv.DictReader(f):
        country[r['id']] = r['country']
last = {}     # (u, i) -> last train ts
test = {}     # u -> set of items
with open(f'{d}/events.csv') as f:
    rd = csv.reader(f); next(rd)
    for oid, u, i, q, p, ts in rd:
        if int(q) <= 0:
            continue
        t = datetime.fromisoformat(ts).timestamp()
        if t < cutoff:
            if last.get((u, i), -1) < t:
                last[(u, i)] = t
        else:
            test.setdefault(u, set()).add(i)
glob, seg, train_items, hist, seg_users = {}, {}, set(), {}, {}
for (u, i), t in last.items():
    w = 0.5 ** (max(0.0, cutoff - t) / HALF)
    glob[i] = glob.get(i, 0) + w
    c = country.get(u)
    seg.setdefault(c, {})
    seg[c][i] = seg[c].get(i, 0) + w
    train_items.add(i)
    hist.setdefault(u, set()).add(i)
for u in hist:
    seg_users[country.get(u)] = seg_users.get(country.get(u), 0) + 1
gmax = max(glob.values())
ranked = {}
for c, s in seg.items():
    a = seg_users[c] / (seg_users[c] + SHRINK) if seg_users[c] >= 20 else 0
    smax = max(s.values())
    sc = {i: (1 - a) * glob[i] / gmax + (a * s.get(i, 0) / smax if a else 0) for i in glob}
    ranked[c] = sorted(sc, key=lambda i: -sc[i])[:2000]
def ndcg(rel, recs):
    dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(recs) if i in rel)
    idcg = sum(1 / math.log2(r + 2) for r in range(min(K, len(rel))))
    return dcg / idcg
for mode in ('novel', 'all'):
    n = s_ndcg = s_rec = 0
    for u, items in test.items():
        if u not in hist:
            continue
        rel = {i for i in items if i in train_items and (mode == 'all' or i not in hist[u])}
        if not rel:
            continue
        lst = ranked[country.get(u)]
        recs = [i for i in lst if mode == 'all' or i not in hist[u]][:K]
        n += 1
        s_ndcg += ndcg(rel, recs)
        s_rec += len(rel & set(recs)) / min(K, len(rel))
    print(f'popularity {mode}: test users {n}, NDCG@10 {s_ndcg / n:.4f}, recall@10 {s_rec / n:.4f}')
