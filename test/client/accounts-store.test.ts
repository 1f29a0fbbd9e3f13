// The accounts repository against a real database: sessions, token lookup, batched last-seen
// writes, and device deletion handing back the token hashes to evict.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AccountStore } from '../../src/storage/accounts.js';
import { migrate } from '../../src/storage/migrate.js';
import type { Sql } from '../../src/storage/pool.js';
import { hashToken, newAccessToken } from '../../src/services/auth.js';
import { createTestDatabase, openPool, type TestDatabase } from '../helpers/database.js';

let db: TestDatabase;
let sql: Sql;
let store: AccountStore;

before(async () => {
  db = await createTestDatabase();
  sql = openPool(db.url, 2);
  await migrate(sql);
  store = new AccountStore(sql);
  assert.equal(await store.createUser({ userId: '@a:hs', passwordHash: 'h', isAdmin: true, now: 1 }), true);
  assert.equal(await store.createUser({ userId: '@b:hs', passwordHash: null, isAdmin: false, now: 2 }), true);
});
after(async () => {
  await sql.end();
  await db.drop();
});

test('createUser refuses a taken id', async () => {
  assert.equal(await store.createUser({ userId: '@a:hs', passwordHash: 'x', isAdmin: false, now: 3 }), false);
  assert.deepEqual(await store.getUser('@a:hs'), { userId: '@a:hs', passwordHash: 'h', isAdmin: true, createdTs: 1, deactivated: false });
});

test('sessions: tokens resolve to their device; reusing a device revokes its old tokens', async () => {
  const t1 = newAccessToken();
  const s1 = await store.createSession({ userId: '@a:hs', deviceId: 'D1', displayName: 'one', tokenHash: t1.hash, now: 10, ip: '10.0.0.1' });
  assert.deepEqual(s1, { created: true, revoked: [] });
  assert.deepEqual(await store.lookupToken(t1.hash), { userId: '@a:hs', deviceId: 'D1', isAdmin: true });
  assert.equal(await store.lookupToken(hashToken('nope')), undefined);

  const t2 = newAccessToken();
  const s2 = await store.createSession({ userId: '@a:hs', deviceId: 'D1', displayName: 'ignored', tokenHash: t2.hash, now: 20, ip: '10.0.0.2' });
  assert.equal(s2.created, false);
  assert.deepEqual(s2.revoked, [t1.hash]);
  assert.equal(await store.lookupToken(t1.hash), undefined);
  assert.deepEqual(await store.getDevice('@a:hs', 'D1'), { deviceId: 'D1', displayName: 'one', lastSeenTs: 20, lastSeenIp: '10.0.0.2' });
});

test('last-seen updates are written in one batch and never go backwards', async () => {
  await store.createSession({ userId: '@a:hs', deviceId: 'D2', displayName: null, tokenHash: newAccessToken().hash, now: 30, ip: null });
  await store.updateLastSeen([
    { userId: '@a:hs', deviceId: 'D1', ts: 15, ip: 'old' },
    { userId: '@a:hs', deviceId: 'D2', ts: 40, ip: '::1' },
    { userId: '@a:hs', deviceId: 'GONE', ts: 50, ip: 'x' },
  ]);
  assert.deepEqual(await store.listDevices('@a:hs'), [
    { deviceId: 'D1', displayName: 'one', lastSeenTs: 20, lastSeenIp: '10.0.0.2' },
    { deviceId: 'D2', displayName: null, lastSeenTs: 40, lastSeenIp: '::1' },
  ]);
});

test('deleting devices returns the ids that existed and the hashes of their tokens', async () => {
  const keep = newAccessToken();
  await store.createSession({ userId: '@a:hs', deviceId: 'KEEP', displayName: null, tokenHash: keep.hash, now: 60, ip: null });
  const d3 = newAccessToken();
  await store.createSession({ userId: '@a:hs', deviceId: 'D3', displayName: null, tokenHash: d3.hash, now: 60, ip: null });
  const one = await store.deleteDevices('@a:hs', ['D3', 'NEVER']);
  assert.deepEqual(one.deviceIds, ['D3']);
  assert.deepEqual(one.tokenHashes, [d3.hash]);
  // Another user's devices are untouched by name.
  const other = newAccessToken();
  await store.createSession({ userId: '@b:hs', deviceId: 'D1', displayName: null, tokenHash: other.hash, now: 60, ip: null });
  const rest = await store.deleteDevices('@a:hs', null, 'KEEP');
  assert.deepEqual(rest.deviceIds.sort(), ['D1', 'D2']);
  assert.equal(rest.tokenHashes.length, 2);
  assert.deepEqual((await store.listDevices('@a:hs')).map((d) => d.deviceId), ['KEEP']);
  assert.ok(await store.lookupToken(keep.hash));
  assert.ok(await store.lookupToken(other.hash));
});

test('deactivation wipes the password and every session; tokens of deactivated users never resolve', async () => {
  const t = newAccessToken();
  await store.createSession({ userId: '@b:hs', deviceId: 'D2', displayName: null, tokenHash: t.hash, now: 70, ip: null });
  const removed = await store.deactivateUser('@b:hs');
  assert.deepEqual(removed.deviceIds.sort(), ['D1', 'D2']);
  assert.equal(removed.tokenHashes.length, 2);
  const u = await store.getUser('@b:hs');
  assert.equal(u!.deactivated, true);
  assert.equal(u!.passwordHash, null);
  assert.equal(await store.lookupToken(t.hash), undefined);
  assert.equal(await store.setPasswordHash('@b:hs', 'new'), false);
});

test('a conditional password update does not undo a newer change', async () => {
  assert.equal(await store.setPasswordHash('@a:hs', 'rehashed', 'stale'), false);
  assert.equal((await store.getUser('@a:hs'))!.passwordHash, 'h');
  assert.equal(await store.setPasswordHash('@a:hs', 'rehashed', 'h'), true);
  assert.equal((await store.getUser('@a:hs'))!.passwordHash, 'rehashed');
});
