#!/usr/bin/env python3
"""A synthetic fashion webshop ('Maison Lunde', made up; nothing in it is real data) for walkthroughs on a shop
unlike Online Retail: seasonal collections of about three months each, colour/size variants as separate product
ids sharing a title stem, style code and category path (women/dresses/midi), prices 10-400 EUR, customers who buy
one to three times a year (few repeat purchases of one product), returns as negative quantities (about 20% of the
lines), a Black Friday / Christmas peak, three countries.

    python3 bench/lib/fashion-shop.py OUTDIR     # N_USERS (400000), N_ITEMS (about 60000), SEED from the environment

Two more options from the environment, for nested checks that need more than one year or more than one calendar;
unset, every seed's output is byte for byte what it was before they existed:
  HISTORY_START  first day of the data (YYYY-MM-DD, default 2025-05-01; the last day is always 2026-11-30). An
                 earlier start adds the same yearly collections before SS25 (SS 03-01, SU 06-01, AW 09-01, HO 11-10,
                 WI 01-15 of the next year), those still on sale on or after the start.
  CALENDAR_SHIFT every collection launches this many days later (negative: earlier), every year alike; Black
                 Friday, Cyber Monday and the other peak days stay on their dates (default 0).

Writes the shop's own export (OUTDIR/shop/: products.csv, customers.csv, order_lines.csv, with the shop's column
names; products.csv ends with the style as `item_group_id`) and the same data in the generic import format (OUTDIR/generic/: items.csv, users.csv, events.csv; returns
kept as negative quantities, as the shop exports them; items.csv gives each product its style as `item_group_id`,
so the service serves one variant per style). Deterministic for a given SEED.

Structure: every customer has a department (women, men, kids bought by parents), a size per department, a style
affinity (classic, casual, sporty, boho), a price tier and a country. An order picks products on sale on its date:
an anchor style weighted by popularity and the customer's affinities, in the customer's size; often other pieces of
the same outfit (a dress with its shoes and bag); rarely another size of the same product (size bracketing, mostly
returned). Basics (a few hundred year-round products) give the few repeat purchases.
"""
import csv, os, random, sys, math, bisect
from datetime import datetime, timedelta, timezone

if len(sys.argv) != 2 or sys.argv[1].startswith('-'):
    print(__doc__.strip())
    sys.exit(0 if sys.argv[1:] in (['-h'], ['--help']) else 2)
OUT = sys.argv[1]
SEED = int(os.environ.get('SEED', 11))
N_USERS = int(os.environ.get('N_USERS', 400000))
N_ITEMS = int(os.environ.get('N_ITEMS', 60000))
rnd = random.Random(SEED)
CET = timezone(timedelta(hours=1))
START = datetime.strptime(os.environ.get('HISTORY_START', '2025-05-01'), '%Y-%m-%d').replace(tzinfo=CET)
END = datetime(2026, 11, 30, 22, 0, tzinfo=CET)
if START >= END - timedelta(days=60):
    sys.exit('HISTORY_START must be at least 60 days before 2026-11-30')
DAYS = (END - START).days
CALENDAR_SHIFT = timedelta(days=int(os.environ.get('CALENDAR_SHIFT', 0)))

