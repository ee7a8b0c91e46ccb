import type { CatalogRepository } from '../../data/catalog-repository.js';
import { AppError } from '../../errors.js';

/** A customer's or product's id as an ingestion write names it, and where (the 400's field path). */
export interface NamedId {
  path: string;
  kind: 'user' | 'item';
  id: string;
}

/** White space at either end, as the importers trim a cell (String.prototype.trim: spaces, tabs, no-break spaces, line ends). */
const padded = (id: string): boolean => id !== id.trim();

/** Fields listed in the 400's details, as a validation error lists its first issues. */
const LISTED = 20;

/**
 * Refuses (400 VALIDATION_FAILED, each field named) the new customer and product ids of an ingestion write that
 * begin or end with white space. The importers trim every cell, ids included, so over the API such an id named
 * another customer or product than the same id imported: `SKU1 ` and `SKU1` were two products. Feedback sent with
 * a write key creates what it names and records its purchases, so it is held to this too. An id already stored
 * so (before this check, or by a browser's or read key's feedback, which takes any customer id) is not new: its
 * writes go on, so nothing stored is cut off. Reads and erasure take any id. Costs nothing unless an id is padded
 * (then one lookup of those ids per kind).
 */
export async function refuseNewPaddedIds(catalog: Pick<CatalogRepository, 'storedIds'>, named: NamedId[]): Promise<void> {
  const suspect = named.filter((n) => padded(n.id));
  if (suspect.length === 0) return;
  const idsOf = (kind: NamedId['kind']) => [...new Set(suspect.flatMap((n) => (n.kind === kind ? [n.id] : [])))];
  const [users, items] = await Promise.all([catalog.storedIds('users', idsOf('user')), catalog.storedIds('items', idsOf('item'))]);
  const fresh = suspect.filter((n) => !(n.kind === 'user' ? users : items).has(n.id));
  if (fresh.length === 0) return;
  const first = fresh[0];
  throw new AppError(
    'VALIDATION_FAILED',
    `${first.path} ${JSON.stringify(first.id)}${fresh.length > 1 ? ` and ${fresh.length - 1} more` : ''}: a new id must not begin or end with white space ` +
      `(the importers trim ids, so it would name another ${first.kind === 'user' ? 'customer' : 'product'} than the same id imported); send it trimmed`,
    fresh.slice(0, LISTED).map((n) => ({ path: n.path, message: 'a new id must not begin or end with white space (send it trimmed)' })),
  );
}
