// Starts a real Lattice server in this process on an ephemeral loopback port, with its own
// database and data directory, for HTTP-level tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig, type ResolvedConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createLogger } from '../../src/util/logger.js';
import { createTestDatabase } from './database.js';

export interface TestServer {
  baseUrl: string;
  config: ResolvedConfig;
  server: RunningServer;
  stop(): Promise<void>;
}

export async function startTestServer(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-srv-'));
  const db = await createTestDatabase();
  const config = validateConfig(
    { server_name: 'test.local', log_level: process.env.LATTICE_TEST_LOG ?? 'silent', ...overrides, listeners: { http: { bind: '127.0.0.1', port: 0 } } },
    dir,
    { DATABASE_URL: db.url },
  );
  const server = await startServer(config, createLogger(config.log_level));
  return {
    baseUrl: `http://127.0.0.1:${server.httpPort}`,
    config,
    server,
    async stop() {
      await server.stop();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
