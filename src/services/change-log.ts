// In-memory indexes of stream changes that let sync contributors skip the database when
// nothing changed for a user: woken syncs vastly outnumber changes.
import type { ServerContext } from './context.js';
import type { Sql } from '../storage/pool.js';

/**
 * "Key last changed at position N", learned lazily: a key never seen since start may have
 * changed at any time, so it reads as changed until `learn` records its latest position.
 * Writers `mark` after commit and before completing their position, so a sync whose upper
 * bound covers a change always sees its mark.
 */
export class LastChanged<K> {
  private readonly pos = new Map<K, number>();
  private readonly loaded = new Set<K>();

  mark(key: K, p: number): void {
    const old = this.pos.get(key);
    if (old === undefined || p > old) this.pos.set(key, p);
  }

  /** Records the latest position found in the database (0: none). */
  learn(key: K, latest: number): void {
    this.mark(key, latest);
    this.loaded.add(key);
  }

  isLoaded(key: K): boolean {
    return this.loaded.has(key);
  }

  /** False only when `key` is known not to have changed after `since`. */
  changedAfter(key: K, since: number): boolean {
    if (!this.loaded.has(key)) return true;
    return (this.pos.get(key) ?? 0) > since;
  }
}

export interface LogEntry<T> {
  pos: number;
  value: T;
}

/**
 * The changes of one stream since the process started (or since the oldest kept entry), in
 * position order. Answers "what changed in (since, upto]" from memory when `since` is recent
 * enough; older ranges must be read from the database.
 */
export class PositionLog<T> {
  private entries: LogEntry<T>[] = [];
  private base: number;

  constructor(
    startPosition: number,
    private readonly maxEntries = 20_000,
  ) {
    this.base = startPosition;
  }

  /** Whether every change after `since` is in memory. */
  covers(since: number): boolean {
    return since >= this.base;
  }

  /** The highest position held, or the base when empty. */
  get latest(): number {
    return this.entries.length ? this.entries[this.entries.length - 1]!.pos : this.base;
  }

  add(pos: number, value: T): void {
    // Transactions commit out of order: keep the array sorted (almost always an append).
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1]!.pos > pos) i--;
    this.entries.splice(i, 0, { pos, value });
    if (this.entries.length > this.maxEntries) {
      const drop = this.entries.length - Math.floor(this.maxEntries * 0.75);
      this.base = this.entries[drop - 1]!.pos;
      this.entries = this.entries.slice(drop);
    }
  }

  /** Entries with since < pos <= upto (requires covers(since)). */
  range(since: number, upto: number): LogEntry<T>[] {
    const out: LogEntry<T>[] = [];
    // Binary search for the first entry after `since`.
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.pos <= since) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.pos > upto) break;
      out.push(e);
    }
    return out;
  }
}

/**
 * Runs `work` in a transaction in which `alloc(n)` takes fresh stream positions. `committed`
 * runs after the commit and before the positions complete (the place to mark in-memory
 * indexes); the positions complete whether the transaction commits or not.
 */
export async function withPositions<T>(
  ctx: Pick<ServerContext, 'sql' | 'streams'>,
  work: (tx: Sql, alloc: (n?: number) => Promise<number[]>) => Promise<T>,
  committed?: (result: T, positions: number[]) => void,
): Promise<T> {
  const positions: number[] = [];
  try {
    const result = (await ctx.sql.begin(async (tx) => {
      const t = tx as unknown as Sql;
      return work(t, async (n = 1) => {
        const p = await ctx.streams.allocate(t, n);
        positions.push(...p);
        return p;
      });
    })) as T;
    committed?.(result, positions);
    return result;
  } finally {
    if (positions.length) ctx.streams.complete(positions);
  }
}

/** Runs `fn` at most once at a time; callers arriving meanwhile share the running call. */
export function coalesce<T>(fn: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= fn().finally(() => {
      running = undefined;
    });
    return running;
  };
}
