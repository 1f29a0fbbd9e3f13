// The persistent state trie against real PostgreSQL, checked against a plain Map.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { migrate } from '../../src/storage/migrate.js';
import { StateTree, stateKey } from '../../src/storage/state-tree.js';
import { prng } from '../../src/util/rng.js';
import type { Sql } from '../../src/storage/pool.js';
import { createTestDatabase, openPool, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
let sql: Sql;

before(async () => {
  db = await createTestDatabase();
  sql = openPool(db.url);
  await migrate(sql);
});
after(async () => {
  await sql.end();
  await db.drop();
});

const nodeCount = async () => Number((await sql`SELECT count(*)::int AS n FROM state_nodes`)[0]!.n);

test('random updates and deletions match a Map; old snapshots stay intact', async () => {
  const tree = new StateTree(sql);
  const rand = prng(42);
  const model = new Map<string, number>();
  let root = 0;
  const history: Array<{ root: number; model: Map<string, number> }> = [];
  for (let round = 0; round < 40; round++) {
    const changes = new Map<string, number | null>();
    const n = 1 + Math.floor(rand() * 200);
    for (let i = 0; i < n; i++) {
      const key = stateKey(rand() < 0.9 ? 'm.room.member' : 'm.room.topic', `@u${Math.floor(rand() * 3000)}:x`);
      const val = rand() < 0.1 ? null : Math.floor(rand() * 1e9) + 1;
      changes.set(key, val);
    }
    for (const [k, v] of changes) (v === null ? model.delete(k) : model.set(k, v));
    root = await tree.update(root, changes);
    history.push({ root, model: new Map(model) });
  }
  // A fresh tree object reads everything back from the database, not from its cache.
  const cold = new StateTree(sql);
  for (const h of history) assert.deepEqual(await cold.entries(h.root), h.model);
  const probe = [...model.keys()].slice(0, 50).concat([stateKey('m.room.member', '@nobody:x')]);
  const got = await cold.getMany(root, probe);
  for (const k of probe) assert.equal(got.get(k), model.get(k));
});

test('diff returns exactly the changed entries, in both directions', async () => {
  const tree = new StateTree(sql);
  const base = new Map<string, number>();
  for (let i = 0; i < 5000; i++) base.set(stateKey('m.room.member', `@m${i}:x`), i + 1);
  const r1 = await tree.create(base);
  const changes = new Map<string, number | null>([
    [stateKey('m.room.member', '@m10:x'), 999_999],
    [stateKey('m.room.member', '@m11:x'), null],
    [stateKey('m.room.name', ''), 77],
  ]);
  const r2 = await tree.update(r1, changes);
  const cold = new StateTree(sql);
  assert.deepEqual(await cold.diff(r1, r2), changes);
  assert.deepEqual(
    await cold.diff(r2, r1),
    new Map<string, number | null>([
      [stateKey('m.room.member', '@m10:x'), 11],
      [stateKey('m.room.member', '@m11:x'), 12],
      [stateKey('m.room.name', ''), null],
    ]),
  );
  assert.equal((await cold.diff(0, r1)).size, 5000);
  assert.equal((await cold.diff(r2, r2)).size, 0);
});

test('one change to a 100,000-entry snapshot writes a handful of nodes and shares the rest', async () => {
  const tree = new StateTree(sql);
  const big = new Map<string, number>();
  for (let i = 0; i < 100_000; i++) big.set(stateKey('m.room.member', `@user${i}:example.org`), i + 1);
  const r1 = await tree.create(big);
  const before = await nodeCount();
  const r2 = await tree.update(r1, new Map([[stateKey('m.room.member', '@user5:example.org'), 424242]]));
  const written = (await nodeCount()) - before;
  assert.ok(written >= 1 && written <= 6, `wrote ${written} nodes`);
  assert.notEqual(r1, r2);
  // An update that changes nothing keeps the same root and writes nothing.
  assert.equal(await tree.update(r2, new Map([[stateKey('m.room.member', '@user5:example.org'), 424242]])), r2);
  assert.equal(await nodeCount(), before + written);
  const cold = new StateTree(sql);
  assert.equal(await cold.get(r1, stateKey('m.room.member', '@user5:example.org')), 6);
  assert.equal(await cold.get(r2, stateKey('m.room.member', '@user5:example.org')), 424242);
  assert.equal((await cold.entries(r2)).size, 100_000);
});

test('deleting everything gives the empty snapshot 0', async () => {
  const tree = new StateTree(sql);
  const r = await tree.create(new Map([['a\u0000', 1], ['b\u0000', 2]]));
  assert.equal(await tree.update(r, new Map([['a\u0000', null], ['b\u0000', null]])), 0);
  assert.equal((await tree.entries(0)).size, 0);
});
