// What the handlers share: configuration, database, keys, logger, and the services built on
// them. Services are created once at start (src/services/index.ts) and live for the process.
import type { ResolvedConfig } from '../config/load.js';
import type { Sql } from '../storage/pool.js';
import type { Logger } from '../util/logger.js';
import type { ServerKeys } from './server-keys.js';
import type { Notifier } from './notifier.js';
import type { StreamTracker } from './streams.js';
import type { SyncContributor } from './sync/types.js';
import type { AccountService } from './accounts.js';
import type { Auth } from './auth.js';
import type { AccountRateLimits } from './rate-limit.js';
import type { Uia } from './uia.js';
import type { RoomService } from './rooms/service.js';
import type { FilterStore } from '../storage/filters.js';
import type { CryptoPool } from '../crypto/pool.js';
import type { ClientDataServices } from './client-data.js';
import type { UnreadService } from './unread.js';

/** accountData, toDevice, e2eKeys, receipts, typing, presence, pushRules, profiles, media:
 *  src/services/client-data.ts. */
export interface ServerContext extends ClientDataServices {
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
  /** Access tokens: `await ctx.auth.requireUser(req)` gives { userId, deviceId, isAdmin } or a 401. */
  auth: Auth;
  /** Users, devices, sessions, passwords (src/services/accounts.ts). */
  accounts: AccountService;
  /** User-interactive authentication sessions. */
  uia: Uia;
  /** Login and registration rate limiters. */
  rateLimits: AccountRateLimits;
  /** Rooms and their events: the one writer of room events (src/services/rooms/service.ts). */
  rooms: RoomService;
  /** Stored sync filters. */
  filters: FilterStore;
  /** Unread notification counts from push rules and read receipts (src/services/unread.ts). */
  unread: UnreadService;
  /** Worker threads for batches of signature checks, hashing and signing (federation). */
  crypto: CryptoPool;
}
