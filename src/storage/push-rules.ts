// Repository for push rules: one JSON document per user (their own rules and their changes to
// the server-default ones).
import type { Sql } from './pool.js';

export class PushRuleStore {
  constructor(private readonly sql: Sql) {}

  async get(userId: string, sql: Sql = this.sql): Promise<string | undefined> {
    const rows = await sql`SELECT rules FROM push_rules WHERE user_id = ${userId}`;
    return rows[0]?.rules as string | undefined;
  }

  /** Several users' documents in one query (absent: the user changed nothing). */
  async getMany(userIds: readonly string[]): Promise<Map<string, string>> {
    const rows = await this.sql`SELECT user_id, rules FROM push_rules WHERE user_id = ANY(${[...userIds]})`;
    return new Map(rows.map((r) => [r.user_id as string, r.rules as string]));
  }

  /** Serialises changes to one user's rules (the row may not exist yet). */
  async lock(sql: Sql, userId: string): Promise<void> {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${'push_rules\u0001' + userId}, 0))`;
  }

  async put(sql: Sql, userId: string, rules: string): Promise<void> {
    await sql`
      INSERT INTO push_rules (user_id, rules) VALUES (${userId}, ${rules})
      ON CONFLICT (user_id) DO UPDATE SET rules = EXCLUDED.rules`;
  }
}
