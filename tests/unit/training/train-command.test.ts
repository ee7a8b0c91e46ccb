import { describe, expect, it } from 'vitest';
import { formatTrainResult, parseTrainArgs } from '../../../src/cli/train-command.js';

describe('npm run train arguments', () => {
  it('When no argument is given, Then the default recipe on all data is meant', () => {
    expect(parseTrainArgs([])).toEqual({});
  });

  it('When a recipe and a window are given, Then days mean midnight UTC and both flag forms work', () => {
    expect(parseTrainArgs(['--recipe', 'fast', '--from=2011-01-01', '--to', '2011-06-01T12:00:00+02:00'])).toEqual({
      recipe: 'fast',
      from: '2011-01-01T00:00:00.000Z',
      to: '2011-06-01T10:00:00.000Z',
    });
  });

  it('When --tune or --no-tune is given, Then the training overrides the recipe\'s tune section', () => {
    expect(parseTrainArgs(['--tune', '--recipe', 'robust'])).toEqual({ tune: true, recipe: 'robust' });
    expect(parseTrainArgs(['--no-tune'])).toEqual({ tune: false });
  });

  it.each([
    [['--recipes', 'x'], /unknown argument "--recipes"/],
    [['--recipe'], /--recipe needs a value/],
    [['--from', 'yesterday'], /"yesterday" is not a date/],
    [['--to', '0000-01-01'], /--to: expected a time from 0001-01-01 to 9999-12-31/],
    [['--from', '9999-12-31T23:30:00-01:00'], /--from: expected a time from 0001-01-01 to 9999-12-31/],
    [['--recipe', 'a', '--recipe', 'b'], /given twice/],
    [['--from', '2011-02-01', '--to', '2011-01-01'], /--from must be before --to/],
    [['--tune', '--no-tune'], /given twice/],
    [['--tune=3'], /--tune takes no value/],
  ])('When the arguments are %j, Then they are refused before anything opens', (args, message) => {
    expect(() => parseTrainArgs(args)).toThrow(message);
  });

  it('When a training finished, Then the summary lists counts and durations in pipeline order, total last', () => {
    const text = formatTrainResult({
      version: 'v20261122T154500Z-3f9a',
      recipe: 'default',
      trainedAt: '2026-11-22T15:45:00.000Z',
      data: { events: 396337, users: 4334, items: 3659, orders: 18402, catalogItems: 3665 },
      // Stored as jsonb, so the keys come back in Postgres's order, not the run's.
      durations: { load: 900, total: 20500, write: 300, 'fit:als': 7000, publish: 5, serving: 6000, dataset: 400, 'fit:hybrid': 0.2 },
      contents: { artifacts: {}, tables: {} },
      activated: true,
    });
    const lines = text.split('\n').map((l) => l.trim().split(/\s{2,}/));
    expect(lines.slice(0, 6)).toEqual([
      ['version', 'v20261122T154500Z-3f9a'],
      ['recipe', 'default'],
      ['events', '396,337'],
      ['users', '4,334'],
      ['items', '3,659 bought of 3,665 in the catalogue'],
      ['orders', '18,402'],
    ]);
    expect(lines.slice(6).map(([step]) => step)).toEqual(['load', 'dataset', 'fit:als', 'fit:hybrid', 'serving', 'write', 'publish', 'total']);
    expect(lines.at(-1)).toEqual(['total', '20.50 s']);
  });

  it('When tuning was skipped, Then the summary says so and why, above the durations', () => {
    const base = {
      version: 'v1', recipe: 'default', trainedAt: '2026-11-22T15:45:00.000Z', data: { events: 1, users: 1, items: 1, orders: 1, catalogItems: 1 },
      durations: { total: 1000 }, contents: { artifacts: {}, tables: {} }, activated: true,
    };
    const skipped = formatTrainResult({ ...base, tuning: { skipped: 'validation window 1 of 3 has 0 customers; the recipe\'s weights were kept' } });
    expect(skipped.split('\n').map((l) => l.trim().split(/\s{2,}/))[6]).toEqual(['tuning', "skipped: validation window 1 of 3 has 0 customers; the recipe's weights were kept"]);
    expect(formatTrainResult(base)).not.toMatch(/tuning/);
  });

  it('When tuning served new and own items by different recipes, Then the summary names both halves, not one source alone', () => {
    const base = {
      version: 'v1', recipe: 'default', trainedAt: '2026-11-22T15:45:00.000Z', data: { events: 1, users: 1, items: 1, orders: 1, catalogItems: 1 },
      durations: { total: 1000 }, contents: { artifacts: {}, tables: {} }, activated: true,
    };
    const folds = [{ start: '2026-10-01T00:00:00.000Z', end: '2026-10-31T00:00:00.000Z' }];
    // As tuning records it when EASE alone won the new-item lists and the blend's own-item weights were kept.
    const tuning = { kind: 'rolling-origin', folds, days: 30, k: 10, chosen: 'new items: ease, own items: blend', served: { novel: 'ease', all: 'blend' }, bestSingle: 'ease' };
    const line = formatTrainResult({ ...base, tuning } as never).split('\n').map((l) => l.trim().split(/\s{2,}/)).find(([step]) => step === 'tuning');
    expect(line).toEqual(['tuning', 'new items: ease alone, own items: the blend (each half judged on its own lists), chosen on 1 windows of 30 days before 2026-10-31']);
  });

  it('When one source alone won under the default keep rule (per-mode-majority), Then the summary gives that rule\'s reason, not every window\'s', () => {
    const base = {
      version: 'v1', recipe: 'default', trainedAt: '2026-11-22T15:45:00.000Z', data: { events: 1, users: 1, items: 1, orders: 1, catalogItems: 1 },
      durations: { total: 1000 }, contents: { artifacts: {}, tables: {} }, activated: true,
    };
    const folds = [{ start: '2026-10-01T00:00:00.000Z', end: '2026-10-31T00:00:00.000Z' }];
    const tuningLine = (keepRule?: string) => {
      const tuning = { kind: 'rolling-origin', folds, days: 30, k: 10, chosen: 'ease', served: { novel: 'ease', all: 'ease' }, bestSingle: 'ease', ...(keepRule ? { keepRule } : {}) };
      return formatTrainResult({ ...base, tuning } as never).split('\n').map((l) => l.trim().split(/\s{2,}/)).find(([step]) => step === 'tuning')?.[1];
    };
    expect(tuningLine('per-mode-majority')).toBe('ease alone (the blend did not beat it on the windows\' mean and most windows), chosen on 1 windows of 30 days before 2026-10-31');
    expect(tuningLine('per-mode')).toBe('ease alone (the blend did not beat it on every window), chosen on 1 windows of 30 days before 2026-10-31');
    // The two keep rules of the fifty-first session are judged on the mean and most windows too, not on every window.
    expect(tuningLine('per-mode-outlier')).toBe('ease alone (the blend did not beat it on the windows\' mean and most windows, an outlier window set aside), chosen on 1 windows of 30 days before 2026-10-31');
    expect(tuningLine('per-mode-trimmed')).toBe('ease alone (the blend did not beat it on the windows\' mean (its largest window clipped to the next) and most windows), chosen on 1 windows of 30 days before 2026-10-31');
    expect(tuningLine()).toBe('ease alone (the blend did not beat it on every window), chosen on 1 windows of 30 days before 2026-10-31');
  });

  it('When EASE left out bought items, Then the summary says how many under the items, naming the source', () => {
    const text = formatTrainResult({
      version: 'v3', recipe: 'default', trainedAt: '2026-11-22T15:45:00.000Z', data: { events: 90000, users: 4000, items: 13750, orders: 20000, catalogItems: 25000 },
      durations: { total: 1000 }, contents: { artifacts: {}, tables: {} }, activated: true,
      restrictions: { ease: { recommender: 'ease', restrictedTo: 2000, boughtItems: 13750, catalogItems: 25000 } },
    });
    const lines = text.split('\n').map((l) => l.trim().split(/\s{2,}/));
    expect(lines[4]).toEqual(['items', '13,750 bought of 25,000 in the catalogue']);
    // What the data team needs: how many of the products bought in the training data EASE left out (13,750 - 2,000).
    expect(lines[6]).toEqual(['ease', 'ease models only its 2,000 most-bought of the 13,750 bought items (maxItems): the other 11,750 score 0 from it']);
  });

  it('When some buyers got no precomputed list, Then the users line says how many did and that the others are scored on request', () => {
    // The bundled sample: 353 buyers, 9 of whom last bought more than PRECOMPUTE_DAYS (365) before the data's end.
    const base = {
      version: 'v4', recipe: 'default', trainedAt: '2026-11-22T15:45:00.000Z', data: { events: 37695, users: 353, items: 2990, orders: 1740, catalogItems: 2990 },
      durations: { total: 1000 }, activated: true,
    };
    const usersLine = (tables: Record<string, number>) => formatTrainResult({ ...base, contents: { artifacts: {}, tables } }).split('\n').map((l) => l.trim().split(/\s{2,}/))[3];
    expect(usersLine({ 'serving-users': 344 })).toEqual([
      'users',
      "353 (344 with a precomputed list; the other 9, whose latest purchase is older than the precompute window (the recipe's serving.precomputeDays, else PRECOMPUTE_DAYS) before the data's end, are scored on request)",
    ]);
    expect(usersLine({ 'serving-users': 353 })).toEqual(['users', '353']);
  });

  it('When a rollback happened while the training ran, Then the summary says the version is not active, and why', () => {
    const text = formatTrainResult({
      version: 'v2', recipe: 'default', trainedAt: '2026-11-22T15:45:00.000Z', data: { events: 1, users: 1, items: 1, orders: 1, catalogItems: 1 },
      durations: { total: 1000 }, contents: { artifacts: {}, tables: {} }, activated: false, notActivated: 'version v0 was activated while this training ran',
    });
    expect(text.split('\n')[0]).toMatch(/^version\s+v2 \(NOT ACTIVE: version v0 was activated while this training ran\)$/);
  });
});
