import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { scrubExportFile, scrubExportFiles } from '../../../src/privacy/export-files.js';

const dir = mkdtempSync(join(tmpdir(), 'export-scrub-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// As run-export writes them: a header, fields quoted only where they must be, booleans as text.
const CSV = [
  'campaignId,userId,rank,itemId,title,score,explanation,sources,strategy,fallback,modelVersion,recommendationId',
  'c1,u1,1,i1,"MUG, ""BIG"" RED",0.5,because you bought X,item-knn|content,hybrid,false,v1,r1',
  'c1,u2,1,i2,"TWO',
  'LINES",0.25,,popularity,hybrid,true,v1,r2',
  'c1,u1,2,i3,PLAIN,0.125,,als,hybrid,false,v1,r1',
  'c1,u3,1,i1,"MUG, ""BIG"" RED",0.5,,als,hybrid,false,v1,r3',
  '',
].join('\n');

describe('scrubbing export files of erased customers', () => {
  it('When a CSV export holds the customer, Then exactly their rows go and every other byte stays', async () => {
    const file = join(dir, 'a.csv');
    writeFileSync(file, CSV);
    expect(await scrubExportFile(file, new Set(['u1']), 'csv')).toEqual({ rows: 2, customers: 1 });
    const lines = CSV.split('\n');
    expect(readFileSync(file, 'utf8')).toBe([lines[0], lines[2], lines[3], lines[5], ''].join('\n'));
  });

  it('When a large CSV export spans many read chunks, with quoted line breaks and the ids in other columns, Then exactly the customers\' rows go', async () => {
    const header = ['campaignId', 'userId', 'rank', 'itemId', 'title', 'score'];
    const rows = Array.from({ length: 20_000 }, (_, n) => {
      const user = `u${n % 2_000}`;
      // Titles with quotes, commas and line breaks, some naming another customer's id.
      const title = n % 7 === 0 ? `MUG "u7", ${n}\nSECOND LINE` : n % 5 === 0 ? `for u13\r\nand u7` : `PLAIN ${n}`;
      return ['c1', user, String((n % 10) + 1), `i${n}`, title, String(n / 3)];
    });
    // One id with a quote and a comma: written quoted, its quote doubled.
    for (let n = 42; n < rows.length; n += 2_000) rows[n][1] = 'say "hi", u42';
    const file = join(dir, 'large.csv');
    writeFileSync(file, stringify([header, ...rows]));
    const erased = new Set(['u7', 'u13', 'u1999', 'say "hi", u42']);
    expect(await scrubExportFile(file, erased, 'csv')).toEqual({ rows: 40, customers: 4 });
    expect(readFileSync(file, 'utf8')).toBe(stringify([header, ...rows.filter((r) => !erased.has(r[1]))]));
  });

  it('When a JSON Lines export holds the customer, Then their lines go; lines without a userId, or not JSON, stay', async () => {
    const file = join(dir, 'b.jsonl');
    writeFileSync(file, '{"userId":"u1","items":[]}\r\n{"userId":"u2","items":[{"itemId":"i1"}]}\nnot json\n{"items":[]}\n');
    expect(await scrubExportFile(file, new Set(['u1']), 'jsonl')).toEqual({ rows: 1, customers: 1 });
    expect(readFileSync(file, 'utf8')).toBe('{"userId":"u2","items":[{"itemId":"i1"}]}\nnot json\n{"items":[]}\n');
  });

  it('When customers\' ids differ by a leading apostrophe, Then erasing one removes only their formula-escaped rows', async () => {
    const file = join(dir, 'formulas.csv');
    // As run-export writes them (csv-formulas.ts): `=vip` as `'=vip`, `'=vip` as `''=vip`; `=old` as a file
    // written before the escaping held it.
    const rows = ['campaignId,userId,rank', "c1,'=vip,1", "c1,''=vip,1", "c1,'=vip,2", 'c1,=old,1', ''];
    writeFileSync(file, rows.join('\n'));
    expect(await scrubExportFile(file, new Set(["'=vip"]), 'csv')).toEqual({ rows: 1, customers: 1 });
    expect(readFileSync(file, 'utf8')).toBe([rows[0], rows[1], rows[3], rows[4], ''].join('\n'));
    expect(await scrubExportFile(file, new Set(['=vip', '=old']), 'csv')).toEqual({ rows: 3, customers: 2 });
    expect(readFileSync(file, 'utf8')).toBe([rows[0], ''].join('\n'));
  });

  it('When a file does not hold the customer, Then it is not rewritten at all', async () => {
    const file = join(dir, 'c.csv');
    writeFileSync(file, CSV);
    const before = statSync(file);
    expect(await scrubExportFile(file, new Set(['u9']), 'csv')).toEqual({ rows: 0, customers: 0 });
    expect(statSync(file).ino).toBe(before.ino);
    expect(readFileSync(file, 'utf8')).toBe(CSV);
  });

  it('When a CSV in the directory is not one this service wrote (broken quoting, no userId column), Then it is left alone and the others are scrubbed', async () => {
    const sub = mkdtempSync(join(dir, 'dir-'));
    writeFileSync(join(sub, 'broken.csv'), 'userId,title\nu1,"never closed\n');
    writeFileSync(join(sub, 'other.csv'), 'customer,title\nu1,MUG\n');
    const unclosed = `userId,title\nu1,"${'x'.repeat(3 << 20)}\nu1,MUG\n`;
    writeFileSync(join(sub, 'unclosed.csv'), unclosed);
    writeFileSync(join(sub, 'good.csv'), CSV);
    writeFileSync(join(sub, 'notes.txt'), 'u1');
    // What was removed from each file rewritten, by its name less the extension (the export's job id), and its new size.
    expect(await scrubExportFiles(sub, new Set(['u1']))).toEqual(new Map([['good', { rows: 2, customers: 1, bytes: statSync(join(sub, 'good.csv')).size }]]));
    expect(readFileSync(join(sub, 'broken.csv'), 'utf8')).toBe('userId,title\nu1,"never closed\n');
    expect(readFileSync(join(sub, 'notes.txt'), 'utf8')).toBe('u1');
    expect(readFileSync(join(sub, 'other.csv'), 'utf8')).toBe('customer,title\nu1,MUG\n');
    expect(readFileSync(join(sub, 'unclosed.csv'), 'utf8')).toBe(unclosed);
    expect(await scrubExportFiles(join(sub, 'missing'), new Set(['u1']))).toEqual(new Map());
  });

  // As run-export writes an audience: `rank` numbers the customers through the whole file.
  const AUDIENCE_HEADER = 'campaignId,rank,userId,score,tier,reason,itemId,modelVersion';
  const audienceRow = (rank: number, user: string, reason = 'bought similar items') => `c1,${rank},${user},${(1 / rank).toFixed(3)},high,${reason},i1,v1`;

  it('When customers are removed from an audience export, Then the rows after them are ranked again without a gap, every other byte as it was', async () => {
    const file = join(dir, 'audience.csv');
    const users = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
    // A quoted reason with a comma, a quote and a line break before the rank of the next row.
    const reasons = ['plain', 'plain', '"bought ""MUG"", and\nmore"', 'plain', 'plain', 'plain'];
    const rowsOf = users.map((u, n) => audienceRow(n + 1, u, reasons[n]));
    writeFileSync(file, [AUDIENCE_HEADER, ...rowsOf, ''].join('\n'));
    expect(await scrubExportFile(file, new Set(['a2', 'a5']), 'csv')).toEqual({ rows: 2, customers: 2 });
    // The rank alone changes (the score, from the old rank, stays as written).
    expect(readFileSync(file, 'utf8')).toBe([AUDIENCE_HEADER, rowsOf[0], rowsOf[2].replace('c1,3,', 'c1,2,'), rowsOf[3].replace('c1,4,', 'c1,3,'), rowsOf[5].replace('c1,6,', 'c1,4,'), ''].join('\n'));

    // Many rows across read chunks: the ranks read back are 1..n in order.
    const many = Array.from({ length: 30_000 }, (_, n) => audienceRow(n + 1, `m${n}`));
    writeFileSync(file, [AUDIENCE_HEADER, ...many, ''].join('\n'));
    const erased = new Set(['m0', 'm7', 'm15000', 'm29999']);
    expect(await scrubExportFile(file, erased, 'csv')).toEqual({ rows: 4, customers: 4 });
    const rows = readFileSync(file, 'utf8').trimEnd().split('\n').slice(1).map((l) => l.split(','));
    expect(rows.map((r) => r[2])).toEqual(Array.from({ length: 30_000 }, (_, n) => `m${n}`).filter((u) => !erased.has(u)));
    expect(rows.map((r) => Number(r[1]))).toEqual(Array.from({ length: rows.length }, (_, n) => n + 1));
  });

  it('When a customer is removed from a recommendations export, Then the other customers\' ranks (places in their own lists) stay', async () => {
    const file = join(dir, 'ranks.csv');
    writeFileSync(file, CSV);
    await scrubExportFile(file, new Set(['u2']), 'csv');
    const lines = CSV.split('\n');
    expect(readFileSync(file, 'utf8')).toBe([lines[0], lines[1], lines[4], lines[5], ''].join('\n'));
  });

  it('When a customer is removed from an audience export in JSON Lines, Then the lines after it are ranked again; a recommendations export\'s lines stay as they were', async () => {
    const file = join(dir, 'audience.jsonl');
    const line = (rank: number, userId: string) => JSON.stringify({ campaignId: null, rank, userId, score: 0.1 / rank, tier: 'high', reason: 'héllo "x"', itemId: 'i1', modelVersion: 'v1' });
    writeFileSync(file, [line(1, 'a1'), line(2, 'a2'), line(3, 'a3'), line(4, 'a4'), ''].join('\n'));
    expect(await scrubExportFile(file, new Set(['a2']), 'jsonl')).toEqual({ rows: 1, customers: 1 });
    expect(readFileSync(file, 'utf8')).toBe([line(1, 'a1'), line(3, 'a3').replace('"rank":3', '"rank":2'), line(4, 'a4').replace('"rank":4', '"rank":3'), ''].join('\n'));

    const recs = join(dir, 'recs.jsonl');
    const rec = (userId: string) => JSON.stringify({ campaignId: null, userId, items: [{ itemId: 'i1', rank: 1 }], strategy: 'hybrid' });
    writeFileSync(recs, [rec('u1'), rec('u2'), rec('u3'), ''].join('\n'));
    await scrubExportFile(recs, new Set(['u1']), 'jsonl');
    expect(readFileSync(recs, 'utf8')).toBe([rec('u2'), rec('u3'), ''].join('\n'));
  });
});
