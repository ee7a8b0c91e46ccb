import type { Db } from './db.js';
import { INGEST_LOCK } from './erasure-repository.js';
import { SERVER_RUN_SQL } from './server-run.js';

export interface ItemInput {
  id: string;
  title?: string;
  description?: string | null;
  categories?: string[];
  price?: number | null;
  attributes?: Record<string, unknown>;
  available?: boolean;
  /** The product group (style) whose sizes and colours are separate items; null or absent: a group of its own. */
  itemGroupId?: string | null;
}

export interface ItemRecord {
  id: string;
  title: string;
  description: string | null;
  categories: string[];
  price: number | null;
  attributes: Record<string, unknown>;
  available: boolean;
  itemGroupId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface UserInput {
  id: string;
  attributes?: Record<string, unknown>;
}

export interface UserRecord {
  id: string;
  attributes: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** Last write wins for repeated ids in one batch (Postgres refuses to upsert one row twice in a statement). */
function lastById<T extends { id: string }>(rows: T[]): T[] {
  return [...new Map(rows.map((r) => [r.id, r])).values()];
}

/**
 * Inserts or replaces the users' attributes (ids distinct); returns how many were new. A row written here is
 * the shop's: one feedback had made stops being the retention sweep's to delete. Rows are written in
 * id order, as everywhere rows are upserted (event-repository ensureReferenced): two writers of the same
 * rows then lock them in the same order and cannot deadlock.
 */
async function writeUsers(db: Db, rows: UserInput[], merge = false): Promise<{ created: number; updated: number; written: UserRecord[] }> {
  if (rows.length === 0) return { created: 0, updated: 0, written: [] };
  const attributes = merge ? 'users.attributes || EXCLUDED.attributes' : 'EXCLUDED.attributes';
  const { rows: result } = await db.query<Record<string, unknown> & { created: boolean }>(
    `INSERT INTO users (id, attributes)
     SELECT id, attributes FROM unnest($1::text[], $2::jsonb[]) AS u(id, attributes) ORDER BY id
     ON CONFLICT (id) DO UPDATE SET attributes = ${attributes}, made_by_feedback = false, updated_at = now()
     RETURNING id, attributes, created_at, updated_at, (xmax = 0) AS created`,
    [rows.map((r) => r.id), rows.map((r) => JSON.stringify(r.attributes ?? {}))],
  );
  const created = result.filter((r) => r.created).length;
  return { created, updated: result.length - created, written: result.map(toUser) };
}

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : String(d));

const toItem = (r: Record<string, unknown>): ItemRecord => ({
  id: r.id as string,
  title: r.title as string,
  description: (r.description as string | null) ?? null,
  categories: r.categories as string[],
  price: (r.price as number | null) ?? null,
  attributes: r.attributes as Record<string, unknown>,
  available: r.available as boolean,
  itemGroupId: (r.item_group_id as string | null) ?? null,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const toUser = (r: Record<string, unknown>): UserRecord => ({
  id: r.id as string,
  attributes: r.attributes as Record<string, unknown>,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

/** Ids per statement of untitledAmong. */
const UNTITLED_SLICE = 10_000;

export type CatalogRepository = ReturnType<typeof createCatalogRepository>;

/**
 * pg_current_snapshot() as text, and which run of the server took it: its start, and the time its shared statistics
 * were last reset, which the crash recovery that follows a killed backend does without restarting the postmaster (a
 * manual pg_stat_reset_shared('archiver') too: one needless full read). Transaction ids are handed out again after a
 * crash or a failover (those of transactions that left nothing durable), so a snapshot says what was seen only on
 * the run that took it.
 */
export const CATALOG_SNAPSHOT_SQL = `SELECT pg_current_snapshot()::text AS snapshot, ${SERVER_RUN_SQL} AS server`;

/** Items and users: the catalog and the customer attributes, upserted whole (PUT semantics) or merged (mergeItems, mergeAttributes). */
export function createCatalogRepository(db: Db) {
  return {
    /**
     * Inserts or replaces items; returns how many were new. `keepGroups`: a stored item keeps its product group
     * whatever the input says (an items.csv without the item_group_id column: a price feed does not know them).
     */
    async upsertItems(items: ItemInput[], opts: { keepGroups?: boolean } = {}): Promise<{ created: number; updated: number }> {
      const rows = lastById(items);
      if (rows.length === 0) return { created: 0, updated: 0 };
      const { rows: result } = await db.query<{ created: boolean }>(
        `INSERT INTO items (id, title, description, categories, price, attributes, available, item_group_id)
         SELECT id, title, description, categories::text[], price, attributes, available, item_group_id
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::jsonb[], $7::bool[], $8::text[])
           AS u(id, title, description, categories, price, attributes, available, item_group_id) ORDER BY id
         ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, description = EXCLUDED.description,
           categories = EXCLUDED.categories, price = EXCLUDED.price, attributes = EXCLUDED.attributes,
           available = EXCLUDED.available, item_group_id = CASE WHEN $9::bool THEN items.item_group_id ELSE EXCLUDED.item_group_id END, updated_at = now()
         RETURNING (xmax = 0) AS created`,
        [
          rows.map((r) => r.id),
          rows.map((r) => r.title ?? ''),
          rows.map((r) => r.description ?? null),
          rows.map((r) => toPgArray(r.categories ?? [])),
          rows.map((r) => r.price ?? null),
          rows.map((r) => JSON.stringify(r.attributes ?? {})),
          rows.map((r) => r.available ?? true),
          rows.map((r) => r.itemGroupId ?? null),
          opts.keepGroups === true,
        ],
      );
      const created = result.filter((r) => r.created).length;
      return { created, updated: result.length - created };
    },

    /**
     * What a purchases file knows of its products (Online Retail): inserts the new ones, and of stored ones
     * sets only the title (an empty one leaves it as it is) and the price (a null one too), keeping the
     * description, categories, attributes, availability and product group the catalogue or the API wrote. Returns how
     * many were new.
     */
    async mergeItems(items: { id: string; title: string; price: number | null }[]): Promise<{ created: number; updated: number }> {
      const rows = lastById(items);
      if (rows.length === 0) return { created: 0, updated: 0 };
      const { rows: result } = await db.query<{ created: boolean }>(
        `INSERT INTO items (id, title, price)
         SELECT id, title, price FROM unnest($1::text[], $2::text[], $3::float8[]) AS u(id, title, price) ORDER BY id
         ON CONFLICT (id) DO UPDATE SET title = CASE WHEN EXCLUDED.title = '' THEN items.title ELSE EXCLUDED.title END,
           price = COALESCE(EXCLUDED.price, items.price), updated_at = now()
         RETURNING (xmax = 0) AS created`,
        [rows.map((r) => r.id), rows.map((r) => r.title), rows.map((r) => r.price)],
      );
      const created = result.filter((r) => r.created).length;
      return { created, updated: result.length - created };
    },

    /** Which of `ids` the table holds (users or items). */
    async storedIds(table: 'users' | 'items', ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const { rows } = await db.query<{ id: string }>(`SELECT id FROM ${table === 'users' ? 'users' : 'items'} WHERE id = ANY($1::text[])`, [ids]);
      return new Set(rows.map((r) => r.id));
    },

    /**
     * Of `ids`, the customers once stored: those the users table holds, or an erasure recorded (erased_users,
     * which records only ids Postgres held: the erasure deleted their row). One statement.
     */
    async storedOrErasedUserIds(ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const { rows } = await db.query<{ id: string }>(
        'SELECT id FROM users WHERE id = ANY($1::text[]) UNION SELECT user_id FROM erased_users WHERE user_id = ANY($1::text[])',
        [ids],
      );
      return new Set(rows.map((r) => r.id));
    },

    async getItem(id: string): Promise<ItemRecord | null> {
      const { rows } = await db.query('SELECT * FROM items WHERE id = $1', [id]);
      return rows[0] ? toItem(rows[0]) : null;
    },

    async getItems(ids: string[]): Promise<ItemRecord[]> {
      const { rows } = await db.query('SELECT * FROM items WHERE id = ANY($1::text[])', [ids]);
      return rows.map(toItem);
    },

    /**
     * How many of `ids` are stored without a title, and the first few of them by id: products that only
     * events named (an import's data team is told, so it can describe them).
     */
    async untitledAmong(ids: readonly string[], keep: number): Promise<{ count: number; first: string[] }> {
      let count = 0;
      let first: string[] = [];
      // In slices, so an events-only import of a large catalogue is not one statement of every id.
      for (let at = 0; at < ids.length; at += UNTITLED_SLICE) {
        const { rows } = await db.query<{ n: number; first: string[] | null }>(
          `SELECT count(*)::int AS n, (array_agg(id ORDER BY id))[1:$2] AS first FROM items WHERE id = ANY($1::text[]) AND title = ''`,
          [ids.slice(at, at + UNTITLED_SLICE), keep],
        );
        count += rows[0].n;
        first = [...first, ...(rows[0].first ?? [])].sort().slice(0, keep);
      }
      return { count, first };
    },

    /**
     * pg_current_snapshot() as text (xmin:xmax:xip,...) and the server's run (CATALOG_SNAPSHOT_SQL): taken
     * before a training reads the catalogue, it names the transactions whose item writes that read could not see
     * (the catalog overlay's first pass reads those). A server started since may hand out the same ids again.
     */
    async snapshot(): Promise<{ snapshot: string; server: string }> {
      return (await db.query<{ snapshot: string; server: string }>(CATALOG_SNAPSHOT_SQL)).rows[0];
    },

    async listItems(): Promise<ItemRecord[]> {
      const { rows } = await db.query('SELECT * FROM items ORDER BY id');
      return rows.map(toItem);
    },

    /**
     * One user's attributes written, and the row as written (one statement: a read-back could find the row
     * already gone, deleted by an erasure that came right after, and answered PUT /v1/users/:id with a 500).
     */
    async putUser(user: UserInput): Promise<UserRecord> {
      return (await writeUsers(db, [user])).written[0];
    },

    /**
     * Inserts or replaces users' attributes; returns how many were new. `unlessErased` (imports): a
     * customer erased and not come back since is not stored but counted as `erased`, so a users file
     * imported again does not bring back what was erased; it waits for an erasure under way, as event
     * ingestion does (INGEST_LOCK). A customer who came back after the erasure is updated: one with a
     * purchase stored (every purchase dated before the erasure was deleted with it, or refused since) or
     * with attributes written (PUT /v1/users/:id: the erasure deleted the row). A bare row does not count:
     * feedback and views re-create it for the id they name (a storefront session still open after the
     * erasure sends impressions), and the old attributes must not come back with the next import.
     * `mergeAttributes`: the rows' attributes are added to the stored ones (a key given replaces its value,
     * the others are kept), for a file that knows one attribute of its customers (Online Retail's country),
     * not their whole profile.
     */
    async upsertUsers(users: UserInput[], opts: { unlessErased?: boolean; mergeAttributes?: boolean } = {}): Promise<{ created: number; updated: number; erased: number }> {
      if (!opts.unlessErased) {
        const { created, updated } = await writeUsers(db, lastById(users), opts.mergeAttributes);
        return { created, updated, erased: 0 };
      }
      return db.transaction(async (tx) => {
        await tx.query(INGEST_LOCK);
        const rows = lastById(users);
        const { rows: gone } = await tx.query<{ user_id: string }>(
          `SELECT e.user_id FROM erased_users e WHERE e.user_id = ANY($1::text[])
             AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = e.user_id AND u.attributes <> '{}'::jsonb)
             AND NOT EXISTS (SELECT 1 FROM purchase_events p WHERE p.user_id = e.user_id)`,
          [rows.map((r) => r.id)],
        );
        const erased = new Set(gone.map((r) => r.user_id));
        const { created, updated } = await writeUsers(tx, rows.filter((r) => !erased.has(r.id)), opts.mergeAttributes);
        return { created, updated, erased: erased.size };
      });
    },

    /**
     * A customer's record (null when there is none). `unlessOwed`: also null while their erasure is owed (a row of
     * erasure_requests, asked and not completed), read in the same statement: what a customer's own read-back answers
     * (their record, purchases, profile), exact whichever process recorded the ask and whether or not this one has
     * heard of it yet (its list of erasures owed, owed-erasures.ts, learns of another's within ERASURE_REFRESH_MS).
     */
    async getUser(id: string, opts: { unlessOwed?: boolean } = {}): Promise<UserRecord | null> {
      const owed = opts.unlessOwed ? ' AND NOT EXISTS (SELECT 1 FROM erasure_requests r WHERE r.user_id = $1)' : '';
      const { rows } = await db.query(`SELECT * FROM users WHERE id = $1${owed}`, [id]);
      return rows[0] ? toUser(rows[0]) : null;
    },

    /** The records of these users that exist, in one query. */
    async getUsers(ids: readonly string[]): Promise<UserRecord[]> {
      const { rows } = await db.query('SELECT * FROM users WHERE id = ANY($1::text[])', [ids]);
      return rows.map(toUser);
    },

    /**
     * The users with attributes, by id: what a dataset takes of the users table besides its buyers (a
     * customer without events is kept for their attributes only, dataset.ts). A row made by a browser's
     * feedback alone has none, and is not read: the public key can make millions of them.
     */
    async listUsersWithAttributes(): Promise<UserRecord[]> {
      const { rows } = await db.query("SELECT * FROM users WHERE attributes <> '{}'::jsonb ORDER BY id");
      return rows.map(toUser);
    },

    async counts(): Promise<{ items: number; users: number }> {
      const { rows } = await db.query<{ items: number; users: number }>(
        'SELECT (SELECT count(*)::int FROM items) AS items, (SELECT count(*)::int FROM users) AS users',
      );
      return rows[0];
    },
  };
}

/** A Postgres array literal for one text[] value, so arrays of arrays can travel through unnest. */
export function toPgArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}
