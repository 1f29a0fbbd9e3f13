// `lattice register-user` with the embedded database: with no server running it starts the
// database itself; with the server running it goes through the server's socket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { login } from '../helpers/client.js';
import { validateConfig } from '../../src/config/load.js';
import { startServer } from '../../src/server.js';
import { createLogger } from '../../src/util/logger.js';

const PW = 'correct horse battery staple';
let dir: string;
let configPath: string;
const env: NodeJS.ProcessEnv = { ...process.env };
delete env.DATABASE_URL;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lattice-emb-'));
  // Run as root, the embedded server runs as a `postgres` user that must reach the data dir.
  await chmod(dir, 0o755);
  configPath = join(dir, 'lattice.yaml');
  await writeFile(configPath, `server_name: emb.test\ndata_dir: ${JSON.stringify(dir)}\nlog_level: silent\n`);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('register-user works with the server stopped and while it runs', async () => {
  const offline = await runCli(['register-user', 'alice', '--password', PW, '--config', configPath], '', env);
  assert.equal(offline.code, 0, offline.stderr);
  assert.equal(offline.stdout, '@alice:emb.test\n');

  const config = validateConfig(
    { server_name: 'emb.test', data_dir: dir, log_level: 'silent', listeners: { http: { bind: '127.0.0.1', port: 0 } } },
    dir,
    {},
  );
  const server = await startServer(config, createLogger('silent'));
  try {
    const online = await runCli(['register-user', 'bob', '--password', PW, '--config', configPath], '', env);
    assert.equal(online.code, 0, online.stderr);
    assert.equal(online.stdout, '@bob:emb.test\n');
    const dup = await runCli(['register-user', 'alice', '--password', PW, '--config', configPath], '', env);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists/);

    const base = `http://127.0.0.1:${server.httpPort}`;
    assert.equal((await login(base, 'alice', PW)).userId, '@alice:emb.test');
    assert.equal((await login(base, 'bob', PW)).userId, '@bob:emb.test');
  } finally {
    await server.stop();
  }
});
