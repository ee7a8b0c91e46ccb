#!/usr/bin/env python3
"""A second shop for robustness checks: 'Kissa Mori', a made-up JP/EU coffee, tea and kitchenware webshop
(prices in JPY), in the generic import format (docs/import-formats.md). Nothing in the recipes was tuned on it.

    python3 bench/lib/synthetic-shop.py OUTDIR        # SEED, N_ITEMS, N_USERS from the environment
    npm run import -- generic OUTDIR

Written by an operator walkthrough (nineteenth session) to try the service on a shop unlike Online Retail:
UUID customers, SKUs with slashes and dots, unicode titles, ISO timestamps with offsets, repeat buyers of
consumables, seasonal items, six best sellers and a long tail. 256 items carry descriptions over the API's
10,000 characters: the importer cuts them to it (report `shortened`). Deterministic for a given SEED.
Scale: about 8.7 purchases per customer, so N_USERS=450000 N_ITEMS=30000 gives 3.9M purchases (ten times Online
Retail's); 45,000 customers at 30,000 products take about 5 s on 2 cores.

Heavy buyers (a grocery-like shop): WEEKLY_SHARE (default 0) is the share of customers who shop about once a week
from a list of staples of their own, about BASKET lines an order (default 6), until they churn (0.5% a week): about
335 lines each with the default basket, 277 with BASKET=5. N_USERS=15000 WEEKLY_SHARE=1 BASKET=5 N_ITEMS=10000 gives
4,148,122 purchases (bench/README.md "Tuning bounded by purchases"). With WEEKLY_SHARE 0 the output is what it was
before the knob (the same draws, byte for byte).
"""
import csv, gzip, os, random, uuid, math, sys, json
from itertools import accumulate
from datetime import datetime, timedelta, timezone

SEED = int(os.environ.get('SEED', 7))
rnd = random.Random(SEED)
if len(sys.argv) != 2 or sys.argv[1].startswith('-'):
    print(__doc__.strip())
    sys.exit(0 if sys.argv[1:] in (['-h'], ['--help']) else 2)
OUT = sys.argv[1]
N_ITEMS = int(os.environ.get('N_ITEMS', 5000))
N_USERS = int(os.environ.get('N_USERS', 12000))
WEEKLY_SHARE = float(os.environ.get('WEEKLY_SHARE', 0))
BASKET = int(os.environ.get('BASKET', 6))
os.makedirs(OUT, exist_ok=True)
JST = timezone(timedelta(hours=9))
CET = timezone(timedelta(hours=1))
START = datetime(2025, 8, 1, tzinfo=JST)
END = datetime(2026, 11, 28, 23, 0, tzinfo=JST)   # ~16 months

