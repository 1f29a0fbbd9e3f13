// Stored filters (user_filters). Filters are immutable once uploaded, so reads are cached.
import { Lru } from '../util/lru.js';
import type { Sql } from './pool.js';

export class FilterStore {
  private readonly cache = new Lru<string, unknown>(10_000);
  constructor(private readonly sql: Sql) {}

  async create(userId: string, filter: unknown): Promise<string> {
    const [row] = await this.sql<{ id: string }[]>`
      INSERT INTO user_filters (user_id, filter) VALUES (${userId}, ${JSON.stringify(filter)}) RETURNING filter_id::text AS id`;
    this.cache.set(`${userId}\u0000${row!.id}`, filter);
    return row!.id;
  }

  async get(userId: string, filterId: string): Promise<unknown> {
    if (!/^\d{1,18}$/.test(filterId)) return undefined;
    const key = `${userId}\u0000${filterId}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const [row] = await this.sql<{ filter: string }[]>`SELECT filter FROM user_filters WHERE user_id = ${userId} AND filter_id = ${filterId}`;
    if (!row) return undefined;
    const f = JSON.parse(row.filter) as unknown;
    this.cache.set(key, f);
    return f;
  }
}
