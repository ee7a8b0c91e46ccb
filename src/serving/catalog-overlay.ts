/**
 * Keeps a served model's item table in step with the catalog: an item marked unavailable (or re-priced,
 * re-categorised, put into a product group) after training must not be recommended on the strength of
 * training-time data.
 * The request path never waits for this: it only "pokes" the overlay, which at most every `intervalMs`
 * reads the changed items in the background and patches the model's arrays in place.
 *
 * Which items a pass reads: the first, those written by a transaction the training's snapshot (info.catalogSnapshot,
 * taken before it read the catalogue) did not see, or for a version trained without one, those stamped (updated_at)
 * since a while before the version's training; every later one, those written (items.write_xid, migration 034) by a transaction the last pass's
 * snapshot did not see (still in flight then, or begun after) and its own does (one still in flight is left to the
 * next pass: an open sync's rows are not stepped over at every pass). updated_at is its transaction's start time, so no
 * window of time catches a long sync that commits after a pass that read a later, shorter edit; and a catalogue
 * written in one transaction has one stamp for all of it, which a window behind the cursor re-read every pass
 * for good (60,542 rows every 2 s on the fashion shop). By transaction, a quiet catalogue reads no row.
 */
import { CATALOG_SNAPSHOT_SQL } from '../data/catalog-repository.js';
import { forgetCategoryMasks } from './category-match.js';
import { forgetNewItemRecord } from './new-item-records.js';
import type { Db } from '../data/db.js';
import type { ServingModel } from './serving-model.js';

interface ChangedItem {
  id: string;
  title: string;
  categories: string[];
  price: number | null;
  available: boolean;
  item_group_id: string | null;
  /** The keyset of the pass: updated_at (the first pass), write_xid (the later ones) or id (a full read), as text. */
  k: string;
}

const PAGE = 5000;
/** pg_snapshot's text: xmin:xmax:xip,xip,... */
const SNAPSHOT = /^\d+:\d+:(\d+(,\d+)*)?$/;
/** Changes this long before the model's training time are re-read: the catalog may have been read earlier. */
const SLACK_MS = 3_600_000;

interface State {
  /** Where the first pass starts: updated_at since a while before training. */
  since: string;
  /** pg_current_snapshot() taken before the last pass that finished, else the training's before it read the catalogue (null: neither). */
  seen: string | null;
  /**
   * The run of the server that took `seen` (CATALOG_SNAPSHOT_SQL). A server that crashed (or a replica promoted in its place) starts
   * from the last transaction id its WAL on disk names and hands out again the ids of transactions that left nothing
   * durable: a write by one of those is below `seen`'s xmax, not in its xip list, and would look seen.
   */
  server: string | null;
  at: number;
  running: Promise<void> | null;
}

export interface CatalogOverlay {
  /**
   * Starts a background refresh when the last one is older than the interval, or with `now` (a timer that
   * ticks every interval, so a change shows within one tick) unless one is running; never waits, never throws.
   */
  poke(model: ServingModel, now?: boolean): void;
  /** Applies all catalog changes now (tests; after activating a version). */
  refresh(model: ServingModel): Promise<void>;
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, k) => x === b[k]);

/** The group id of item `i` in the model's table (null: none). */
function groupOf(model: ServingModel, i: number): string | null {
  const groups = model.items.groups;
  const g = groups ? groups.of[i] : -1;
  return g >= 0 ? groups!.ids[g] : null;
}

/** Puts item `i` into the group with this id (null: a group of its own), making the table's groups on the first one. */
function setGroup(model: ServingModel, i: number, id: string | null): void {
  let groups = model.items.groups;
  if (!groups) {
    if (id === null) return;
    groups = model.items.groups = { of: new Int32Array(model.items.ids.length).fill(-1), ids: [], index: new Map() };
  }
  // The groups' members as the picker knew them are out of date (picker.ts standIn).
  delete groups.members;
  if (id === null) {
    groups.of[i] = -1;
    return;
  }
  let g = groups.index.get(id);
  if (g === undefined) groups.index.set(id, (g = groups.ids.push(id) - 1));
  groups.of[i] = g;
}

const COLUMNS = 'id, title, categories, price, available, item_group_id';
/** The first pass: every item stamped since the state's start, keyset on (updated_at, id). */
const SINCE_SQL = `SELECT ${COLUMNS}, updated_at::text AS k FROM items
  WHERE (updated_at, id) > ($1::timestamptz, $2::text) ORDER BY updated_at, id LIMIT ${PAGE}`;
/**
 * The whole catalogue (after Postgres restarted: `seen`'s ids say nothing), keyset on id: each page an index range of
 * the primary key. On (updated_at, id), which no index covers, every page scanned and sorted the whole table
 * (605,420 items: 55 s, bench/README.md).
 */
