// Starts a real Lattice server in this process on an ephemeral loopback port, with its own
// database and data directory, for HTTP-level tests. `restart()` stops it and starts a new
// server on the same database and data directory (what a restart keeps).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig, type ResolvedConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createLogger, type Logger } from '../../src/util/logger.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface TestServer {
  baseUrl: string;
  config: ResolvedConfig;
  server: RunningServer;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /** Where the server logs (default: a logger at LATTICE_TEST_LOG, or silent). */
  log?: Logger;
  /** listeners.http.x_forwarded */
  xForwarded?: boolean;
}

export async function startTestServer(overrides: Record<string, unknown> = {}, opts: TestServerOptions = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-srv-'));
  const db: TestDatabase = await createTestDatabase();
  const config = validateConfig(
    {
      server_name: 'test.local',
      log_level: process.env.LATTICE_TEST_LOG ?? 'silent',
      ...overrides,
      listeners: { http: { bind: '127.0.0.1', port: 0, ...(opts.xForwarded !== undefined ? { x_forwarded: opts.xForwarded } : {}) } },
    },
    dir,
    { DATABASE_URL: db.url },
  );
  const t: TestServer = {
    baseUrl: '',
    config,
    server: await startServer(config, opts.log ?? createLogger(config.log_level)),
    async restart() {
      await t.server.stop();
      t.server = await startServer(config, opts.log ?? createLogger(config.log_level));
      t.baseUrl = `http://127.0.0.1:${t.server.httpPort}`;
    },
    async stop() {
      await t.server.stop();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  t.baseUrl = `http://127.0.0.1:${t.server.httpPort}`;
  return t;
}

/** Server settings for tests that register users freely. */
export const OPEN_REGISTRATION = {
  enable_registration: true,
  rate_limits: { login: null, login_failures: null, registration: null },
};
