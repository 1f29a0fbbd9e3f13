// Hands out ids from a PostgreSQL sequence whose INCREMENT is the block size (sql/0005): one
// nextval() reserves [v, v + block − 1] atomically, even against other processes, and the ids
// are then given out from memory. Unused ids of a block are skipped after a restart (gaps are
// harmless: ids only need to be unique and increasing).
import type { Sql } from './pool.js';

export const ID_BLOCK_SIZE = 100;

export class IdBlock {
  private next = 0;
  private end = 0; // exclusive
  private refilling: Promise<void> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly sequence: string,
  ) {}

  /**
   * `n` fresh ids, in increasing order. A caller inside a transaction passes it as `via`: the
   * refill then runs on the connection the caller already holds, never waiting for a second one
   * from the pool (which, with every connection held by such callers, would never come).
   */
  async take(n: number, via?: Sql): Promise<number[]> {
    const out: number[] = [];
    while (out.length < n) {
      if (this.next >= this.end) await this.refill(via);
      while (out.length < n && this.next < this.end) out.push(this.next++);
    }
    return out;
  }

  /** Ids available without a round trip. */
  get available(): number {
    return this.end - this.next;
  }

  private async refill(via?: Sql): Promise<void> {
    const shared = this.refilling;
    if (shared) {
      // Someone else's refill runs on their connection; if it fails (their transaction may be
      // aborted), refill on ours rather than fail a caller that did nothing wrong.
      try {
        return await shared;
      } catch {
        if (this.next < this.end) return;
      }
    }
    this.refilling ??= this.fetchBlock(via ?? this.sql);
    return this.refilling;
  }

  private fetchBlock(sql: Sql): Promise<void> {
    return (async () => {
      try {
        const [row] = await sql.unsafe<{ v: string }[]>(`SELECT nextval('${this.sequence}')::text AS v`);
        const v = Number(row!.v);
        // Blocks come in increasing order; a refill never goes back below what was handed out.
        if (v >= this.end) {
          this.next = v;
          this.end = v + ID_BLOCK_SIZE;
        }
      } finally {
        this.refilling = undefined;
      }
    })();
  }
}