cats = {
 'coffee': ['Food & Drink/Coffee/Beans', 'Food & Drink/Coffee/Ground', 'Food & Drink/Coffee/Drip Bags'],
 'tea': ['Food & Drink/Tea/Green Tea', 'Food & Drink/Tea/Black Tea', 'Food & Drink/Tea/Herbal'],
 'filters': ['Kitchen/Coffee Equipment/Filters'],
 'equipment': ['Kitchen/Coffee Equipment/Grinders', 'Kitchen/Coffee Equipment/Kettles', 'Kitchen/Coffee Equipment/Drippers'],
 'cleaning': ['Household/Cleaning/Descaler', 'Household/Cleaning/Detergent'],
 'tableware': ['Kitchen/Tableware/Mugs', 'Kitchen/Tableware/Teapots', 'Kitchen/Tableware/Plates'],
 'seasonal_xmas': ['Seasonal/Christmas/Gift Sets', 'Seasonal/Christmas/Decoration'],
 'seasonal_summer': ['Seasonal/Summer/Iced Tea', 'Seasonal/Summer/Cold Brew'],
 'snacks': ['Food & Drink/Snacks/Biscuits', 'Food & Drink/Snacks/Chocolate'],
}
words = {
 'coffee': ['Ethiopia Yirgacheffe', 'Kenya AA', 'Colombia Huila', 'Brazil Santos', 'Guatemala Antigua', 'Espresso Blend Nr. 5', 'Decaf Swiss Water', 'Sumatra Mandheling', 'Kona Blend', 'Mokka Harrar'],
 'tea': ['抹茶 宇治 Matcha', '煎茶 Sencha Shizuoka', 'ほうじ茶 Hojicha', 'Darjeeling First Flush', 'Assam Second Flush', 'Earl Grey Crème', 'Rooibos Vanille', 'Kamille & Minze', '玄米茶 Genmaicha', 'Gyokuro 玉露'],
 'filters': ['Papierfilter Größe 4', 'Paper Filter 02', 'Cone Filter V60', 'Chemex Bonded Filter', 'Kalita Wave 185 Filter', 'Aeropress Micro Filter'],
 'equipment': ['Handmühle Comandante-Stil', 'Burr Grinder', 'Gooseneck Kettle 0.9L', 'Dripper Ceramic', 'French Press 1L', 'Cold Brew Bottle', 'Scale 0.1g', 'Milk Frother ☕'],
 'cleaning': ['Entkalker Flüssig', 'Descaler Tablets', 'Coffee Machine Cleaner', 'Milk System Cleaner', 'Grinder Cleaning Pellets'],
 'tableware': ['有田焼 Mug', 'Stoneware Mug', 'Teapot Kyusu 急須', 'Glass Cup Double Wall', 'Porzellan Teller', 'Enamel Mug'],
 'seasonal_xmas': ['Christmas Gift Set 🎄', 'Adventskalender Tee', 'Weihnachtsmischung', 'Stollen Coffee Pairing', 'Holiday Mug ❄'],
 'seasonal_summer': ['Iced Tea Peach', 'Cold Brew Pack', '水出し Mizudashi Sencha', 'Summer Lemon Tea', 'Iced Coffee Blend'],
 'snacks': ['Butter Biscuits', 'Dark Chocolate 70%', 'Matcha KitKat 抹茶', 'Speculoos', 'Senbei 煎餅'],
}
sizes = ['100g', '200g', '250g', '500g', '1kg', '20 Stk', '40枚', '100 pcs', '', 'XL', '']
brands = ['Mori', 'Kaffeekontor', 'Tokyo Roast', 'Nordlys', 'Hario-ish', 'Kalita-ish', 'Eigenmarke', '小川珈琲', None]
prefix = {'coffee': 'CF', 'tea': 'TEA', 'filters': 'FLT', 'equipment': 'EQ', 'cleaning': 'CLN', 'tableware': 'TW',
          'seasonal_xmas': 'XMAS', 'seasonal_summer': 'SMR', 'snacks': 'SN'}
price_range = {'coffee': (980, 4800), 'tea': (600, 6800), 'filters': (280, 990), 'equipment': (2800, 68000),
               'cleaning': (450, 2400), 'tableware': (1200, 9800), 'seasonal_xmas': (1500, 12000), 'seasonal_summer': (500, 2500), 'snacks': (250, 1800)}
kind_share = {'coffee': .18, 'tea': .18, 'filters': .05, 'equipment': .12, 'cleaning': .05, 'tableware': .17, 'seasonal_xmas': .08, 'seasonal_summer': .06, 'snacks': .11}

