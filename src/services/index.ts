// Builds the services every handler shares, once per process, and tears them down at stop.
import type { ResolvedConfig } from '../config/load.js';
import type { Sql } from '../storage/pool.js';
import type { Logger } from '../util/logger.js';
import type { ServerContext } from './context.js';
import type { ServerKeys } from './server-keys.js';
import { Notifier } from './notifier.js';
import { StreamTracker } from './streams.js';

export async function createContext(config: ResolvedConfig, log: Logger, sql: Sql, serverKeys: ServerKeys): Promise<ServerContext> {
  const streams = new StreamTracker();
  await streams.init(sql);
  const ctx: ServerContext = { config, log, sql, serverKeys, notifier: new Notifier(), streams, syncContributors: [] };
  return ctx;
}

/** Stops background work (timers, queues) before the database closes. */
export async function closeContext(ctx: ServerContext): Promise<void> {
  // Long-polling syncs return now rather than hold shutdown up.
  ctx.notifier.wakeAll();
}
