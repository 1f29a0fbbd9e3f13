// The postgres.js connection pool. DATABASE_URL-style URLs may name a Unix socket directory
// with `?host=/path`, as libpq does.
import postgres from 'postgres';

export type Sql = postgres.Sql<Record<string, never>>;

/**
 * Whether a text column can hold `s` unchanged: PostgreSQL refuses NUL (failing the whole
 * statement), and a lone surrogate would be written as U+FFFD, silently changing the value.
 */
export function storableText(s: string): boolean {
  return s.indexOf('\u0000') === -1 && (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

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

export function createPool(conn: ConnectionOptions, max = 10): Sql {
  return postgres({
    ...conn,
    max,
    idle_timeout: 60,
    connect_timeout: 15,
    // Server notices (e.g. "relation already exists, skipping") are not errors.
    onnotice: () => {},
    // Keep int8 exact where it matters (stream orderings are far below 2^53, so numbers are fine).
    types: { bigint: postgres.BigInt },
  }) as unknown as Sql;
}
