// What the handlers share: configuration, database, keys, logger.
import type { ResolvedConfig } from '../config/load.js';
import type { Sql } from '../storage/pool.js';
import type { Logger } from '../util/logger.js';
import type { ServerKeys } from './server-keys.js';

export interface ServerContext {
  config: ResolvedConfig;
  log: Logger;
  sql: Sql;
  serverKeys: ServerKeys;
}
