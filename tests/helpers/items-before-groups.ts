import type { ItemInput } from '../../src/data/catalog-repository.js';
import type { Db } from '../../src/data/db.js';

/**
 * Stores items in a schema migrated only part of the way (before 032 gave items their product group), with the
 * columns it has, as the release of that time wrote them: the repository writes every column of the current schema.
 */
export async function insertItemsBeforeGroups(db: Db, items: readonly ItemInput[]): Promise<void> {
  for (const item of items) {
    await db.query('INSERT INTO items (id, title, categories, price, available) VALUES ($1, $2, $3::text[], $4, $5)', [
      item.id,
      item.title ?? '',
      item.categories ?? [],
      item.price ?? null,
      item.available ?? true,
    ]);
  }
}