COLLECTIONS = [  # code, launch, days on sale, share of the catalogue
    ('SS25', datetime(2025, 3, 1, tzinfo=CET), 92, 1.0), ('SU25', datetime(2025, 6, 1, tzinfo=CET), 92, 1.0),
    ('AW25', datetime(2025, 9, 1, tzinfo=CET), 80, 1.1), ('HO25', datetime(2025, 11, 10, tzinfo=CET), 80, 0.9),
    ('WI26', datetime(2026, 1, 15, tzinfo=CET), 60, 0.6), ('SS26', datetime(2026, 3, 1, tzinfo=CET), 92, 1.0),
    ('SU26', datetime(2026, 6, 1, tzinfo=CET), 92, 1.0), ('AW26', datetime(2026, 9, 1, tzinfo=CET), 80, 1.1),
    ('HO26', datetime(2026, 11, 10, tzinfo=CET), 80, 0.9),
]
def year_of_collections(y):
    """The year's collections as 2025's (SS, SU, AW, HO of year y and WI of y + 1)."""
    yy, ny = f'{y % 100:02d}', f'{(y + 1) % 100:02d}'
    return [(f'SS{yy}', datetime(y, 3, 1, tzinfo=CET), 92, 1.0), (f'SU{yy}', datetime(y, 6, 1, tzinfo=CET), 92, 1.0),
            (f'AW{yy}', datetime(y, 9, 1, tzinfo=CET), 80, 1.1), (f'HO{yy}', datetime(y, 11, 10, tzinfo=CET), 80, 0.9),
            (f'WI{ny}', datetime(y + 1, 1, 15, tzinfo=CET), 60, 0.6)]
# HISTORY_START before 2025-03-01 (SS25's launch): the earlier years' collections still on sale on or after the start.
earlier = [c for y in range(START.year - 1, 2025) for c in year_of_collections(y)
           if c[1] < COLLECTIONS[0][1] and c[1] + CALENDAR_SHIFT + timedelta(days=c[2]) > START]
if earlier:
    COLLECTIONS = earlier + COLLECTIONS
if CALENDAR_SHIFT:
    COLLECTIONS = [(code, launch + CALENDAR_SHIFT, days, share) for code, launch, days, share in COLLECTIONS]
DEPTS = {
    'women': (['XS', 'S', 'M', 'L', 'XL'], [
        ('dresses/midi', 'Midi dress', 70, 'top'), ('dresses/mini', 'Mini dress', 55, 'top'),
        ('dresses/maxi', 'Maxi dress', 85, 'top'), ('tops/blouses', 'Blouse', 45, 'top'),
        ('tops/t-shirts', 'T-shirt', 20, 'top'), ('knitwear/jumpers', 'Jumper', 60, 'top'),
        ('trousers/wide-leg', 'Wide-leg trousers', 65, 'bottom'), ('jeans/straight', 'Straight jeans', 70, 'bottom'),
        ('skirts/midi', 'Midi skirt', 50, 'bottom'), ('coats/wool', 'Wool coat', 220, 'outer'),
        ('jackets/denim', 'Denim jacket', 90, 'outer'), ('shoes/sneakers', 'Sneakers', 95, 'shoes'),
        ('shoes/ankle-boots', 'Ankle boots', 140, 'shoes'), ('accessories/bags', 'Shoulder bag', 80, 'acc'),
        ('accessories/scarves', 'Scarf', 30, 'acc')]),
    'men': (['S', 'M', 'L', 'XL', 'XXL'], [
        ('shirts/casual', 'Casual shirt', 50, 'top'), ('shirts/formal', 'Formal shirt', 60, 'top'),
        ('t-shirts/basic', 'T-shirt', 18, 'top'), ('knitwear/jumpers', 'Jumper', 65, 'top'),
        ('trousers/chinos', 'Chinos', 60, 'bottom'), ('jeans/slim', 'Slim jeans', 75, 'bottom'),
        ('jackets/bomber', 'Bomber jacket', 120, 'outer'), ('coats/parka', 'Parka', 240, 'outer'),
        ('shoes/sneakers', 'Sneakers', 100, 'shoes'), ('shoes/boots', 'Boots', 160, 'shoes'),
        ('accessories/belts', 'Belt', 35, 'acc'), ('accessories/caps', 'Cap', 25, 'acc')]),
    'kids': (['98', '110', '122', '134', '146'], [
        ('girls/dresses', 'Girls dress', 30, 'top'), ('boys/t-shirts', 'Boys T-shirt', 12, 'top'),
        ('girls/leggings', 'Leggings', 14, 'bottom'), ('boys/trousers', 'Boys trousers', 25, 'bottom'),
        ('jackets/rain', 'Rain jacket', 45, 'outer'), ('shoes/sneakers', 'Kids sneakers', 40, 'shoes')]),
}
DEPT_SHARE = {'women': 0.62, 'men': 0.30, 'kids': 0.08}
STYLES = ['classic', 'casual', 'sporty', 'boho']
COLOUR_CODES = {'black': 'BLK', 'white': 'WHT', 'navy': 'NVY', 'beige': 'BGE', 'olive': 'OLV', 'burgundy': 'BRG', 'grey': 'GRY',
                'camel': 'CML', 'sky blue': 'SKY', 'rust': 'RST', 'pink': 'PNK', 'green': 'GRN'}
