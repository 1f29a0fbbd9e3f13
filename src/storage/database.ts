// Opens the database the configuration asks for: DATABASE_URL / database.url, or the embedded
// server. Runs migrations before anything else touches it.
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/load.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';
import { connectionFromUrl, createPool, type Sql } from './pool.js';
import { migrate } from './migrate.js';

export interface Database {
  sql: Sql;
  close(): Promise<void>;
}

export async function openDatabase(config: ResolvedConfig, log: Logger): Promise<Database> {
  let embedded: EmbeddedDatabase | undefined;
  let conn;
  if (config.databaseUrl) {
    conn = connectionFromUrl(config.databaseUrl);
  } else {
    embedded = await startEmbeddedPostgres(config.dataDir, log);
    conn = embedded.connection;
  }
  const d = config.database;
  let lastWarned = 0;
  const sql = createPool(conn, {
    max: d.pool_max,
    statementTimeoutMs: d.statement_timeout_ms,
    idleInTransactionTimeoutMs: d.idle_in_transaction_timeout_ms,
    acquireTimeoutMs: d.acquire_timeout_ms,
    onExhausted: ({ waiting, timedOut }) => {
      // At most one line a second: exhaustion comes in bursts.
      const now = Date.now();
      if (!timedOut && now - lastWarned < 1000) return;
      lastWarned = now;
      log.warn({ waiting, timedOut, pool_max: d.pool_max }, timedOut ? 'database pool exhausted: a transaction gave up waiting' : 'database pool exhausted: transactions are waiting');
    },
  });
  try {
    const applied = await migrate(sql);
    if (applied.length) log.info({ applied }, 'applied database migrations');
  } catch (e) {
    await sql.end({ timeout: 1 });
    await embedded?.stop();
    throw e;
  }
  return {
    sql,
    async close() {
      await sql.end({ timeout: 5 });
      await embedded?.stop();
    },
  };
}
