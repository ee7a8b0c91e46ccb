#!/usr/bin/env python3
"""Storefront walk on the synthetic fashion shop (bench/lib/fashion-shop.py) against a running server: personal
lists for a new, a one-time and a repeat customer, similar items of a variant (how many of the list are other
sizes/colours of the same product: same style_code), popular per country and per category path, cold start by
country. Prints each call's wall time; reads items.csv for style codes and availability.

    BASE=http://127.0.0.1:3000 KEY=... python3 bench/lib/fashion-storefront.py DIR/generic ONE_TIME_ID REPEAT_ID ITEM_ID
"""
import csv, json, os, sys, time, urllib.request, urllib.parse
BASE, KEY = os.environ.get('BASE', 'http://127.0.0.1:3000'), os.environ['KEY']
d, one, rep, item = sys.argv[1:5]
items = {}
with open(f'{d}/items.csv') as f:
    for r in csv.DictReader(f):
        items[r['id']] = r

def call(method, path, body=None):
    req = urllib.request.Request(BASE + path, method=method, headers={'Authorization': f'Bearer {KEY}', 'content-type': 'application/json'},
                                 data=json.dumps(body).encode() if body is not None else None)
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, out = r.status, json.loads(r.read() or b'null')
    except urllib.error.HTTPError as e:
        status, out = e.code, json.loads(e.read() or b'null')
    return status, out, (time.perf_counter() - t) * 1000

def show(label, method, path, body=None, anchor=None):
    status, out, ms = call(method, path, body)
    print(f'\n## {label}: {method} {path} -> {status} in {ms:.0f} ms' + (f' body={json.dumps(body)}' if body else ''))
    if status != 200 or not isinstance(out, dict) or 'items' not in out:
        print(json.dumps(out)[:600]); return out
    its = out['items']
    unavailable = sum(1 for x in its if items.get(x['itemId'], {}).get('available') != 'true')
    same = sum(1 for x in its if anchor and items.get(x['itemId'], {}).get('style_code') == items[anchor]['style_code'])
    styles = len({items.get(x['itemId'], {}).get('style_code') for x in its})
    print(f"strategy={out.get('strategy')} fallback={out.get('fallback')} n={len(its)} unavailable={unavailable} distinct styles={styles}"
          + (f' same style as anchor={same}' if anchor else ''))
    for x in its:
        it = items.get(x['itemId'], {})
        print(f"  {x['itemId']:<22} {x['score']:.3f} {','.join(x['sources']):<28} {it.get('categories',''):<26} avail={it.get('available')} {x.get('explanation','')[:60]}")
    return out

q = urllib.parse.quote
print('anchor item', item, items[item]['title'], items[item]['categories'], 'style', items[item]['style_code'])
show('new customer', 'GET', '/v1/users/never-seen-42/recommendations?k=10')
show('one-time customer', 'GET', f'/v1/users/{q(one)}/recommendations?k=10')
show('repeat customer', 'GET', f'/v1/users/{q(rep)}/recommendations?k=10')
for s in ['', '&strategy=content', '&strategy=item-knn', '&strategy=als']:
    show('similar' + s, 'GET', f'/v1/items/{q(item)}/similar?k=10{s}', anchor=item)
show('bought-together', 'GET', f'/v1/items/{q(item)}/bought-together?k=10', anchor=item)
for c in ['DE', 'FR', 'NL']:
    show(f'popular {c}', 'GET', f'/v1/popular?k=10&attribute=country:{c}')
show('popular 30d', 'GET', '/v1/popular?k=10&windowDays=30')
show('popular 30d FR', 'GET', '/v1/popular?k=10&windowDays=30&attribute=country:FR')
show('popular women/dresses', 'GET', '/v1/popular?k=10&category=' + q('women/dresses'))
show('popular women/dresses/midi 30d', 'GET', '/v1/popular?k=10&windowDays=30&category=' + q('women/dresses/midi'))
for c in ['DE', 'FR', 'NL']:
    show(f'cold start {c}', 'POST', '/v1/recommendations', {'attributes': {'country': c}, 'k': 10})
show('cart of the anchor', 'POST', '/v1/recommendations', {'items': [item], 'k': 10}, anchor=item)