COLOURS = ['black', 'white', 'navy', 'beige', 'olive', 'burgundy', 'grey', 'camel', 'sky blue', 'rust', 'pink', 'green']
NAMES = ['Lina', 'Maren', 'Ola', 'Fjord', 'Nova', 'Ivy', 'Sander', 'Elio', 'Juna', 'Tove', 'Alba', 'Runa', 'Keld',
         'Mio', 'Saga', 'Vega', 'Lumi', 'Oskar', 'Frida', 'Noor', 'Eske', 'Hedda', 'Milo', 'Tilde', 'Ada', 'Bo']
COUNTRIES = [('DE', 0.55), ('FR', 0.27), ('NL', 0.18)]

# ---------------------------------------------------------------- catalogue: styles -> colour x size variants
products = []          # dicts
styles = []            # per style: dict(coll, dept, cat, style, pop, price, outfit, variants{(colour,size): idx})
per_variants = 2.6 * 4.2
n_styles = max(50, int(N_ITEMS / per_variants / 1.1))
coll_weights = [c[3] for c in COLLECTIONS]
outfit_seq = 0
coll_dept_outfits = {}
for s in range(n_styles):
    ci = rnd.choices(range(len(COLLECTIONS)), coll_weights)[0]
    dept = rnd.choices(list(DEPT_SHARE), list(DEPT_SHARE.values()))[0]
    sizes, cats = DEPTS[dept]
    cat, noun, base, role = rnd.choice(cats)
    style = rnd.choice(STYLES)
    key = (ci, dept, style)
    lst = coll_dept_outfits.setdefault(key, [])
    # an outfit groups 2-4 styles of one collection, department and style of different roles
    if lst and rnd.random() < 0.7:
        of = rnd.choice(lst)
    else:
        outfit_seq += 1
        of = outfit_seq
        lst.append(of)
    price = round(min(400, max(10, base * math.exp(rnd.gauss(0, 0.35)))) - 0.05, 2)
    ncol = max(1, min(5, int(rnd.expovariate(1 / 2.6)) + 1))
    cols = rnd.sample(COLOURS, ncol)
    sz = sizes if role not in ('acc',) else ['one size']
    st = dict(coll=ci, dept=dept, cat=f'{dept}/{cat}', style=style, role=role, outfit=of, price=price,
              pop=rnd.paretovariate(1.3), code=f'{COLLECTIONS[ci][0]}-{s:05d}', name=f'{rnd.choice(NAMES)} {noun.lower()}',
              variants={}, colpop=[rnd.paretovariate(1.5) for _ in cols], cols=cols, basic=False)
    for col in cols:
        for size in sz:
            st['variants'][(col, size)] = len(products)
            products.append(dict(id=f"{st['code']}-{COLOUR_CODES[col]}-{size.replace('one size', 'OS')}", style=s,
                                 title=f"{st['name'].capitalize()} – {col}, {size}", cat=st['cat'], price=price,
                                 colour=col, size=size, season=COLLECTIONS[ci][0], code=st['code']))
    styles.append(st)
