// The database's side of GET /health: one trivial query, given up on after a short wait.
import type { Sql } from './pool.js';

/** Resolves when the database answers `SELECT 1` within `timeoutMs`; rejects otherwise. */
export async function pingDatabase(sql: Sql, timeoutMs: number): Promise<void> {
  const query = sql`SELECT 1`;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // A query still waiting for a connection is dropped; one already sent is cancelled.
      query.cancel();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([query.execute(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
