// Builds the services every handler shares, once per process, and tears them down at stop.
import type { ResolvedConfig } from '../config/load.js';
import type { Sql } from '../storage/pool.js';
import type { Logger } from '../util/logger.js';
import type { ServerContext } from './context.js';
import type { ServerKeys } from './server-keys.js';

export async function createContext(config: ResolvedConfig, log: Logger, sql: Sql, serverKeys: ServerKeys): Promise<ServerContext> {
  return { config, log, sql, serverKeys };
}

/** Stops background work (timers, queues) before the database closes. */
export async function closeContext(_ctx: ServerContext): Promise<void> {}
