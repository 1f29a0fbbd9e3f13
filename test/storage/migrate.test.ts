import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { migrate, loadMigrations } from '../../src/storage/migrate.js';
import { createTestDatabase, openPool, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db.drop();
});

test('migration files are numbered uniquely and load in order', async () => {
  const ms = await loadMigrations();
  assert.ok(ms.length >= 1);
  assert.deepEqual(ms.map((m) => m.version), [...ms.map((m) => m.version)].sort((a, b) => a - b));
});

test('two processes migrating at once apply each migration exactly once; a rerun is a no-op', async () => {
  const a = openPool(db.url);
  const b = openPool(db.url);
  try {
    const all = (await loadMigrations()).map((m) => m.version);
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
    // One of them did the work, the other found it done.
    assert.deepEqual([...ra, ...rb].sort((x, y) => x - y), all);
    assert.deepEqual(await migrate(a), []);
    const rows = await a`SELECT version FROM schema_migrations ORDER BY version`;
    assert.deepEqual(rows.map((r) => r.version), all);
  } finally {
    await a.end();
    await b.end();
  }
});

test('a failing migration rolls back entirely', async () => {
  const pool = openPool(db.url);
  try {
    await assert.rejects(
      migrate(pool, [
        { version: 9001, name: 'ok_part', sql: 'CREATE TABLE should_not_exist (x int)' },
        { version: 9002, name: 'broken', sql: 'CREATE TABLE oops (' },
      ]),
    );
    const rows = await pool`SELECT to_regclass('should_not_exist') AS t`;
    assert.equal(rows[0]!.t, null);
    const done = await pool`SELECT version FROM schema_migrations WHERE version > 9000`;
    assert.equal(done.length, 0);
  } finally {
    await pool.end();
  }
});
