// Builds the account services from the configuration: store, password hasher, token auth,
// rate limiters and user-interactive auth with its stages.
import type { ResolvedConfig } from '../config/load.js';
import { AccountStore } from '../storage/accounts.js';
import type { Sql } from '../storage/pool.js';
import type { Logger } from '../util/logger.js';
import { AccountService } from './accounts.js';
import { Auth, PasswordHasher } from './auth.js';
import { RateLimiter, type AccountRateLimits } from './rate-limit.js';
import { Uia, dummyStage, passwordStage } from './uia.js';

export function passwordHasherFor(config: ResolvedConfig): PasswordHasher {
  const p = config.password_hashing;
  return new PasswordHasher({ opsLimit: p.ops_limit, memLimitBytes: p.mem_limit_kib * 1024, maxConcurrent: p.max_concurrent });
}

export function createAccountServices(config: ResolvedConfig, log: Logger, sql: Sql) {
  const store = new AccountStore(sql);
  const auth = new Auth(store, log);
  const accounts = new AccountService(store, auth, passwordHasherFor(config), config.server_name, log);
  const r = config.rate_limits;
  const rateLimits: AccountRateLimits = {
    login: new RateLimiter(r.login),
    loginFailures: new RateLimiter(r.login_failures),
    registration: new RateLimiter(r.registration),
  };
  const uia = new Uia({ 'm.login.dummy': dummyStage, 'm.login.password': passwordStage(accounts, rateLimits.loginFailures) });
  return { auth, accounts, uia, rateLimits };
}
