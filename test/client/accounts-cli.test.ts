// `lattice register-user` as a child process against a test database, then a server on that
// same database logging the new users in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, openPool, type TestDatabase } from '../helpers/database.js';
import { login } from '../helpers/client.js';
import { validateConfig } from '../../src/config/load.js';
import { startServer } from '../../src/server.js';
import { createLogger } from '../../src/util/logger.js';

const PW = 'correct horse battery staple';
let db: TestDatabase;
let dir: string;
let configPath: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'lattice-cli-'));
  configPath = join(dir, 'lattice.yaml');
  await writeFile(configPath, `server_name: cli.test\ndata_dir: ${JSON.stringify(dir)}\n`);
  env = { ...process.env, DATABASE_URL: db.url };
});
after(async () => {
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

async function userRow(userId: string) {
  const pool = openPool(db.url, 1);
  try {
    return (await pool`SELECT password_hash, is_admin, deactivated FROM users WHERE user_id = ${userId}`)[0];
  } finally {
    await pool.end();
  }
}

test('creates a user with an argon2id hash, and an admin with --admin', async () => {
  const r = await runCli(['register-user', 'alice', '--password', PW, '--config', configPath], '', env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '@alice:cli.test\n');
  const row = await userRow('@alice:cli.test');
  assert.ok(row);
  assert.match(row.password_hash as string, /^\$argon2id\$/);
  assert.equal(row.is_admin, false);

  const a = await runCli(['register-user', '@Boss:cli.test', '--password', PW, '--admin', '--config', configPath], '', env);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, '@boss:cli.test\n');
  assert.equal((await userRow('@boss:cli.test'))!.is_admin, true);
});

test('reads the password from stdin when --password is not given', async () => {
  const r = await runCli(['register-user', 'dave', '--config', configPath], 'piped secret\n', env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '@dave:cli.test\n');
});

test('refuses an existing user, invalid names, foreign ids and empty passwords', async () => {
  const dup = await runCli(['register-user', 'alice', '--password', 'other', '--config', configPath], '', env);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /@alice:cli\.test already exists/);
  const bad = await runCli(['register-user', 'not valid', '--password', PW, '--config', configPath], '', env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /may contain only/);
  const foreign = await runCli(['register-user', '@eve:elsewhere.example', '--password', PW, '--config', configPath], '', env);
  assert.equal(foreign.code, 1);
  assert.match(foreign.stderr, /not a user id on cli\.test/);
  const empty = await runCli(['register-user', 'erin', '--config', configPath], '\n', env);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /must not be empty/);
  const usage = await runCli(['register-user', '--password', PW, '--config', configPath], '', env);
  assert.equal(usage.code, 2);
  assert.equal(await userRow('@erin:cli.test'), undefined);
});

test('a server on the same database logs the new users in', async () => {
  const config = validateConfig(
    { server_name: 'cli.test', data_dir: dir, log_level: 'silent', listeners: { http: { bind: '127.0.0.1', port: 0 } } },
    dir,
    { DATABASE_URL: db.url },
  );
  const server = await startServer(config, createLogger('silent'));
  try {
    const base = `http://127.0.0.1:${server.httpPort}`;
    assert.equal((await login(base, 'alice', PW)).userId, '@alice:cli.test');
    assert.equal((await login(base, 'dave', 'piped secret')).userId, '@dave:cli.test');
  } finally {
    await server.stop();
  }
});
