// What the handlers share: configuration, database, keys, logger, and the services built on
// them. Services are created once at start (src/services/index.ts) and live for the process.
import type { ResolvedConfig } from '../config/load.js';
import type { Sql } from '../storage/pool.js';
import type { Logger } from '../util/logger.js';
import type { ServerKeys } from './server-keys.js';
import type { Notifier } from './notifier.js';
import type { StreamTracker } from './streams.js';
import type { SyncContributor } from './sync/types.js';

export interface ServerContext {
  config: ResolvedConfig;
  log: Logger;
  sql: Sql;
  serverKeys: ServerKeys;
  /** Wakes long-polling syncs. */
  notifier: Notifier;
  /** Stream positions for everything a sync returns. */
  streams: StreamTracker;
  /** Streams other than room events that add to /sync (account data, to-device, typing...). */
  syncContributors: SyncContributor[];
}
