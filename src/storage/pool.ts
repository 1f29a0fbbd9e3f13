// The postgres.js connection pool. DATABASE_URL-style URLs may name a Unix socket directory
// with `?host=/path`, as libpq does.
import postgres from 'postgres';
import { serverBusy } from '../http/errors.js';

export type Sql = postgres.Sql<Record<string, never>>;

/** Whether a failed statement was refused for the values it carried (SQLSTATE class 22, data exception). */
export function isDataException(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
}

export interface ConnectionOptions {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
}

export function connectionFromUrl(url: string): ConnectionOptions {
  const u = new URL(url);
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error(`not a postgres URL: ${u.protocol}`);
  const socket = u.searchParams.get('host');
  const opts: ConnectionOptions = {
    host: socket || decodeURIComponent(u.hostname) || 'localhost',
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || 'postgres',
    database: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
  };
  if (u.password) opts.password = decodeURIComponent(u.password);
  return opts;
}

export function connectionToUrl(c: ConnectionOptions): string {
  const auth = encodeURIComponent(c.user) + (c.password ? `:${encodeURIComponent(c.password)}` : '');
  if (c.host.startsWith('/')) {
    return `postgres://${auth}@localhost:${c.port}/${encodeURIComponent(c.database)}?host=${encodeURIComponent(c.host)}`;
  }
  return `postgres://${auth}@${c.host}:${c.port}/${encodeURIComponent(c.database)}`;
}

export interface PoolOptions {
  max?: number;
  /** Server-side cap on one statement (0 = none). */
  statementTimeoutMs?: number;
  /** The server ends a session left idle inside a transaction this long (0 = never). */
  idleInTransactionTimeoutMs?: number;
  /** How long a transaction waits for a connection before it fails with 503 (0 = forever). */
  acquireTimeoutMs?: number;
  /** Told when a transaction had to wait for a connection, and when it gave up. */
  onExhausted?: (info: { waiting: number; timedOut: boolean }) => void;
}

export function createPool(conn: ConnectionOptions, opts: number | PoolOptions = {}): Sql {
  const o: PoolOptions = typeof opts === 'number' ? { max: opts } : opts;
  const max = o.max ?? 10;
  const params: Record<string, string> = {};
  // Server-side guards, so that nothing (a stuck statement, a transaction waiting on something
  // that never comes) can hold a connection forever.
  if (o.statementTimeoutMs) params.statement_timeout = String(o.statementTimeoutMs);
  if (o.idleInTransactionTimeoutMs) params.idle_in_transaction_session_timeout = String(o.idleInTransactionTimeoutMs);
  const sql = postgres({
    ...conn,
    max,
    idle_timeout: 60,
    connect_timeout: 15,
    connection: params,
    // Server notices (e.g. "relation already exists, skipping") are not errors.
    onnotice: () => {},
    // Keep int8 exact where it matters (stream orderings are far below 2^53, so numbers are fine).
    types: { bigint: postgres.BigInt },
  }) as unknown as Sql;
  gateTransactions(sql, max, o);
  return sql;
}

/**
 * postgres.js pins a connection for each open transaction and queues every other query until a
 * connection is free, with no timeout. If transactions could take every connection, plain
 * queries (and a transaction waiting on one) would wait forever. So at most max − 1
 * transactions run at once (one when max is 1), plain queries always have a connection to
 * pipeline on, and a transaction that waits longer than the acquire timeout fails.
 */
function gateTransactions(sql: Sql, max: number, o: PoolOptions): void {
  const slots = Math.max(1, max - 1);
  const acquireMs = o.acquireTimeoutMs ?? 0;
  const begin = sql.begin.bind(sql) as (...args: unknown[]) => Promise<unknown>;
  let running = 0;
  const waiters: Array<() => void> = [];
  const release = () => {
    const next = waiters.shift();
    if (next) next();
    else running--;
  };
  const acquire = (): Promise<void> => {
    if (running < slots) {
      running++;
      return Promise.resolve();
    }
    o.onExhausted?.({ waiting: waiters.length + 1, timedOut: false });
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const grant = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      waiters.push(grant);
      if (acquireMs > 0) {
        timer = setTimeout(() => {
          const i = waiters.indexOf(grant);
          if (i >= 0) waiters.splice(i, 1);
          o.onExhausted?.({ waiting: waiters.length, timedOut: true });
          reject(serverBusy(`no database connection became free within ${acquireMs} ms`));
        }, acquireMs);
        timer.unref();
      }
    });
  };
  (sql as unknown as { begin: unknown }).begin = async (...args: unknown[]) => {
    await acquire();
    try {
      return await begin(...args);
    } finally {
      release();
    }
  };
}
