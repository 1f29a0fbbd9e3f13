// A cheap digest of the server's persistent state: per table of the test database, its row count
// and an md5 over its rows. Compared before and after a refused (4xx) request, it shows whether
// the refusal left something behind. Columns that requests touch by design (last-seen times and
// addresses, presence activity) are left out.
import { openPool } from '../helpers/database.js';
import type { Sql } from '../../src/storage/pool.js';

const VOLATILE_COLUMNS = ['last_seen_ts', 'last_seen_ip', 'last_seen_user_agent', 'last_active_ts', 'last_used_ts'];

export type Digest = Record<string, string>;

export class StateProbe {
  private query?: string;
  private constructor(private readonly sql: Sql) {}

  static async open(url: string): Promise<StateProbe> {
    return new StateProbe(openPool(url, 1));
  }

  async digest(): Promise<Digest> {
    if (!this.query) {
      const tables = await this.sql<{ table_name: string }[]>`
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'
        ORDER BY table_name`;
      const drop = VOLATILE_COLUMNS.map((c) => ` - '${c}'`).join('');
      // One statement for every table: a round trip per snapshot, not per table.
      this.query = tables
        .map(({ table_name: t }) => `SELECT '${t}' AS t, count(*)::text || ':' || coalesce(md5(string_agg(x, ',' ORDER BY x)), '') AS h
          FROM (SELECT (to_jsonb(r)${drop})::text AS x FROM "${t}" r) s`)
        .join(' UNION ALL ');
    }
    const rows = await this.sql.unsafe<{ t: string; h: string }[]>(this.query);
    return Object.fromEntries(rows.map((r) => [r.t, r.h]));
  }

  /** The tables whose digest differs. */
  static diff(a: Digest, b: Digest): string[] {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((t) => a[t] !== b[t]);
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}
