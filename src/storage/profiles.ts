// Repository for profiles: each user's profile fields as one JSON object.
import type { Sql } from './pool.js';

export class ProfileStore {
  constructor(private readonly sql: Sql) {}

  async get(userId: string, sql: Sql = this.sql): Promise<string | undefined> {
    const rows = await sql`SELECT fields FROM profiles WHERE user_id = ${userId}`;
    return rows[0]?.fields as string | undefined;
  }

  async lock(sql: Sql, userId: string): Promise<void> {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${'profile\u0001' + userId}, 0))`;
  }

  async put(sql: Sql, userId: string, fields: string): Promise<void> {
    await sql`
      INSERT INTO profiles (user_id, fields) VALUES (${userId}, ${fields})
      ON CONFLICT (user_id) DO UPDATE SET fields = EXCLUDED.fields`;
  }

  async userExists(userId: string): Promise<boolean> {
    const rows = await this.sql`SELECT 1 FROM users WHERE user_id = ${userId}`;
    return rows.length > 0;
  }
}
