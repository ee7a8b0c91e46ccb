import { expect } from 'vitest';
import { auth, type TestApp } from './app.js';

const DAY = 86_400_000;

/**
 * Two products (A, a mug at 10; B, a plate at 4) and 20 customers c0..c19, c<k> buying one of them (B for even k) on
 * day k from `base`, written through the API and trained (untuned): a shop whose latest purchase is c19's.
 */
export async function seedTwoItemShop(t: TestApp, base: number): Promise<void> {
  await t.app.inject({ method: 'PUT', url: '/v1/items/A', headers: auth('write'), payload: { title: 'mug', price: 10 } });
  await t.app.inject({ method: 'PUT', url: '/v1/items/B', headers: auth('write'), payload: { title: 'plate', price: 4 } });
  const events = Array.from({ length: 20 }, (_, k) => ({
    userId: `c${k}`, itemId: k % 2 ? 'A' : 'B', quantity: 1, orderId: `o${k}`, ts: new Date(base + k * DAY).toISOString(),
  }));
  expect((await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events } })).json().inserted).toBe(20);
  await t.services.trainer.train({ tune: false });
}
