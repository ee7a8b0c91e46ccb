/**
 * Keeps a served model's item table in step with the catalog: an item marked unavailable (or re-priced,
 * re-categorised, put into a product group) after training must not be recommended on the strength of
 * training-time data.
 * The request path never waits for this: it only "pokes" the overlay, which at most every `intervalMs`
 * reads the items changed since its cursor (keyset on updated_at, id) in the background and patches
 * the model's arrays in place.
 */
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
  u: string;
}

const PAGE = 5000;
/** How far back each refresh re-reads, for transactions that committed after a pass passed their stamp. */
const OVERLAP = '60 seconds';
/** Changes this long before the model's training time are re-read: the catalog may have been read earlier. */
const SLACK_MS = 3_600_000;

interface State {
  cursor: [string, string];
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

export function createCatalogOverlay(deps: { db: Db; intervalMs?: number; log?: (msg: string, err?: unknown) => void }): CatalogOverlay {
  const intervalMs = deps.intervalMs ?? 2000;
  const states = new WeakMap<ServingModel, State>();

  const stateOf = (model: ServingModel) => {
    let s = states.get(model);
    if (!s) {
      // trainedAt is stamped after fitting: go back over the training's own steps too.
      const durations = Object.values((model.meta.info?.durations ?? {}) as Record<string, unknown>);
      const trainingMs = durations.reduce<number>((sum, d) => sum + (typeof d === 'number' ? d : 0), 0);
      const since = new Date(Date.parse(model.meta.trainedAt) - SLACK_MS - trainingMs);
      states.set(model, (s = { cursor: [Number.isNaN(since.getTime()) ? '-infinity' : since.toISOString(), ''], at: -Infinity, running: null }));
    }
    return s;
  };

  async function apply(model: ServingModel, s: State): Promise<void> {
    const { index, available, price, categories, titles } = model.items;
    // updated_at is its transaction's start time: a batch that began before the last pass but committed
    // after it carries an older stamp than the cursor. Each pass therefore starts a minute back.
    let overlap = OVERLAP;
    for (;;) {
      const { rows } = await deps.db.query<ChangedItem>(
        `SELECT id, title, categories, price, available, item_group_id, updated_at::text AS u FROM items
         WHERE (updated_at, id) > ($1::timestamptz - $3::interval, $2::text) ORDER BY updated_at, id LIMIT ${PAGE}`,
        [...s.cursor, overlap],
      );
      overlap = '0 seconds';
      let changed = false;
      let recategorised = false;
      for (const r of rows) {
        const i = index.get(r.id);
        // A product the version does not know: a cart's kept record of it is read again.
        if (i === undefined) {
          forgetNewItemRecord(model, r.id);
          continue;
        }
        // Each pass re-reads the last minute: only a real difference counts as a change.
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
      if (rows.length > 0) s.cursor = [rows[rows.length - 1].u, rows[rows.length - 1].id];
      if (rows.length < PAGE) return;
    }
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