items = []
seen = set()
for i in range(N_ITEMS):
    kind = rnd.choices(list(kind_share), weights=list(kind_share.values()))[0]
    p = prefix[kind]
    style = rnd.random()
    if style < 0.35:
        sku = f"{p}/{rnd.choice(['JP','DE','EU','US'])}/{i:05d}"           # slashes
    elif style < 0.75:
        sku = f"{p}-{rnd.randint(100,999)}-{i:05d}"                         # dashes
    elif style < 0.9:
        sku = f"{p.lower()}.{i:05d}.{rnd.choice(['a','b','c'])}"            # dots, lowercase
    else:
        sku = f"{i:07d}"                                                    # all-digit, leading zeros
    if sku in seen: sku += 'x'
    seen.add(sku)
    base = rnd.choice(words[kind])
    size = rnd.choice(sizes)
    title = f"{base} {size}".strip() + ('' if rnd.random() < .7 else f" #{rnd.randint(1,99)}")
    r = rnd.random()
    if r < 0.15: desc = ''
    elif r < 0.20: desc = ('Ausführliche Beschreibung, "Premium" Qualität; geröstet in Kyoto, 丁寧に焙煎. ' * 200)[:12000]  # very long, > 10k
    elif r < 0.30: desc = ('Long description with, commas; "quotes" and\nnewlines.\n' * 40)
    else: desc = f"{base}: {rnd.choice(['fruity','nutty','floral','chocolatey','earthy'])} notes. {rnd.choice(['Fair trade.','Bio / organic.','Limited edition.',''])}"
    cat = rnd.choice(cats[kind])
    categories = cat + ('' if rnd.random() < .8 else '|Sale')
    lo, hi = price_range[kind]
    price = int(round(rnd.uniform(lo, hi), -1))
    brand = rnd.choice(brands)
    items.append(dict(id=sku, title=title, description=desc, categories=categories, price=price,
                      available=rnd.choice(['true'] * 18 + ['false', 'no']), brand=brand or '',
                      origin=rnd.choice(['Japan', 'Deutschland', 'Ethiopia', 'Kenya', 'India', '']), currency='JPY', kind=kind))

# popularity: zipf-ish within kind, a handful of super-hits
weights = [1.0 / ((r + 1) ** 0.9) for r in range(N_ITEMS)]
order = list(range(N_ITEMS)); rnd.shuffle(order)
pop = [0.0] * N_ITEMS
for rank, idx in enumerate(order): pop[idx] = weights[rank]
hits = rnd.sample(range(N_ITEMS), 6)
for h in hits: pop[h] *= 40
by_kind = {}
for idx, it in enumerate(items): by_kind.setdefault(it['kind'], []).append(idx)
consumables = by_kind['coffee'] + by_kind['tea'] + by_kind['filters'] + by_kind['cleaning']
staple_pool = consumables + by_kind['snacks']

users = []
countries = ['JP'] * 70 + ['DE'] * 12 + ['AT'] * 3 + ['US'] * 8 + ['FR'] * 4 + ['KR'] * 3
prefs = ['東京都', '大阪府', '京都府', '北海道', 'Bayern', 'Berlin', 'Wien', 'California', 'Île-de-France', '서울']
for u in range(N_USERS):
    c = rnd.choice(countries)
    users.append(dict(id=str(uuid.UUID(int=rnd.getrandbits(128), version=4)), country=c,
                      region=rnd.choice(prefs), tier=rnd.choice(['bronze', 'silver', 'gold', '']),
                      signup=(START - timedelta(days=rnd.randint(0, 900))).date().isoformat()))

span = (END - START).total_seconds()
def rand_ts(a, b):
    return a + timedelta(seconds=rnd.uniform(0, (b - a).total_seconds()))
# The pools drawn from, fixed for the whole run, with their cumulative weights computed once: the same draws as
# rnd.choices(pool, weights=...), which recomputed them over the whole catalogue at every pick (an hour for
# 450,000 customers at 30,000 products).
ALL = list(range(N_ITEMS))
_cumulative = {}
def pick(pool):
    cw = _cumulative.get(id(pool))
    if cw is None:
        cw = _cumulative[id(pool)] = list(accumulate(pop[i] for i in pool))
    return rnd.choices(pool, cum_weights=cw)[0]
def fmt(ts, tz):
    return ts.astimezone(tz).isoformat(timespec='seconds')

