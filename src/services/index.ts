// Builds the services every handler shares, once per process, and tears them down at stop.
import type { ResolvedConfig } from '../config/load.js';
import type { Sql } from '../storage/pool.js';
import type { Logger } from '../util/logger.js';
import type { ServerContext } from './context.js';
import type { ServerKeys } from './server-keys.js';
import { Notifier } from './notifier.js';
import { StreamTracker } from './streams.js';
import { createAccountServices } from './account-services.js';
import { RoomService } from './rooms/service.js';
import { FilterStore } from '../storage/filters.js';
import { CryptoPool } from '../crypto/pool.js';
import { UnreadService } from './unread.js';
import { closeClientDataServices, createClientDataServices, wireClientDataServices } from './client-data.js';

export async function createContext(config: ResolvedConfig, log: Logger, sql: Sql, serverKeys: ServerKeys): Promise<ServerContext> {
  const streams = new StreamTracker();
  await streams.init(sql);
  const notifier = new Notifier();
  const rooms = new RoomService({ sql, log, serverName: config.server_name, signingKey: serverKeys.signingKey, streams, notifier });
  const clientData = createClientDataServices({ config, log, sql, streams, notifier });
  const ctx: ServerContext = {
    config,
    log,
    sql,
    serverKeys,
    notifier,
    streams,
    syncContributors: [],
    ...createAccountServices(config, log, sql),
    rooms,
    filters: new FilterStore(sql),
    crypto: new CryptoPool({ ...(config.worker_threads ? { threads: config.worker_threads } : {}), minThreads: 0 }),
    ...clientData,
    unread: new UnreadService({ sql, log, rooms, receipts: clientData.receipts, pushRules: clientData.pushRules }),
  };
  await wireClientDataServices(ctx);
  ctx.syncContributors.push(ctx.unread.contributor);
  return ctx;
}

/** Ends long-polls so in-flight requests can finish; called before the front end drains. */
export function beginShutdown(ctx: ServerContext): void {
  ctx.notifier.close();
}

/** Stops background work (timers, queues, pending writes) before the database closes. */
export async function closeContext(ctx: ServerContext): Promise<void> {
  ctx.notifier.close();
  closeClientDataServices(ctx);
  await ctx.unread.close();
  await ctx.crypto.close();
  await ctx.auth.close();
}