const ALL_SQL = `SELECT ${COLUMNS}, id AS k FROM items WHERE id > $1::text ORDER BY id LIMIT ${PAGE}`;
/*
 * A later pass: the items written by a transaction that the pass's own snapshot (`now`, taken before its reads) sees
 * and the last pass's (`seen`) did not: one in flight then (its xip list: an index lookup each) or begun after it
 * (from its xmax: an index range, empty while the catalogue is quiet), and in neither case in flight in `now`.
 * A transaction still in flight in `now` (or begun after it) is left to the next pass, whose `seen` is `now`: its
 * rows are not visible yet, and should it commit before the reads they are read again next pass, as anything that
 * commits after `now` is. Looking it up anyway re-checked every row of an open catalogue sync (index entry and
 * row, to find it invisible) at every pass, every 2 s in every serving process; the range stops at `now`'s xmax,
 * as a sync with the newest transaction id is past it, and in no xip list, until something after it ends.
 * Not the range from `seen`'s xmin: that is the oldest transaction open anywhere on the server (another database's
 * long import), and every item written since would be scanned each pass. Keyset on (write_xid, id). The range's
 * first page names its start alone: beside a row comparison, btree starts a scan from the row's bound, and
 * `(write_xid, id) > (0, '')` walked the whole index.
 */
const IN_FLIGHT_SQL = `SELECT ${COLUMNS}, write_xid::text AS k FROM items
  WHERE write_xid = ANY ($1::xid8[]) AND (write_xid, id) > ($2::xid8, $3::text) ORDER BY write_xid, id LIMIT ${PAGE}`;
/*
 * The range is read as the gaps between the ids still in flight in `now`, each an index range [$1, $2): as a filter
 * beside one range (`write_xid <> ALL (...)`), the open sync's rows were still fetched, index entry and row, to be
 * dropped, at the pass after anything past its id ended (on a live shop, the next one).
 */
const BEGUN_AFTER_SQL = `SELECT ${COLUMNS}, write_xid::text AS k FROM items
  WHERE write_xid >= $1::xid8 AND write_xid < $2::xid8 ORDER BY write_xid, id LIMIT ${PAGE}`;
const BEGUN_AFTER_NEXT_SQL = `SELECT ${COLUMNS}, write_xid::text AS k FROM items
  WHERE (write_xid, id) > ($1::xid8, $2::text) AND write_xid < $3::xid8 ORDER BY write_xid, id LIMIT ${PAGE}`;

/** [from, to) less the ids in `out`: the gaps between them, each [lo, hi) and not empty (ids as decimal text). */
export function gapsOf(from: string, to: string, out: readonly string[]): [string, string][] {
  const end = BigInt(to);
  const cuts = [...new Set(out.map((x) => BigInt(x)))].filter((x) => x >= BigInt(from) && x < end).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const gaps: [string, string][] = [];
  let lo = BigInt(from);
  for (const cut of [...cuts, end]) {
    if (lo < cut) gaps.push([String(lo), String(cut)]);
    lo = cut + 1n;
  }
  return gaps;
}

