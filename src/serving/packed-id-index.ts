/**
 * Row of an id among many packed ids (string-pack.ts: UTF-8 bytes plus offsets), without a string per
 * id: an open-addressing table of row numbers over the packed bytes themselves. The on-request scorer's
 * customer index was a Map of every customer id of the version (450,000 strings at ten times Online
 * Retail): about 450 ms of the serving thread per version readied, and as much garbage again for the
 * collector. This one hashes the bytes once (FNV-1a) and keeps 4 bytes per slot, two slots per id.
 */
export class PackedIdIndex {
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly forgotten = new Set<number>();
  private scratch = new Uint8Array(256);
  private readonly encoder = new TextEncoder();

  /** How many ids there are; rows are found once added (`add`). */
  readonly count: number;

  /** An empty index of these ids: `add` puts rows in, a part at a time if need be. */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly offsets: Uint32Array,
  ) {
    this.count = offsets.length - 1;
    let size = 16;
    while (size < this.count * 2) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  /** The index of every id at once. Ids should be distinct: of duplicates, the row added first is found. */
  static of(bytes: Uint8Array, offsets: Uint32Array): PackedIdIndex {
    const index = new PackedIdIndex(bytes, offsets);
    index.add(0, index.count);
    return index;
  }

  /** Puts the rows [from, to) in (about 55-90 ms for 450,000 ids on a 2-vCPU VM, all at once). */
  add(from: number, to: number): void {
    const { bytes, offsets } = this;
    for (let row = from; row < Math.min(to, this.count); row++) {
      const start = offsets[row];
      const end = offsets[row + 1];
      let s = hash(bytes, start, end) & this.mask;
      while (this.slots[s] !== -1) {
        if (this.sameBytes(this.slots[s], bytes, start, end)) break;
        s = (s + 1) & this.mask;
      }
      if (this.slots[s] === -1) this.slots[s] = row;
    }
  }

  /** The id's row, or undefined when it is not among them (or was forgotten). */
  get(id: string): number | undefined {
    // Up to 3 bytes per UTF-16 unit.
    if (this.scratch.length < id.length * 3) this.scratch = new Uint8Array(id.length * 3);
    const { written } = this.encoder.encodeInto(id, this.scratch);
    let s = hash(this.scratch, 0, written) & this.mask;
    for (let row = this.slots[s]; row !== -1; row = this.slots[s]) {
      if (this.sameBytes(row, this.scratch, 0, written)) return this.forgotten.has(row) ? undefined : row;
      s = (s + 1) & this.mask;
    }
    return undefined;
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** From now on the id is not found (an erased customer); its row is not reused. */
  forget(id: string): void {
    const row = this.get(id);
    if (row !== undefined) this.forgotten.add(row);
  }

  private sameBytes(row: number, other: Uint8Array, from: number, to: number): boolean {
    const start = this.offsets[row];
    if (this.offsets[row + 1] - start !== to - from) return false;
    for (let k = 0; k < to - from; k++) if (this.bytes[start + k] !== other[from + k]) return false;
    return true;
  }
}

/** FNV-1a, 32 bits, of bytes[from, to). */
function hash(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let k = from; k < to; k++) h = Math.imul(h ^ bytes[k], 0x01000193);
  return h >>> 0;
}
