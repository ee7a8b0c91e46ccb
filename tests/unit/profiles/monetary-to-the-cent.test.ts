import { describe, expect, it } from 'vitest';
import { computeProfiles } from '../../../src/profiles/profile.js';
import { segmentProfiles } from '../../../src/profiles/segments.js';
import { dataset, line } from './profile-fixtures.js';

// Monetary is documented as the sum of quantity x unit price, "counted to the cent, so equal spends share
// their score and tier however the basket was split into lines" (README "Profiles"). The API takes any
// unit price from 0 to 1e9 (fractions of a cent are common for parts sold by the reel). The profile rounds
// each unit price to a ten-thousandth (after holding it as a 32-bit float) before multiplying by the
// quantity: 100,000 units at 0.00045 count 40.00 instead of 45.00, and a unit price of 250,000.01 counts
// 250,000.02. Fails until mended.
describe('monetary to the cent', () => {
  const profiles = () =>
    new Map(
      segmentProfiles(
        computeProfiles(
          dataset([
            line('reel', 'r1', '2024-03-01T10:00:00Z', 'resistor', 100_000, 0.00045),
            line('box', 'b1', '2024-03-01T11:00:00Z', 'kit', 1, 45),
            line('press', 'p1', '2024-03-01T12:00:00Z', 'machine', 1, 250_000.01),
          ]),
        ),
      ).map((p) => [p.userId, p]),
    );

  it('When 100,000 units are bought at 0.00045, Then the spend is 45.00 and scores as a 45.00 basket does', () => {
    const p = profiles();
    expect(p.get('reel')!.monetary).toBe(45);
    expect(p.get('box')!.monetary).toBe(45);
    // Equal spends share p, so the M score and tier (three customers: 45, 45, 250,000.01 -> p = 1/3, 1/3, 5/6).
    expect({ m: p.get('reel')!.mScore, tier: p.get('reel')!.valueTier }).toEqual({ m: 2, tier: 'low' });
    expect({ m: p.get('box')!.mScore, tier: p.get('box')!.valueTier }).toEqual({ m: 2, tier: 'low' });
  });

  it('When one unit is bought at 250,000.01, Then the spend is 250,000.01', () => {
    expect(profiles().get('press')!.monetary).toBe(250_000.01);
  });

  it('When a spend lies on a half cent as Postgres reads the float (one unit at 2.675, or at 1.005), Then it is rounded up, as round(sum(quantity * price)::numeric, 2) gives', () => {
    // Both doubles lie just below the half (2.67499999999999982, 1.00499999999999989): rounded as binary
    // (toFixed(2)) they give 2.67 and 1.00, and Math.round(x * 100) / 100 gives 1.00 for the second. Postgres's
    // cast to numeric keeps 15 digits, 2.675 and 1.005, and rounds them to 2.68 and 1.01 (checked in psql).
    const spend = new Map(
      computeProfiles(dataset([line('a', 'a1', '2024-03-01T10:00:00Z', 'x', 1, 2.675), line('b', 'b1', '2024-03-01T11:00:00Z', 'x', 1, 1.005)])).map((p) => [p.userId, p.monetary]),
    );
    expect(Object.fromEntries(spend)).toEqual({ a: 2.68, b: 1.01 });
  });
});
