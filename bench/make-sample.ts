/**
 * Cuts the bundled sample (sample/online-retail-sample.csv.gz) from the full UCI Online Retail file.
 * The slice keeps whole customer histories across the whole date range, so the sample trains and
 * evaluates like the real data on a smaller scale:
 *   - every row of every customer whose CustomerID is a multiple of 13 (all their invoices, including
 *     cancellations, returns and postage lines, so the cleaning rules have work to do);
 *   - the rows without a CustomerID of invoices whose number is a multiple of 97 (guest checkouts the
 *     importer must drop).
 * Rows are copied byte for byte in file order under the original header.
 *
 *   npx tsx bench/make-sample.ts [SOURCE.csv.gz] [OUT.csv.gz] [CUSTOMER_MODULUS]
 *
 * CUSTOMER_MODULUS (default 13; a positive whole number, anything else exits 2) keeps the customers whose id is a multiple of it: 130 cuts the tests' first-start
 * slice (tests/fixtures/online-retail-first-start.csv.gz, a tenth of the sample's customers), the guest rows as above.
 *
 * SOURCE defaults to ONLINE_RETAIL_CSV, else ../shared/datasets/online-retail/online-retail.csv.gz beside the repository.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGunzip, createGzip, constants } from 'node:zlib';
import { parse } from 'csv-parse';

// The default's module (and the importers it brings) is loaded only when no SOURCE is given.
const SOURCE = process.argv[2] ?? (await import('./lib/online-retail.js')).ONLINE_RETAIL_PATH;
const OUT = process.argv[3] ?? 'sample/online-retail-sample.csv.gz';
const CUSTOMER_MODULUS = customerModulus(process.argv[4]);
const GUEST_INVOICE_MODULUS = 97;

/**
 * The CUSTOMER_MODULUS argument (default 13), or an exit with a message: a value that is no positive whole
 * number (a typo, a flag in its place) would keep no customer at all (any id % NaN is NaN) and write a file of
 * guest rows only, which the importer then drops.
 */
function customerModulus(arg: string | undefined): number {
  if (arg === undefined) return 13;
  const m = Number(arg);
  if (arg.trim() === '' || !Number.isSafeInteger(m) || m < 1) {
    console.error(`CUSTOMER_MODULUS must be a positive whole number (the customers whose id is a multiple of it are kept), got ${JSON.stringify(arg)}`);
    process.exit(2);
  }
  return m;
}

async function* slice(): AsyncGenerator<string> {
  const parser = createReadStream(SOURCE).pipe(createGunzip()).pipe(parse({ raw: true }));
  let header: string[] | null = null;
  for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
    const line = raw.replace(/\r?\n$/, '') + '\n';
    if (!header) {
      header = record;
      yield line;
      continue;
    }
    const customer = record[header.indexOf('CustomerID')].trim();
    const invoiceNumber = Number(record[header.indexOf('InvoiceNo')].replace(/^\D+/, ''));
    const keep = customer ? Number(customer) % CUSTOMER_MODULUS === 0 : invoiceNumber % GUEST_INVOICE_MODULUS === 0;
    if (keep) yield line;
  }
}

const out = createWriteStream(OUT);
await pipeline(Readable.from(slice()), createGzip({ level: constants.Z_BEST_COMPRESSION }), out);
console.log(`wrote ${OUT}`);
