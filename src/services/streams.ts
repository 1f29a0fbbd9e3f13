// Stream positions. One PostgreSQL sequence (stream_seq) orders every persisted change that a
// sync can return (events, account data, receipts, to-device, device lists...), so a sync
// token's main part is one number.
//
// Positions are taken inside transactions that commit in any order, so "the highest number
// seen" is not safe to read up to: position 12 may commit while 11 is still in flight, and a
// sync that returned up to 12 would never see 11. The tracker publishes the highest position
// below which everything this process allocated has finished (committed or rolled back).
import { IdBlock, ID_BLOCK_SIZE } from '../storage/id-block.js';
import type { Sql } from '../storage/pool.js';

export class StreamTracker {
  private safe = 0;
  private maxAllocated = 0;
  private readonly pending = new Set<number>();
  private listeners: Array<(pos: number) => void> = [];
  private ids?: IdBlock;

  async init(sql: Sql): Promise<void> {
    const [row] = await sql<{ last_value: string; is_called: boolean }[]>`SELECT last_value::text, is_called FROM stream_seq`;
    // Everything up to the end of the last reserved block was either written before the restart
    // or never will be: new blocks start beyond it.
    this.safe = this.maxAllocated = row!.is_called ? Number(row!.last_value) + ID_BLOCK_SIZE - 1 : 0;
    this.ids = new IdBlock(sql, 'stream_seq');
  }

  /** The position every sync may read up to. */
  get position(): number {
    return this.safe;
  }

  /**
   * Takes `n` increasing positions, from memory (a database round trip per block of
   * ID_BLOCK_SIZE). Finish them with `complete` after the commit or the rollback. A caller
   * inside a transaction passes it, so a refill uses the connection it already holds.
   */
  async allocate(tx?: Sql, n = 1): Promise<number[]> {
    if (!this.ids) throw new Error('StreamTracker.init was not called');
    const out = await this.ids.take(n, tx);
    // Registered in the same tick as they are handed out, so the safe position cannot pass them.
    for (const p of out) {
      this.pending.add(p);
      if (p > this.maxAllocated) this.maxAllocated = p;
    }
    return out;
  }

  /** Marks positions finished (after commit or rollback) and advances the safe position. */
  complete(positions: readonly number[]): void {
    for (const p of positions) this.pending.delete(p);
    let next = this.maxAllocated;
    for (const p of this.pending) if (p - 1 < next) next = p - 1;
    if (next > this.safe) {
      this.safe = next;
      for (const l of this.listeners) l(next);
    }
  }

  onAdvance(listener: (pos: number) => void): void {
    this.listeners.push(listener);
  }
}
