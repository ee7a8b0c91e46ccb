import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCliScript } from '../../helpers/cli-process.js';

const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
/** One customer row (id 13000, a multiple of 13 and of 1) and one guest row of invoice 97 (kept as a guest checkout). */
const ROWS = ['536365,85123A,WHITE HANGING HEART,6,12/1/2010 8:26,2.55,13000,United Kingdom', '000097,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,,United Kingdom'];

async function makeSample(modulus: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'make-sample-'));
  const source = path.join(dir, 'source.csv.gz');
  const out = path.join(dir, 'out.csv.gz');
  writeFileSync(source, gzipSync(`${HEADER}\n${ROWS.join('\n')}\n`));
  const run = await runCliScript('bench/make-sample.ts', [source, out, modulus], { env: { PATH: process.env.PATH }, timeoutMs: 60_000 });
  return { run, out };
}

describe('bench/make-sample.ts CUSTOMER_MODULUS', () => {
  it('Given a whole-number modulus, When the sample is cut, Then the customer row and the guest row are both kept', async () => {
    const { run, out } = await makeSample('13');
    expect(run.code, run.stderr).toBe(0);
    expect(gunzipSync(readFileSync(out)).toString()).toBe(`${HEADER}\n${ROWS.join('\n')}\n`);
  }, 90_000);

  for (const bad of ['abc', '0', '-13', '1.5', '']) {
    it(`Given modulus ${JSON.stringify(bad)}, When the sample is cut, Then it exits non-zero naming CUSTOMER_MODULUS and writes no file of guest rows only`, async () => {
      const { run, out } = await makeSample(bad);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('CUSTOMER_MODULUS must be a positive whole number');
      expect(run.stderr).toContain(JSON.stringify(bad));
      expect(existsSync(out)).toBe(false);
    }, 90_000);
  }
});
