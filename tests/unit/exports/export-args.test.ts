import { describe, expect, it } from 'vitest';
import { parseExportArgs } from '../../../src/cli/export-command.js';
import { UsageError } from '../../../src/cli/run-cli.js';

describe('npm run export arguments', () => {
  it('When a segment export is asked for, Then the request is the one POST /v1/exports would get, with its defaults', () => {
    expect(parseExportArgs(['--segment', 'champions', '--k', '10', '--format', 'csv', '--out', 'x.csv'])).toEqual({
      out: 'x.csv',
      request: { kind: 'recommendations', k: 10, segment: 'champions', format: 'csv' },
    });
  });

  it('When an audience export names items, Then they are split on commas and recent buyers are kept on request', () => {
    const { request } = parseExportArgs(['--kind=audience', '--item', 'a,b', '--include-recent-buyers', '--k', '500', '--out', 'a.jsonl', '--format', 'jsonl', '--campaign', 'spring-24']);
    expect(request).toEqual({ kind: 'audience', itemIds: ['a', 'b'], includeRecentBuyers: true, k: 500, format: 'jsonl', campaignId: 'spring-24' });
    // Given a value, the switch says what the value says; another value is an error, never the switch on.
    const audience = (flag: string) => parseExportArgs(['--kind=audience', '--item', 'a', flag, '--out', 'a.csv']).request.includeRecentBuyers;
    expect([audience('--include-recent-buyers=true'), audience('--include-recent-buyers=false')]).toEqual([true, false]);
    expect(() => audience('--include-recent-buyers=no')).toThrow(/--include-recent-buyers/);
    expect(() => parseExportArgs(['--kind=audience', '--item', 'a', '--include-recent-buyers=false', '--include-recent-buyers', '--out', 'a.csv'])).toThrow('--include-recent-buyers given twice');
  });

  it('When a CSV export asks for a byte-order mark (for Excel), Then the request asks for it; without the flag it does not', () => {
    const bom = (...flags: string[]) => parseExportArgs(['--out', 'x.csv', ...flags]).request.bom;
    expect([bom('--bom'), bom('--bom=true'), bom('--bom=false'), bom()]).toEqual([true, true, false, undefined]);
    expect(() => bom('--bom=yes')).toThrow('--bom takes no value, or true or false; got "yes"');
    expect(() => bom('--bom', '--bom')).toThrow('--bom given twice');
    // JSON Lines has no byte-order mark.
    expect(() => bom('--bom', '--format', 'jsonl')).toThrow('--bom: only for format "csv"');
  });

  it('When the arguments are wrong, Then a usage error names the flag', () => {
    expect(() => parseExportArgs(['--k', '10'])).toThrow(/--out/);
    expect(() => parseExportArgs(['--out', 'x', '--segment', 'nobody'])).toThrow(UsageError);
    expect(() => parseExportArgs(['--out', 'x', '--segment', 'nobody'])).toThrow(/--segment/);
    expect(() => parseExportArgs(['--out', 'x', '--k', '101'])).toThrow(/--k/);
    // The message speaks of the flags, not of the API's fields.
    expect(() => parseExportArgs(['--out', 'x', '--kind', 'audience'])).toThrow('--item: an audience export needs either --item or --category');
    expect(() => parseExportArgs(['--out', 'x', '--bogus'])).toThrow(/unknown argument/);
  });
});
