// Whether this server can do its work: today, whether the database answers.
import type { Logger } from '../util/logger.js';
import { pingDatabase } from '../storage/health.js';
import type { Sql } from '../storage/pool.js';

const DATABASE_TIMEOUT_MS = 2000;

export type HealthReport = { ok: true } | { ok: false; reason: string };

export async function checkHealth(sql: Sql, log: Logger, timeoutMs = DATABASE_TIMEOUT_MS): Promise<HealthReport> {
  try {
    await pingDatabase(sql, timeoutMs);
    return { ok: true };
  } catch (e) {
    // The details stay in the log: the endpoint answers anyone.
    log.warn({ err: e }, 'health check: the database does not answer');
    return { ok: false, reason: 'database unavailable' };
  }
}
