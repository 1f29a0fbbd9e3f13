// Room aliases of this server (room_aliases).
import type { Sql } from './pool.js';

export class AliasStore {
  constructor(private readonly sql: Sql) {}

  async resolve(alias: string): Promise<string | undefined> {
    const [row] = await this.sql<{ room_id: string }[]>`SELECT room_id FROM room_aliases WHERE alias = ${alias}`;
    return row?.room_id;
  }

  /** False when the alias is taken. */
  async create(alias: string, roomId: string, creator: string): Promise<boolean> {
    const rows = await this.sql`INSERT INTO room_aliases (alias, room_id, creator) VALUES (${alias}, ${roomId}, ${creator})
      ON CONFLICT (alias) DO NOTHING RETURNING alias`;
    return rows.length === 1;
  }

  async creatorOf(alias: string): Promise<string | undefined> {
    const [row] = await this.sql<{ creator: string }[]>`SELECT creator FROM room_aliases WHERE alias = ${alias}`;
    return row?.creator;
  }

  async delete(alias: string): Promise<boolean> {
    return (await this.sql`DELETE FROM room_aliases WHERE alias = ${alias} RETURNING alias`).length === 1;
  }

  async forRoom(roomId: string): Promise<string[]> {
    return (await this.sql<{ alias: string }[]>`SELECT alias FROM room_aliases WHERE room_id = ${roomId} ORDER BY alias`).map((r) => r.alias);
  }
}
