import { describe, expect, it } from 'vitest';
import { parseTuneArgs } from '../../../src/cli/tune-command.js';

describe('npm run tune arguments', () => {
  it('defaults to tuning models/default.json on three 30-day folds into default-tuned with coverage >= 0.30', () => {
    expect(parseTuneArgs([])).toEqual({ recipe: 'default', out: 'default-tuned', folds: 3, days: 30, minCoverage: 0.3, rounds: 3, variants: true });
  });

  it('reads the validation window, output and search options', () => {
    const args = parseTuneArgs(['--recipe', 'shop', '--out', 'shop2', '--days', '14', '--folds', '2', '--end', '2011-11-01', '--min-coverage', '0', '--no-variants']);
    expect(args).toMatchObject({ recipe: 'shop', out: 'shop2', days: 14, folds: 2, end: '2011-11-01', minCoverage: 0, variants: false });
  });

  it('refuses a bad date, a fractional day count and unknown options', () => {
    expect(() => parseTuneArgs(['--end', 'yesterday'])).toThrow(/--end/);
    expect(() => parseTuneArgs(['--days', '1.5'])).toThrow(/--days/);
    expect(() => parseTuneArgs(['--folds', '0'])).toThrow(/--folds/);
    expect(() => parseTuneArgs(['--fast'])).toThrow(/unknown option/);
    expect(() => parseTuneArgs(['--days'])).toThrow(/needs a value/);
  });
});
