// The room-membership queries this area needs, answered by the room service when the server
// has one (ctx.rooms) and otherwise read straight from room_memberships.
import type { Sql } from '../storage/pool.js';

export interface RoomMembershipView {
  getMembership(roomId: string, userId: string): Promise<string | undefined>;
  localJoinedMembers(roomId: string): Promise<string[]>;
  joinedRoomsOf(userId: string): Promise<string[]>;
}

export class SqlRoomMemberships implements RoomMembershipView {
  constructor(
    private readonly sql: Sql,
    private readonly serverName: string,
  ) {}

  async getMembership(roomId: string, userId: string): Promise<string | undefined> {
    const rows = await this.sql`SELECT membership FROM room_memberships WHERE room_id = ${roomId} AND user_id = ${userId}`;
    return rows[0]?.membership as string | undefined;
  }

  async localJoinedMembers(roomId: string): Promise<string[]> {
    const rows = await this.sql`SELECT user_id FROM room_memberships WHERE room_id = ${roomId} AND membership = 'join'`;
    const suffix = `:${this.serverName}`;
    return rows.map((r) => r.user_id as string).filter((u) => u.endsWith(suffix));
  }

  async joinedRoomsOf(userId: string): Promise<string[]> {
    const rows = await this.sql`SELECT room_id FROM room_memberships WHERE user_id = ${userId} AND membership = 'join'`;
    return rows.map((r) => r.room_id as string);
  }
}

/** ctx.rooms once the room service is wired in, else the SQL fallback. */
export function membershipView(ctx: { sql: Sql; config: { server_name: string } }): () => RoomMembershipView {
  let fallback: RoomMembershipView | undefined;
  return () => (ctx as { rooms?: RoomMembershipView }).rooms ?? (fallback ??= new SqlRoomMemberships(ctx.sql, ctx.config.server_name));
}
