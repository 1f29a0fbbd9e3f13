// Repository for presence: each local user's state, status message and last activity, stamped
// with the stream position of its last change.
import type { Sql } from './pool.js';

export interface PresenceRow {
  userId: string;
  state: string;
  statusMsg: string | null;
  lastActiveTs: number;
  pos: number;
}

const toRow = (r: Record<string, unknown>): PresenceRow => ({
  userId: r.user_id as string,
  state: r.state as string,
  statusMsg: r.status_msg as string | null,
  lastActiveTs: Number(r.last_active_ts),
  pos: Number(r.stream_pos),
});

export class PresenceStore {
  constructor(private readonly sql: Sql) {}

  async get(userId: string): Promise<PresenceRow | undefined> {
    const rows = await this.sql`SELECT user_id, state, status_msg, last_active_ts, stream_pos FROM presence WHERE user_id = ${userId}`;
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  async getMany(userIds: readonly string[]): Promise<PresenceRow[]> {
    if (userIds.length === 0) return [];
    const rows = await this.sql`
      SELECT user_id, state, status_msg, last_active_ts, stream_pos FROM presence WHERE user_id = ANY(${[...userIds]})`;
    return rows.map(toRow);
  }

  async notOffline(): Promise<PresenceRow[]> {
    const rows = await this.sql`SELECT user_id, state, status_msg, last_active_ts, stream_pos FROM presence WHERE state <> 'offline'`;
    return rows.map(toRow);
  }

  async put(sql: Sql, r: PresenceRow): Promise<void> {
    await sql`
      INSERT INTO presence (user_id, state, status_msg, last_active_ts, stream_pos)
      VALUES (${r.userId}, ${r.state}, ${r.statusMsg}, ${r.lastActiveTs}, ${r.pos})
      ON CONFLICT (user_id) DO UPDATE SET state = EXCLUDED.state, status_msg = EXCLUDED.status_msg,
        last_active_ts = EXCLUDED.last_active_ts, stream_pos = EXCLUDED.stream_pos`;
  }

  /** Users whose presence changed in (since, upto]. */
  async changedUsers(since: number, upto: number): Promise<string[]> {
    const rows = await this.sql`SELECT user_id FROM presence WHERE stream_pos > ${since} AND stream_pos <= ${upto}`;
    return rows.map((r) => r.user_id as string);
  }

  /** Users who share a joined room with `userId` now, with `userId` itself. */
  async roomPeers(userId: string): Promise<string[]> {
    const rows = await this.sql`
      SELECT DISTINCT b.user_id FROM room_memberships a
      JOIN room_memberships b ON b.room_id = a.room_id
      WHERE a.user_id = ${userId} AND a.membership = 'join' AND b.membership = 'join'`;
    const out = rows.map((r) => r.user_id as string);
    if (!out.includes(userId)) out.push(userId);
    return out;
  }

  /** Of `users`, those sharing a joined room with `userId`. */
  async sharing(userId: string, users: readonly string[]): Promise<Set<string>> {
    if (users.length === 0) return new Set();
    const rows = await this.sql`
      SELECT DISTINCT b.user_id FROM room_memberships a
      JOIN room_memberships b ON b.room_id = a.room_id
      WHERE a.user_id = ${userId} AND a.membership = 'join' AND b.membership = 'join' AND b.user_id = ANY(${[...users]})`;
    return new Set(rows.map((r) => r.user_id as string));
  }

  async userExists(userId: string): Promise<boolean> {
    const rows = await this.sql`SELECT 1 FROM users WHERE user_id = ${userId}`;
    return rows.length > 0;
  }
}
