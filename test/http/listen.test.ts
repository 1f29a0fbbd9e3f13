// One server per port: uWS's default SO_REUSEPORT would let a second Lattice bind the same port
// and the kernel split requests between two servers with different signing keys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { ListenError } from '../../src/http/server.js';
import { startServer } from '../../src/server.js';
import { createLogger } from '../../src/util/logger.js';
import { runCli } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let first: TestServer;
let dir: string;

before(async () => {
  first = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'lattice-listen-'));
});
after(async () => {
  await first.stop();
  await rm(dir, { recursive: true, force: true });
});

async function keyOf(base: string): Promise<string> {
  const r = await fetch(`${base}/_matrix/key/v2/server`);
  return Object.keys(((await r.json()) as { verify_keys: Record<string, unknown> }).verify_keys).join();
}

test('a second server on the same port fails to start; the first keeps every request', async () => {
  const port = first.server.httpPort;
  // Its own data directory, so its own signing key: the split would be visible.
  const config = validateConfig(
    { server_name: 'second.local', log_level: 'silent', listeners: { http: { bind: '127.0.0.1', port } } },
    dir,
    { DATABASE_URL: first.config.databaseUrl! },
  );
  await assert.rejects(startServer(config, createLogger('silent')), (e: unknown) => e instanceof ListenError && e.port === port);
  const firstKey = await keyOf(first.baseUrl);
  for (let i = 0; i < 20; i++) assert.equal(await keyOf(first.baseUrl), firstKey);
});

test('`lattice start` on a taken port exits non-zero with a clear message', async () => {
  const cfg = join(dir, 'homeserver.yaml');
  await writeFile(cfg, `server_name: cli.local\nlog_level: silent\nlisteners:\n  http:\n    bind: 127.0.0.1\n    port: ${first.server.httpPort}\n`);
  const r = await runCli(['start', '--config', cfg], '', { ...process.env, DATABASE_URL: first.config.databaseUrl! });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
});
