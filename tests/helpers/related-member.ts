import type { Services } from '../../src/services.js';

/**
 * A related-tier member of some product's audience on `services` (buyers of related products; a candidate-tier one
 * is checked against the store's user index), and the query that lists them. The shop needs a recipe with one
 * candidate per customer (`candidates: { perUser: 1 }`) for audiences to reach that tier.
 */
export async function relatedMember(services: Services) {
  const model = (await services.serving.activeModel())!;
  for (const itemId of model.items.ids) {
    const q = { itemIds: [itemId], k: 1000, includeRecentBuyers: true };
    const member = (await services.audiences.audience(q))!.users.find((u) => u.tier === 'related');
    if (member) return { q, userId: member.userId };
  }
  throw new Error('no audience of the shop has a related-tier member');
}
