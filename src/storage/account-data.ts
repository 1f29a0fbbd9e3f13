// Repository for account data: global (room '') and per-room JSON documents of a user, each
// row stamped with the stream position of its last change.
import type { Sql } from './pool.js';

export interface AccountDataRow {
  roomId: string;
  type: string;
  /** JSON text of the content. */
  content: string;
  pos: number;
}

const toRow = (r: Record<string, unknown>): AccountDataRow => ({
  roomId: r.room_id as string,
  type: r.type as string,
  content: r.content as string,
  pos: Number(r.stream_pos),
});

export class AccountDataStore {
  constructor(private readonly sql: Sql) {}

  async get(userId: string, roomId: string, type: string, sql: Sql = this.sql, forUpdate = false): Promise<string | undefined> {
    const rows = forUpdate
      ? await sql`SELECT content FROM account_data WHERE user_id = ${userId} AND room_id = ${roomId} AND type = ${type} FOR UPDATE`
      : await sql`SELECT content FROM account_data WHERE user_id = ${userId} AND room_id = ${roomId} AND type = ${type}`;
    return rows[0]?.content as string | undefined;
  }

  async put(sql: Sql, userId: string, roomId: string, type: string, content: string, pos: number): Promise<void> {
    await sql`
      INSERT INTO account_data (user_id, room_id, type, content, stream_pos)
      VALUES (${userId}, ${roomId}, ${type}, ${content}, ${pos})
      ON CONFLICT (user_id, room_id, type) DO UPDATE SET content = EXCLUDED.content, stream_pos = EXCLUDED.stream_pos`;
  }

  /** Serialises read-modify-write of one user's rows (there may be no row to lock yet). */
  async lockUser(sql: Sql, userId: string): Promise<void> {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${'account_data\u0001' + userId}, 0))`;
  }

  async latestPosition(userId: string): Promise<number> {
    const [r] = await this.sql`SELECT max(stream_pos)::text AS p FROM account_data WHERE user_id = ${userId}`;
    return r?.p ? Number(r.p) : 0;
  }

  /** Rows changed in (since, upto]; since null: every row up to `upto`. */
  async changes(userId: string, since: number | null, upto: number): Promise<AccountDataRow[]> {
    const rows =
      since === null
        ? await this.sql`SELECT room_id, type, content, stream_pos FROM account_data
            WHERE user_id = ${userId} AND stream_pos <= ${upto} ORDER BY stream_pos`
        : await this.sql`SELECT room_id, type, content, stream_pos FROM account_data
            WHERE user_id = ${userId} AND stream_pos > ${since} AND stream_pos <= ${upto} ORDER BY stream_pos`;
    return rows.map(toRow);
  }
}
