import { loadConfig } from '../../src/config.js';
import { createCatalogRepository } from '../../src/data/catalog-repository.js';
import { createEventRepository } from '../../src/data/event-repository.js';
import { openDatabase } from '../../src/data/open-database.js';

/** The purchases, products and customers of the shop in DATABASE_URL (imported with `npm run import`), as a training reads them. */
export async function loadShop() {
  const db = await openDatabase(loadConfig());
  try {
    const catalog = createCatalogRepository(db);
    const [events, items, users] = await Promise.all([createEventRepository(db).loadPurchaseRows(), catalog.listItems(), catalog.listUsersWithAttributes()]);
    return { events, items, users };
  } finally {
    await db.close();
  }
}
