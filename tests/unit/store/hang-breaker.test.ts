import { describe, expect, it } from 'vitest';
import { HANG_SKIP_MS, HANG_TRIP, SKIPPED_MESSAGE, withHangBreaker } from '../../../src/store/hang-breaker.js';
import { dependencyFailure } from '../../../src/errors.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';

describe('a model store skipped while it hangs', () => {
  it('When calls give up at the timeout three times in a row, Then calls fail at once, never asked, until its own ping or a readiness ping answers', async () => {
    const memory = await createMemoryModelStore();
    let t = 0;
    let mode: 'hang' | 'refuse' | 'ok' = 'hang';
    let asked = 0;
    let pings = 0;
    const store = withHangBreaker(
      {
        ...memory,
        getActive: async () => {
          asked++;
          if (mode === 'hang') throw new Error('model store at redis://x:6379: Command timed out');
          if (mode === 'refuse') throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
          return null;
        },
        ping: async () => {
          pings++;
          return mode === 'ok';
        },
      },
      { now: () => t },
    );
    const outcome = () => store.getActive().then(() => 'ok', (err: Error) => err.message);
    for (let n = 0; n < HANG_TRIP; n++) expect(await outcome()).toMatch(/Command timed out$/);
    expect(asked).toBe(HANG_TRIP);
    // Skipped: not asked, and a dependency failure as the timeout was (503, Retry-After).
    expect(await outcome()).toBe(SKIPPED_MESSAGE);
    expect(asked).toBe(HANG_TRIP);
    await store.getActive().catch((err: unknown) => expect(dependencyFailure(err)?.code).toBe('DEPENDENCY_UNAVAILABLE'));
    // HANG_SKIP_MS on, a call is still skipped (no request waits out a timeout as the probe): it sends a
    // ping in the background, and no other is sent within HANG_SKIP_MS of it.
    const settled = () => new Promise((r) => setImmediate(r));
    t += HANG_SKIP_MS + 1;
    expect(await outcome()).toBe(SKIPPED_MESSAGE);
    await settled();
    expect([asked, pings]).toEqual([HANG_TRIP, 1]);
    t += HANG_SKIP_MS - 10;
    expect(await outcome()).toBe(SKIPPED_MESSAGE);
    await settled();
    expect([asked, pings]).toEqual([HANG_TRIP, 1]);
    // The store answers again: the next probe's ping ends the skip, and calls are asked again.
    mode = 'ok';
    t += 20;
    expect(await outcome()).toBe(SKIPPED_MESSAGE);
    await settled();
    expect(pings).toBe(2);
    expect(await outcome()).toBe('ok');
    expect(asked).toBe(HANG_TRIP + 1);
    // Tripped again: a readiness ping that answers ends the skip as well.
    mode = 'hang';
    for (let n = 0; n < HANG_TRIP; n++) expect(await outcome()).toMatch(/Command timed out$/);
    expect(await outcome()).toBe(SKIPPED_MESSAGE);
    mode = 'ok';
    expect(await store.ping()).toBe(true);
    expect(await outcome()).toBe('ok');
    expect(asked).toBe(2 * HANG_TRIP + 2);
    // A store that refuses connections fails fast already: it never trips the skip.
    mode = 'refuse';
    for (let n = 0; n < HANG_TRIP + 2; n++) expect(await outcome()).toBe('connect ECONNREFUSED');
    expect(asked).toBe(2 * HANG_TRIP + 2 + HANG_TRIP + 2);
    await memory.close();
  });

  it('When the skip starts, Then the store is asked to reconnect once, and the skip ends when the new connection answers, with no probe between', async () => {
    const memory = await createMemoryModelStore();
    let hanging = true;
    let reconnects = 0;
    let pings = 0;
    let connected: (up: boolean) => void = () => {};
    const store = withHangBreaker(
      {
        ...memory,
        getActive: async () => {
          if (hanging) throw new Error('Command timed out');
          return null;
        },
        ping: async () => {
          pings++;
          return false;
        },
        reconnect: () => {
          reconnects++;
          return new Promise<boolean>((resolve) => (connected = resolve));
        },
      },
      // The clock stands still: no probe is ever due.
      { now: () => 0 },
    );
    const outcome = () => store.getActive().then(() => 'ok', (err: Error) => err.message);
    for (let n = 0; n < HANG_TRIP; n++) await outcome();
    expect(reconnects).toBe(1);
    expect(await outcome()).toBe(SKIPPED_MESSAGE);
    hanging = false;
    connected(true);
    await new Promise((r) => setImmediate(r));
    expect(await outcome()).toBe('ok');
    expect([reconnects, pings]).toEqual([1, 0]);
    // A reconnect that could not be made (the store closed) leaves the skip to the probes.
    hanging = true;
    for (let n = 0; n < HANG_TRIP; n++) await outcome();
    expect(reconnects).toBe(2);
    hanging = false;
    connected(false);
    await new Promise((r) => setImmediate(r));
    expect(await outcome()).toBe(SKIPPED_MESSAGE);
    await memory.close();
  });

  it('When a start found its Redis silent, Then calls are skipped from the first one, never asked, until a ping answers', async () => {
    const memory = await createMemoryModelStore();
    let answers = false;
    let asked = 0;
    let reconnects = 0;
    const store = withHangBreaker(
      {
        ...memory,
        getActive: async () => {
          asked++;
          return null;
        },
        ping: async () => answers,
        // Its socket may be one a partition keeps open: a new one is asked for at once, as after a trip.
        reconnect: async () => (reconnects++, false),
      },
      { skipping: true },
    );
    expect(reconnects).toBe(1);
    const outcome = () => store.getActive().then(() => 'ok', (err: Error) => err.message);
    expect(await outcome()).toBe(SKIPPED_MESSAGE);
    expect(await store.ping()).toBe(false);
    expect(await outcome()).toBe(SKIPPED_MESSAGE);
    expect(asked).toBe(0);
    answers = true;
    expect(await store.ping()).toBe(true);
    expect(await outcome()).toBe('ok');
    expect(asked).toBe(1);
    await memory.close();
  });
});