events = []
order_no = 100000
def add_order(uid, ts, lines, tz):
    global order_no
    order_no += 1
    oid = f"SO-{ts.year}-{order_no}"
    for (idx, q) in lines:
        it = items[idx]
        price = it['price'] if rnd.random() > .1 else int(it['price'] * 0.8)  # discounts
        events.append(dict(event_id=f"{oid}-{len(events)}", user_id=uid, item_id=it['id'], quantity=q, price=price, order_id=oid,
                           ts=fmt(ts, tz)))

for u in users:
    tz = JST if u['country'] in ('JP', 'KR') else (CET if u['country'] in ('DE', 'AT', 'FR') else timezone(timedelta(hours=-5)))
    t = rnd.random()
    first = rand_ts(START, END)
    if t < WEEKLY_SHARE:   # weekly shopper: mostly their own staples, a few other products each week
        staples = list(dict.fromkeys(pick(staple_pool) for _ in range(rnd.randint(8, 20))))
        ts = rand_ts(START, START + timedelta(days=60))
        while ts < END:
            n = max(1, round(rnd.gauss(BASKET, BASKET * .3)))
            lines = {s: rnd.randint(1, 3) for s in rnd.sample(staples, min(len(staples), round(n * .7)))}
            for _ in range(n - len(lines)): lines.setdefault(pick(ALL), 1)
            add_order(u['id'], ts, list(lines.items()), tz)
            ts += timedelta(days=max(2, rnd.gauss(7, 1.5)))
            if rnd.random() < .005: break   # churn
    elif t < 0.15:   # repeat consumable buyer
        staples = [pick(consumables) for _ in range(rnd.randint(1, 3))]
        cycle = rnd.uniform(14, 45)
        ts = rand_ts(START, START + timedelta(days=90))
        while ts < END:
            lines = [(s, rnd.randint(1, 3)) for s in staples if rnd.random() < .85]
            if rnd.random() < .3: lines.append((pick(ALL), 1))
            if lines: add_order(u['id'], ts, lines, tz)
            ts += timedelta(days=max(3, rnd.gauss(cycle, cycle * .2)))
            if rnd.random() < .03: break   # churn
    elif t < 0.55:   # occasional buyer: 2-6 orders
        for _ in range(rnd.randint(2, 6)):
            ts = rand_ts(START, END)
            m = ts.month
            pool = ALL
            if m in (11, 12) and rnd.random() < .5: pool = by_kind['seasonal_xmas']
            elif m in (6, 7, 8) and rnd.random() < .4: pool = by_kind['seasonal_summer']
            lines = list({pick(pool): 1 for _ in range(rnd.randint(1, 4))}.items())
            add_order(u['id'], ts, lines, tz)
    elif t < 0.93:   # one-time
        ts = first
        pool = by_kind['seasonal_xmas'] if ts.month == 12 and rnd.random() < .5 else ALL
        lines = list({pick(pool): rnd.randint(1, 2) for _ in range(rnd.randint(1, 3))}.items())
        add_order(u['id'], ts, lines, tz)
    # else: registered, never bought

events.sort(key=lambda e: e['ts'])

def write_csv(path, rows, cols):
    with open(path, 'w', newline='', encoding='utf-8') as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction='ignore')
        w.writeheader()
        for r in rows: w.writerow(r)

write_csv(f'{OUT}/items.csv', items, ['id', 'title', 'description', 'categories', 'price', 'available', 'brand', 'origin', 'currency'])
write_csv(f'{OUT}/users.csv', users, ['id', 'country', 'region', 'tier', 'signup'])
write_csv(f'{OUT}/events.csv', events, ['event_id', 'user_id', 'item_id', 'quantity', 'price', 'order_id', 'ts'])
json.dump(dict(items=len(items), users=len(users), events=len(events), orders=order_no - 100000,
               buyers=len({e['user_id'] for e in events}), hits=[items[h]['id'] for h in hits],
               long_desc=sum(1 for i in items if len(i['description']) > 10000)),
          open(f'{OUT}/summary.json', 'w'), indent=1)
print(open(f'{OUT}/summary.json').read())