# basics, sold all year (the few repeat purchases)
n_basic = max(10, n_styles // 60)
for b in range(n_basic):
    dept = rnd.choices(list(DEPT_SHARE), list(DEPT_SHARE.values()))[0]
    sizes, _ = DEPTS[dept]
    noun = rnd.choice(['Basic socks 3-pack', 'Basic briefs 2-pack', 'Basic tank top', 'Basic crew T-shirt'])
    cat = f'{dept}/basics'
    st = dict(coll=-1, dept=dept, cat=cat, style=rnd.choice(STYLES), role='basic', outfit=-1,
              price=round(rnd.uniform(10, 25), 2) - 0.01, pop=rnd.paretovariate(1.3) * 2, code=f'BAS-{b:04d}',
              name=noun, variants={}, cols=['black', 'white'], colpop=[1, 1], basic=True)
    for col in st['cols']:
        for size in sizes:
            st['variants'][(col, size)] = len(products)
            products.append(dict(id=f"{st['code']}-{COLOUR_CODES[col]}-{size}", style=len(styles), title=f'{noun} – {col}, {size}',
                                 cat=cat, price=st['price'], colour=col, size=size, season='ALL', code=st['code']))
    styles.append(st)

def on_sale(st, t):
    if st['basic']:
        return True
    c = COLLECTIONS[st['coll']]
    return c[1] <= t < c[1] + timedelta(days=c[2])

# the styles on sale on each day, by department, with cumulative weights per style affinity
day_cache = {}
def sale_index(day):
    if day in day_cache:
        return day_cache[day]
    t = START + timedelta(days=day, hours=12)
    res = {}
    for dept in DEPT_SHARE:
        ids = [i for i, st in enumerate(styles) if st['dept'] == dept and on_sale(st, t)]
        # popularity fades over a product's three months (launch weeks sell most)
        w0 = []
        for i in ids:
            st = styles[i]
            if st['basic']:
                w0.append(st['pop'])
            else:
                age = (t - COLLECTIONS[st['coll']][1]).days
                w0.append(st['pop'] * math.exp(-age / 60))
        cums = {}
        for aff in STYLES:
            acc, c = 0.0, []
            for i, w in zip(ids, w0):
                acc += w * (4.0 if styles[i]['style'] == aff else 1.0)
                c.append(acc)
            cums[aff] = c
        res[dept] = (ids, cums)
    day_cache[day] = res
    return res
outfit_members = {}
for i, st in enumerate(styles):
    if st['outfit'] >= 0:
        outfit_members.setdefault(st['outfit'], []).append(i)

def black_friday(year):
    """The fourth Friday of November (2025-11-28, 2026-11-27)."""
    first = datetime(year, 11, 1).date()
    return first + timedelta(days=(4 - first.weekday()) % 7 + 21)
# day weights: summer dip, Black Friday week and the weeks before Christmas, January sales
def day_weight(d):
    t = START + timedelta(days=d)
    w = 1.0
    m, dd = t.month, t.day
    if m in (7, 8): w *= 0.8
    if m == 11 and dd >= 20: w *= 2.2
    bf = black_friday(t.year)
    if t.date() == bf: w *= 4.0   # Black Friday
    if t.date() == bf + timedelta(days=3): w *= 2.5   # Cyber Monday
    if m == 12 and dd <= 21: w *= 1.9
    if m == 12 and dd > 24: w *= 0.6
    if m == 1 and dd <= 15: w *= 1.3
    return w
DAY_CUM = []
acc = 0.0
for d in range(DAYS + 1):
    acc += day_weight(d)
    DAY_CUM.append(acc)
def pick_day_between(d0, d1):
    lo, hi = DAY_CUM[d0 - 1] if d0 > 0 else 0.0, DAY_CUM[d1]
    return min(d1, bisect.bisect_left(DAY_CUM, rnd.uniform(lo, hi)))

# ---------------------------------------------------------------- customers and orders
os.makedirs(os.path.join(OUT, 'shop'), exist_ok=True)
os.makedirs(os.path.join(OUT, 'generic'), exist_ok=True)
cust_rows, line_rows = [], []
order_no = 100000
n_lines = n_returns = 0
for u in range(N_USERS):
    cid = f'ML{u * 7919 % 10000019:08d}'
    country = rnd.choices([c for c, _ in COUNTRIES], [w for _, w in COUNTRIES])[0]
    dept = rnd.choices(list(DEPT_SHARE), list(DEPT_SHARE.values()))[0]
    second = 'kids' if rnd.random() < 0.12 else None   # parents buy for their children too
    sizes = {d: rnd.choices(DEPTS[d][0], [1, 3, 4, 3, 1])[0] for d in DEPT_SHARE}
    aff = rnd.choice(STYLES)
    tier = rnd.lognormvariate(0, 0.5)
    first = pick_day_between(0, DAYS) if rnd.random() > 0.18 else 0   # 18% were customers before the data starts
    signup = START + timedelta(days=first) - timedelta(days=(rnd.randint(0, 900) if first == 0 else 0))
    cust_rows.append((cid, country, signup.date().isoformat(), dept))
    if rnd.random() < 0.05:
        continue   # signed up, never bought
    rate = rnd.choice([0.6, 1, 1, 1.5, 2, 2, 3, 4]) / 365.0   # orders a day
    days = [first] if first > 0 else []
    t = first
    while True:
        t += int(rnd.expovariate(rate)) + 1
        if t > DAYS:
            break
        days.append(t)
    if not days:
        days = [pick_day_between(0, DAYS)]
    for d in days:
        # seasonal peaks pull orders: move an order into a peak day nearby with some chance
        if rnd.random() < 0.3:
            d = pick_day_between(max(0, d - 30), min(DAYS, d + 30))
        idx = sale_index(d)
        odept = second if (second and rnd.random() < 0.4) else dept
        ids, cums = idx[odept]
        if not ids:
            continue
        order_no += 1
        ts = START + timedelta(days=d, seconds=rnd.randint(6 * 3600, 23 * 3600))
        lines = []
        n_anchor = 1 + (rnd.random() < 0.35) + (rnd.random() < 0.12)
        for _ in range(n_anchor):
            c = cums[aff]
            si = ids[bisect.bisect_left(c, rnd.uniform(0, c[-1]))]
            picks = [si]
            st = styles[si]
            if st['outfit'] >= 0 and rnd.random() < 0.45:   # the rest of the outfit
                mates = [m for m in outfit_members[st['outfit']] if m != si and styles[m]['role'] != st['role']]
                rnd.shuffle(mates)
                picks += mates[:rnd.choice([1, 1, 2])]
            for pi in picks:
                ps = styles[pi]
                col = rnd.choices(ps['cols'], ps['colpop'])[0]
                size = 'one size' if ps['role'] == 'acc' else sizes[ps['dept']]
                if rnd.random() < 0.05 and ps['role'] != 'acc':
                    size = rnd.choice(DEPTS[ps['dept']][0])
                vi = ps['variants'].get((col, size))
                if vi is None:
                    continue
                lines.append((vi, False))
                if ps['role'] not in ('acc', 'basic') and rnd.random() < 0.04:   # size bracketing: another size too
                    sz = DEPTS[ps['dept']][0]
                    j = sz.index(size)
                    alt = sz[j + 1] if j + 1 < len(sz) else sz[j - 1]
                    lines.append((ps['variants'][(col, alt)], True))
                elif rnd.random() < 0.03:   # rarely another colour
                    other = [c2 for c2 in ps['cols'] if c2 != col]
                    if other and (other[0], size) in ps['variants']:
                        lines.append((ps['variants'][(other[0], size)], False))
        if rnd.random() < 0.08:   # a basic on the side
            bs = [i for i in range(n_styles, len(styles)) if styles[i]['dept'] == odept]
            if bs:
                ps = styles[rnd.choice(bs[:max(1, len(bs) // 3)])]
                lines.append((ps['variants'][(rnd.choice(ps['cols']), sizes[ps['dept']])], False))
        seen = set()
        oid = f'SO-{order_no}'
        for vi, bracket in lines:
            if vi in seen:
                continue
            seen.add(vi)
            p = products[vi]
            disc = 1.0
            if ts.month in (1,) or (ts.month == 11 and ts.day >= 20):
                disc = rnd.choice([0.7, 0.8, 1.0])
            price = round(p['price'] * disc, 2)
            qty = 1 if rnd.random() < 0.93 else 2
            line_rows.append((oid, cid, p['id'], qty, price, ts.isoformat(timespec='seconds')))
            n_lines += 1
            ret = 0.8 if bracket else (0.30 if p['cat'].split('/')[1] in ('dresses', 'jeans', 'trousers', 'shoes', 'coats', 'girls') else 0.18)
            if rnd.random() < ret:
                rts = ts + timedelta(days=rnd.randint(3, 21), hours=rnd.randint(0, 10))
                if rts <= END:
                    line_rows.append((oid, cid, p['id'], -qty, price, rts.isoformat(timespec='seconds')))
                    n_returns += 1
line_rows.sort(key=lambda r: r[5])

# ---------------------------------------------------------------- the shop's own export
last_day = END - timedelta(days=14)
with open(os.path.join(OUT, 'shop', 'products.csv'), 'w', newline='') as f:
    w = csv.writer(f)
    # item_group_id: the style again, under the name a Merchant Center feed gives it (last, as in items.csv), so a
    # mapping of this export to the generic format keeps the sizes and colours of one style together.
    w.writerow(['sku', 'product_name', 'category_path', 'price_eur', 'colour', 'size', 'style_code', 'season', 'active', 'item_group_id'])
    for p in products:
        st = styles[p['style']]
        active = on_sale(st, last_day) or on_sale(st, END)
        w.writerow([p['id'], p['title'], p['cat'], f"{p['price']:.2f}", p['colour'], p['size'], p['code'], p['season'], 1 if active else 0, p['code']])
with open(os.path.join(OUT, 'shop', 'customers.csv'), 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['customer_no', 'country_code', 'signup_date', 'main_department'])
    w.writerows(cust_rows)
with open(os.path.join(OUT, 'shop', 'order_lines.csv'), 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['order_no', 'customer_no', 'sku', 'qty', 'unit_price_eur', 'created_at'])
    w.writerows(line_rows)

# ---------------------------------------------------------------- the same in the generic import format
with open(os.path.join(OUT, 'generic', 'items.csv'), 'w', newline='') as f:
    w = csv.writer(f)
    # item_group_id: the style, whose colour/size variants are separate products (served one per group); last,
    # so the columns before it are what they were.
    w.writerow(['id', 'title', 'categories', 'price', 'available', 'colour', 'size', 'style_code', 'season', 'item_group_id'])
    for p in products:
        st = styles[p['style']]
        active = on_sale(st, last_day) or on_sale(st, END)
        w.writerow([p['id'], p['title'], p['cat'], f"{p['price']:.2f}", 'true' if active else 'false', p['colour'], p['size'], p['code'], p['season'], p['code']])
with open(os.path.join(OUT, 'generic', 'users.csv'), 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['id', 'country', 'signup_date', 'main_department'])
    w.writerows(cust_rows)
with open(os.path.join(OUT, 'generic', 'events.csv'), 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['order_id', 'user_id', 'item_id', 'quantity', 'price', 'ts'])
    w.writerows(line_rows)
print(f'{len(products)} products ({n_styles} styles, {n_basic} basics), {len(cust_rows)} customers, '
      f'{n_lines} purchase lines, {n_returns} return lines ({n_returns / (n_lines + n_returns):.1%}), '
      f'{order_no - 100000} orders, {START.date()}..{END.date()}', file=sys.stderr)
