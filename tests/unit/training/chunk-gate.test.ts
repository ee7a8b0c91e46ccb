import { describe, expect, it } from 'vitest';
import { chunkGate, chunksInFlight, giveSlot, openGate, takeSlot, takeSlotSync } from '../../../src/training/chunk-gate.js';

/** Whether the promise has settled after the pending callbacks have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  return done;
}

describe('the gate on chunks handed on and not yet written', () => {
  it('When the limit is reached, Then the next taker waits until a slot is given back', async () => {
    const gate = chunkGate(2);
    await takeSlot(gate);
    takeSlotSync(gate);
    expect(chunksInFlight(gate)).toBe(2);
    const third = takeSlot(gate);
    expect(await settled(third)).toBe(false);
    giveSlot(gate);
    expect(await settled(third)).toBe(true);
    expect(chunksInFlight(gate)).toBe(2);
  });

  it('When the writer stops (the gate is opened), Then a waiting taker goes on, and nobody waits after', async () => {
    const gate = chunkGate(1);
    await takeSlot(gate);
    const waiting = takeSlot(gate);
    expect(await settled(waiting)).toBe(false);
    openGate(gate);
    expect(await settled(waiting)).toBe(true);
    for (let i = 0; i < 5; i++) takeSlotSync(gate);
    giveSlot(gate);
    expect(await settled(takeSlot(gate))).toBe(true);
  });

  it('When asked for a gate that holds nothing, Then it refuses', () => {
    expect(() => chunkGate(0)).toThrow(RangeError);
  });
});