export function createCatalogOverlay(deps: {
  db: Db;
  intervalMs?: number;
  log?: (msg: string, err?: unknown) => void;
  /** Told the rows each finished pass read (a metric; tests). */
  onRowsRead?: (rows: number) => void;
}): CatalogOverlay {
  const intervalMs = deps.intervalMs ?? 2000;
  const states = new WeakMap<ServingModel, State>();

  const stateOf = (model: ServingModel) => {
    let s = states.get(model);
    if (!s) {
      // trainedAt is stamped after fitting: go back over the training's own steps too.
      const durations = Object.values((model.meta.info?.durations ?? {}) as Record<string, unknown>);
      const trainingMs = durations.reduce<number>((sum, d) => sum + (typeof d === 'number' ? d : 0), 0);
      const since = new Date(Date.parse(model.meta.trainedAt) - SLACK_MS - trainingMs);
      // A version whose training took the catalogue's snapshot before reading it: the first pass reads, like every
      // later one, what that snapshot could not see (a sync that began long before training and committed after its
      // read has an updated_at older than any window). Versions trained before that: by time, since a while before.
      const taken = model.meta.info?.catalogSnapshot as { snapshot?: unknown; server?: unknown } | undefined;
      const valid = typeof taken?.snapshot === 'string' && SNAPSHOT.test(taken.snapshot) && typeof taken.server === 'string';
      const [seen, server] = valid ? [taken.snapshot as string, taken.server as string] : [null, null];
      states.set(model, (s = { since: Number.isNaN(since.getTime()) ? '-infinity' : since.toISOString(), seen, server, at: -Infinity, running: null }));
    }
    return s;
  };

  /** Pages of at most PAGE rows, keyset-read: `first` reads the first, `next` the one after a row's key. */
  async function* keyset(first: () => Promise<ChangedItem[]>, next: (k: string, id: string) => Promise<ChangedItem[]>): AsyncGenerator<ChangedItem[]> {
    for (let rows = await first(); ; ) {
      yield rows;
      if (rows.length < PAGE) return;
      const last = rows[rows.length - 1];
      rows = await next(last.k, last.id);
    }
  }
  const read = async (sql: string, params: unknown[]) => (await deps.db.query<ChangedItem>(sql, params)).rows;

  /**
   * The changes a pass reads: since the state's start (`seen` null: the first pass), else those written by the
   * transactions that `now` (the pass's snapshot, `seen` of the next pass) sees and `seen` did not (IN_FLIGHT_SQL).
   */
  async function* changes(seen: string | null, since: string, now: string): AsyncGenerator<ChangedItem[]> {
    if (seen === null) {
      yield* keyset(() => read(SINCE_SQL, [since, '']), (k, id) => read(SINCE_SQL, [k, id]));
      return;
    }
    // pg_snapshot's text: xmin:xmax:xip,xip,...
    const [, xmax, xip] = seen.split(':');
    const [, nowXmax, nowXip] = now.split(':');
    const stillOpen = nowXip ? nowXip.split(',') : [];
    const open = xip ? xip.split(',').filter((x) => !stillOpen.includes(x)) : [];
    if (open.length > 0) {
      yield* keyset(() => read(IN_FLIGHT_SQL, [open, '0', '']), (k, id) => read(IN_FLIGHT_SQL, [open, k, id]));
    }
    // Nothing ended since `seen`: no gap, the range is not read.
    for (const [lo, hi] of gapsOf(xmax, nowXmax, stillOpen)) {
      yield* keyset(() => read(BEGUN_AFTER_SQL, [lo, hi]), (k, id) => read(BEGUN_AFTER_NEXT_SQL, [k, id, hi]));
    }
  }

  async function apply(model: ServingModel, s: State): Promise<void> {
    const { index, available, price, categories, titles } = model.items;
    // Taken before the reads: what commits between it and them is read now and again by the next pass
    // (a row that did not change is no change), and nothing that commits after it is missed.
    const { snapshot, server } = (await deps.db.query<{ snapshot: string; server: string }>(CATALOG_SNAPSHOT_SQL)).rows[0];
    // Started since `seen` was taken: its ids say nothing of what the server handed out since; the whole catalogue
    // is read once (by id: ALL_SQL).
    const restarted = s.seen !== null && s.server !== server;
    let rowsRead = 0;
    const all = () => keyset(() => read(ALL_SQL, ['']), (_k, id) => read(ALL_SQL, [id]));
    for await (const rows of restarted ? all() : changes(s.seen, s.since, snapshot)) {
      rowsRead += rows.length;
      let changed = false;
      let recategorised = false;
      for (const r of rows) {
        const i = index.get(r.id);
        // A product the version does not know: a cart's kept record of it is read again.
        if (i === undefined) {
          forgetNewItemRecord(model, r.id);
          continue;
        }
        // A row read again (committed between a pass's snapshot and its reads): only a real difference counts as a change.
        const p = r.price ?? Number.NaN;
        const title = r.title || titles[i];
        const regrouped = groupOf(model, i) !== r.item_group_id;
        if (!regrouped && available[i] === (r.available ? 1 : 0) && Object.is(price[i], p) && titles[i] === title && sameList(categories[i], r.categories)) continue;
        if (regrouped) setGroup(model, i, r.item_group_id);
        available[i] = r.available ? 1 : 0;
        price[i] = p;
        if (!sameList(categories[i], r.categories)) recategorised = true;
        categories[i] = r.categories;
        titles[i] = title;
        changed = true;
      }
      // Finished answers may name a changed item: they are recomputed from the patched arrays. The patch
      // and the clearing happen in one synchronous step, so no answer mixes old and new catalog state.
      if (changed) model.answers.clear();
      if (recategorised) forgetCategoryMasks(categories);
    }
    // Only a pass that read every page moves on: a failed one leaves the next to read the same again.
    s.seen = snapshot;
    s.server = server;
    deps.onRowsRead?.(rowsRead);
  }

  function run(model: ServingModel, s: State): Promise<void> {
    s.at = performance.now();
    s.running ??= apply(model, s)
      .catch((err) => deps.log?.('catalog overlay refresh failed', err))
      .finally(() => (s.running = null));
    return s.running;
  }

  return {
    poke(model, now = false) {
      const s = stateOf(model);
      if (!s.running && (now || performance.now() - s.at >= intervalMs)) void run(model, s);
    },
    async refresh(model) {
      const s = stateOf(model);
      if (s.running) await s.running;
      await run(model, s);
    },
  };
}
