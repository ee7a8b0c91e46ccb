import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { parseTuneArgs, tuningWindowsStart, withExistingRecipe } from '../../../src/cli/tune-command.js';
import { UsageError } from '../../../src/cli/run-cli.js';

describe('npm run tune arguments', () => {
  it('defaults to tuning models/default.json into default-tuned, with the folds, days, coverage and alternatives of its tune section', () => {
    expect(parseTuneArgs([], {})).toEqual({ recipe: 'default', out: 'default-tuned', rounds: 3 });
  });

  it('tunes the recipe the server trains (DEFAULT_RECIPE) unless --recipe names another', () => {
    expect(parseTuneArgs([], { DEFAULT_RECIPE: 'shop' })).toMatchObject({ recipe: 'shop', out: 'shop-tuned' });
    expect(parseTuneArgs(['--recipe', 'other'], { DEFAULT_RECIPE: 'shop' })).toMatchObject({ recipe: 'other', out: 'other-tuned' });
  });

  it('reads the validation window, output and search options', () => {
    const args = parseTuneArgs(['--recipe', 'shop', '--out', 'shop2', '--days', '14', '--folds', '2', '--end', '2011-11-01', '--min-coverage', '0', '--no-variants']);
    expect(args).toMatchObject({ recipe: 'shop', out: 'shop2', days: 14, folds: 2, end: '2011-11-01', minCoverage: 0, variants: false });
  });

  it('reads --online-retail FILE, or without a file ONLINE_RETAIL_CSV (no machine path built in)', () => {
    const file = fileURLToPath(import.meta.url);
    expect(parseTuneArgs(['--online-retail', file]).onlineRetail).toBe(file);
    expect(parseTuneArgs(['--online-retail', '--days', '7'], { ONLINE_RETAIL_CSV: file })).toMatchObject({ onlineRetail: file, days: 7 });
    expect(parseTuneArgs(['--online-retail'], { ONLINE_RETAIL_CSV: file }).onlineRetail).toBe(file);
    expect(() => parseTuneArgs(['--online-retail'], { ONLINE_RETAIL_CSV: '/nonexistent/online-retail.csv.gz' })).toThrow(/ONLINE_RETAIL_CSV/);
  });

  it('refuses a bad date, a fractional day count and unknown options', () => {
    expect(() => parseTuneArgs(['--end', 'yesterday'])).toThrow(/--end/);
    expect(() => parseTuneArgs(['--days', '1.5'])).toThrow(/--days/);
    expect(() => parseTuneArgs(['--folds', '0'])).toThrow(/--folds/);
    expect(() => parseTuneArgs(['--fast'])).toThrow(/unknown option/);
    expect(() => parseTuneArgs(['--days'])).toThrow(/needs a value/);
  });

  it('takes --date-order with --online-retail only, mdy or dmy', () => {
    const file = fileURLToPath(import.meta.url);
    expect(parseTuneArgs(['--online-retail', file, '--date-order', 'dmy'], {}).dateOrder).toBe('dmy');
    expect(() => parseTuneArgs(['--online-retail', file, '--date-order', 'ymd'], {})).toThrow(/--date-order needs mdy or dmy/);
    expect(() => parseTuneArgs(['--date-order', 'mdy'], {})).toThrow(/--date-order applies to --online-retail/);
  });

  it('takes --delimiter with --online-retail only, as npm run import takes it (the character or its name)', () => {
    const file = fileURLToPath(import.meta.url);
    expect(parseTuneArgs(['--online-retail', file, '--delimiter', ';'], {}).delimiter).toBe(';');
    expect(parseTuneArgs(['--online-retail', file, '--delimiter=comma'], {}).delimiter).toBe(',');
    expect(() => parseTuneArgs(['--online-retail', file, '--delimiter', 'tab'], {})).toThrow(/--delimiter needs "," or ";"/);
    expect(() => parseTuneArgs(['--delimiter', ';'], {})).toThrow(/--delimiter applies to --online-retail/);
  });

  it('takes --flag=value as --flag value and refuses a flag given twice, as the other commands do', () => {
    expect(parseTuneArgs(['--recipe=robust', '--folds=2', '--end=2011-11-01'], {})).toMatchObject({ recipe: 'robust', folds: 2, end: '2011-11-01' });
    expect(() => parseTuneArgs(['--recipe', 'default', '--recipe', 'robust'], {})).toThrow('--recipe given twice');
    expect(() => parseTuneArgs(['--days=7', '--days', '14'], {})).toThrow('--days given twice');
  });

  it('refuses a recipe models/ does not hold, naming those it does, before any data is read', () => {
    expect(withExistingRecipe(parseTuneArgs(['--recipe', 'default'], {})).recipe).toBe('default');
    expect(() => withExistingRecipe(parseTuneArgs(['--recipe', 'nope'], {}))).toThrow(UsageError);
    expect(() => withExistingRecipe(parseTuneArgs(['--recipe', 'nope'], {}))).toThrow(/no recipe "nope" \(models\/nope\.json\); the recipes are .*default/);
  });

  it('refuses an output or recipe that is a path, before any data is read or tuned', () => {
    expect(() => parseTuneArgs(['--out', '/tmp/tuned.json'])).toThrow(/--out: "\/tmp\/tuned.json" is not a recipe name/);
    expect(() => parseTuneArgs(['--out', 'tuned.json'])).toThrow(/without ".json".*: tuned$/);
    expect(parseTuneArgs(['--out', 'tuned.v2']).out).toBe('tuned.v2');
    expect(() => parseTuneArgs(['--recipe', '../default'])).toThrow(/--recipe: .* is not a recipe name/);
  });
});

describe('tuningWindowsStart (the returns npm run tune nets)', () => {
  it('When the recipe asks for tune.yearAgo, Then the returns are netted only before a year and a day before the end, else before folds x days', () => {
    const end = '2024-04-30T00:00:00.000Z';
    expect(tuningWindowsStart({ folds: 3, days: 30, yearAgo: true }, end, null).toISOString()).toBe('2023-04-29T00:00:00.000Z');
    expect(tuningWindowsStart({ folds: 3, days: 30 }, end, null).toISOString()).toBe('2024-01-31T00:00:00.000Z');
  });
});
