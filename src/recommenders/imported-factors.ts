import type { Dataset } from './dataset.js';

/** One side of a factorisation trained elsewhere: `ids[r]` owns row r of `values` (rows x factors, row-major). */
export interface FactorTable {
  ids: string[];
  values: Float32Array;
}

/**
 * Item factors, and optionally user factors, of an implicit-feedback factorisation trained outside this
 * service (Spark MLlib ALS, `implicit`), with the ids of this shop's catalog and customers. Score of a
 * user for an item = dot product of their factors, as in the ALS trained here.
 */
export interface ExternalFactors {
  factors: number;
  items: FactorTable;
  /** Absent: every customer's factor is solved from their purchases and the imported item factors. */
  users: FactorTable | null;
}

/** External factors laid out by a dataset's indices, ready to become the ALS model of a training. */
export interface AlignedFactors {
  factors: number;
  /** dataset items x factors; an item without an imported row is all zeros (scores 0, no neighbours). */
  itemFactors: Float32Array;
  /** dataset users x factors; see `userImported`. */
  userFactors: Float32Array;
  /** 1 where the user's row came from the import; the others are solved from their purchases. */
  userImported: Uint8Array;
}

export interface SideReport {
  /** Rows in the file. */
  imported: number;
  /** Rows whose id is in the catalog (items) or among the customers (users). */
  matched: number;
  /**
   * Customers' rows skipped because the customer was erased (a file made before the erasure holds what
   * was learned of them; one who came back since is a new customer, folded in from their purchases).
   * Their ids are not reported. Always 0 for items.
   */
  erased: number;
  /**
   * Rows skipped because their id is unknown here, and up to 20 of those ids: items' only. Customer ids are
   * never reported (empty for users): the report is kept with the job and the model version, where an
   * erasure would not reach a customer's id, and a customer unknown to training may be known elsewhere.
   */
  unknown: number;
  unknownSample: string[];
  /** Catalog items (customers) that got no row: items score 0 in ALS, customers are folded in. */
  missing: number;
}

export interface AlignmentReport {
  items: SideReport;
  users: SideReport;
}

const SAMPLE = 20;

function alignSide(table: FactorTable | null, ids: readonly string[], index: ReadonlyMap<string, number>, k: number, customers: { erased: ReadonlySet<string> } | null) {
  const erased = customers?.erased ?? new Set<string>();
  const values = new Float32Array(ids.length * k);
  const present = new Uint8Array(ids.length);
  const report: SideReport = { imported: 0, matched: 0, erased: 0, unknown: 0, unknownSample: [], missing: 0 };
  if (table) {
    report.imported = table.ids.length;
    table.ids.forEach((id, r) => {
      if (erased.has(id)) {
        report.erased++;
        return;
      }
      const at = index.get(id);
      if (at === undefined) {
        report.unknown++;
        if (!customers && report.unknownSample.length < SAMPLE) report.unknownSample.push(id);
        return;
      }
      values.set(table.values.subarray(r * k, (r + 1) * k), at * k);
      present[at] = 1;
      report.matched++;
    });
  }
  report.missing = ids.length - report.matched;
  return { values, present, report };
}

/**
 * Places each imported row at its id's dataset index. Ids this shop does not know are skipped and
 * counted (a factor file usually covers more or fewer ids than one shop's current catalog), with a sample
 * of the items' ids; so are the rows of `erasedUsers`. No customer id is reported.
 */
export function alignFactors(
  ds: Pick<Dataset, 'userIds' | 'itemIds' | 'userIndex' | 'itemIndex'>,
  f: ExternalFactors,
  erasedUsers?: ReadonlySet<string>,
): { aligned: AlignedFactors; report: AlignmentReport } {
  const items = alignSide(f.items, ds.itemIds, ds.itemIndex, f.factors, null);
  const users = alignSide(f.users, ds.userIds, ds.userIndex, f.factors, { erased: erasedUsers ?? new Set() });
  return {
    aligned: { factors: f.factors, itemFactors: items.values, userFactors: users.values, userImported: users.present },
    report: { items: items.report, users: users.report },
  };
}

/** Which recipe source the aligned factors replace (its fit is skipped). */
export interface ImportedAls {
  source: string;
  factors: AlignedFactors;
}
