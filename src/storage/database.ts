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
  const sql = createPool(conn, config.database.pool_max);
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
