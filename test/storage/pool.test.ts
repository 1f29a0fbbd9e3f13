// The pool can never wedge: requests of every family that takes stream positions, five times
// pool_max at once and across many id-block boundaries, all complete; transactions can never hold
// every connection; and the server-side and acquire timeouts end what would otherwise wait forever.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ID_BLOCK_SIZE } from '../../src/storage/id-block.js';
import { connectionFromUrl, createPool } from '../../src/storage/pool.js';
import { MatrixError } from '../../src/http/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { TestClient } from '../helpers/client.js';
import { startHarness, user, createRoom, send, ok, type Harness } from '../client/extras-harness.js';

const POOL_MAX = 3;
const CONCURRENT = 5 * POOL_MAX;

describe('no pool deadlock through the server', () => {
  let h: Harness;
  let alice: TestClient;
  let bob: TestClient;
  let roomId: string;
  let eventId: string;

  before(async () => {
    h = await startHarness({ database: { pool_max: POOL_MAX } });
    alice = await user(h, 'alice');
    bob = await user(h, 'bob');
    roomId = await createRoom(alice, { preset: 'public_chat' });
    ok(await bob.post(`/rooms/${encodeURIComponent(roomId)}/join`, {}));
    eventId = await send(alice, roomId);
  });
  after(async () => {
    await h.stop();
  });

  const enc = encodeURIComponent;
  let n = 0;
  // Each family: one request that allocates stream positions (inside a transaction where it does).
  const families: Record<string, (c: TestClient) => Promise<{ status: number; body: unknown }>> = {
    'account data': (c) => c.put(`/user/${enc(c.userId!)}/account_data/org.example.k${n++ % 7}`, { n: n }),
    'room account data': (c) => c.put(`/user/${enc(c.userId!)}/rooms/${enc(roomId)}/account_data/org.example.r`, { n: n++ }),
    tags: (c) => c.put(`/user/${enc(c.userId!)}/rooms/${enc(roomId)}/tags/u.t${n++ % 5}`, {}),
    receipts: (c) => c.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`, { thread_id: `$t${n++}` }),
    presence: (c) => c.put(`/presence/${enc(c.userId!)}/status`, { presence: n++ % 2 ? 'online' : 'unavailable', status_msg: `s${n}` }),
    'to-device': (c) => c.put(`/sendToDevice/m.test/txn${n++}`, { messages: { [bob.userId!]: { '*': { n } } } }),
    keys: (c) => c.post('/keys/upload', { one_time_keys: { [`signed_curve25519:k${n++}`]: { key: `k${n}`, signatures: {} } } }),
    'push rules': (c) => c.put(`/pushrules/global/override/r${n++ % 4}`, { actions: ['dont_notify'], conditions: [] }),
    login: () =>
      new TestClient(h.baseUrl).post('/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'correct horse battery staple' }),
    sends: (c) => c.put(`/rooms/${enc(roomId)}/send/m.room.message/p${n++}`, { msgtype: 'm.text', body: 'x' }),
  };

  test(`${CONCURRENT} concurrent requests of each family, across ${ID_BLOCK_SIZE}-id block boundaries`, { timeout: 90_000 }, async () => {
    const start = h.ctx.streams.position;
    // Enough rounds that the stream crosses several block boundaries while all families run.
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        Object.entries(families).map(async ([name, f]) => {
          const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => f(i % 2 ? alice : bob)));
          for (const r of results) assert.equal(r.status, 200, `${name}: ${r.status} ${JSON.stringify(r.body)}`);
        }),
      );
    }
    assert.ok(h.ctx.streams.position - start > 3 * ID_BLOCK_SIZE, `crossed ${(h.ctx.streams.position - start) / ID_BLOCK_SIZE} blocks`);
    // Still answering database-backed requests afterwards.
    ok(await alice.get('/sync?timeout=0'));
  });
});

describe('pool guards', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db.drop();
  });

  test('transactions never take the last connection: a plain query still runs while they wait', async () => {
    const sql = createPool(connectionFromUrl(db.url), { max: 2, acquireTimeoutMs: 5_000 });
    try {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const first = sql.begin(async (tx) => {
        await tx`SELECT 1`;
        await held;
      });
      // The second transaction must wait for the first; meanwhile a plain query is answered.
      const second = sql.begin(async (tx) => tx`SELECT 2 AS v`);
      const [row] = await sql`SELECT 3 AS v`;
      assert.equal(row!.v, 3);
      release();
      await first;
      await second;
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  test('a transaction waiting past the acquire timeout fails with 503', async () => {
    const sql = createPool(connectionFromUrl(db.url), { max: 2, acquireTimeoutMs: 200 });
    try {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const first = sql.begin(async () => held);
      const err = await sql.begin(async (tx) => tx`SELECT 1`).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof MatrixError, String(err));
      assert.equal(err.status, 503);
      release();
      await first;
      // And the pool works again.
      await sql.begin(async (tx) => tx`SELECT 1`);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  test('the database ends a transaction left idle, and a runaway statement', async () => {
    const sql = createPool(connectionFromUrl(db.url), { max: 2, idleInTransactionTimeoutMs: 300, statementTimeoutMs: 500 });
    try {
      const idle = await sql
        .begin(async (tx) => {
          await tx`SELECT 1`;
          await new Promise((r) => setTimeout(r, 1_200));
          await tx`SELECT 2`;
        })
        .then(
          () => 'committed',
          () => 'ended',
        );
      assert.equal(idle, 'ended');
      const slow = await sql`SELECT pg_sleep(5)`.then(
        () => 'finished',
        (e: { code?: string }) => e.code,
      );
      assert.equal(slow, '57014'); // query_canceled
      const [row] = await sql`SELECT 1 AS v`;
      assert.equal(row!.v, 1);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
