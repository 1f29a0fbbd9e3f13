// The room write path under bad input: a retried transaction id resolves to its original event
// at any age (across restarts, after leaving the in-memory map), and an event that cannot be
// stored fails alone while the rest of its batch commits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, OPEN_REGISTRATION, type TestServer } from '../helpers/server.js';
import { registerUser, TestClient, type ApiResponse } from '../helpers/client.js';

let srv: TestServer;
let alice: TestClient;
/** Ten innocent senders besides alice. */
let others: TestClient[];

const enc = encodeURIComponent;
/** More than the transaction ids a loaded room keeps in memory (MAX_TXNS). */
const PAST_MEMORY = 5_001;

before(async () => {
  srv = await startTestServer(OPEN_REGISTRATION);
  alice = await registerUser(srv.baseUrl, 'alice');
  others = await Promise.all(Array.from({ length: 10 }, (_, i) => registerUser(srv.baseUrl, `user${i}`)));
});
after(async () => {
  await srv.stop();
});

/** The same user and device, talking to the server's current address (it changes on restart). */
const again = (c: TestClient) => new TestClient(srv.baseUrl, c.accessToken, c.userId, c.deviceId);

async function publicRoom(): Promise<string> {
  const r = await alice.post('/createRoom', { preset: 'public_chat' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  for (const c of others) assert.equal((await c.post(`/rooms/${enc(r.body.room_id)}/join`)).status, 200);
  return r.body.room_id;
}

const send = (c: TestClient, room: string, txn: string, body: Record<string, unknown> = { msgtype: 'm.text', body: txn }, type = 'm.room.message') =>
  c.put(`/rooms/${enc(room)}/send/${enc(type)}/${txn}`, body);

/** Sends `n` messages from `senders` in turn, at most 100 in flight; all must succeed. */
async function sendMany(senders: TestClient[], room: string, n: number, prefix: string): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      for (let i = next++; i < n; i = next++) {
        const r = await send(senders[i % senders.length]!, room, `${prefix}-${i}`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
    }),
  );
}

async function eventIdsOf(room: string, limit: number): Promise<Set<string>> {
  const r = await alice.get(`/rooms/${enc(room)}/messages?dir=b&limit=${limit}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return new Set((r.body.chunk as Array<{ event_id: string }>).map((e) => e.event_id));
}

/** Fires 500 innocent sends (10 users × 50) with `poisoned` in their midst; all 500 must succeed. */
async function burst(room: string, tag: string, poisoned: Array<() => Promise<ApiResponse>>): Promise<ApiResponse[]> {
  const innocent: Array<() => Promise<ApiResponse>> = [];
  for (let i = 0; i < 500; i++) innocent.push(() => send(others[i % others.length]!, room, `${tag}-${i}`));
  const all = [...innocent.slice(0, 250), ...poisoned, ...innocent.slice(250)];
  const results = await Promise.all(all.map((f) => f()));
  const innocentResults = [...results.slice(0, 250), ...results.slice(250 + poisoned.length)];
  const failed = innocentResults.filter((r) => r.status !== 200);
  assert.equal(failed.length, 0, `innocent sends failed: ${failed.length}, e.g. ${JSON.stringify(failed[0]?.body)}`);
  const ids = new Set(innocentResults.map((r) => r.body.event_id as string));
  assert.equal(ids.size, 500, 'every innocent send made its own event');
  const stored = await eventIdsOf(room, 1000);
  for (const id of ids) assert.ok(stored.has(id), `${id} is in the room`);
  return results.slice(250, 250 + poisoned.length);
}

test('a retry after a restart finds a transaction older than the recent-events window', async () => {
  const room = await publicRoom();
  const other = await publicRoom();
  const first = await send(alice, room, 'early');
  assert.equal(first.status, 200);
  await sendMany(others, room, 250, 'later');
  await srv.restart();
  alice = again(alice);
  others = others.map(again);
  const a = alice;
  const retry = await send(a, room, 'early');
  assert.equal(retry.status, 200, JSON.stringify(retry.body));
  assert.equal(retry.body.event_id, first.body.event_id, 'the retry returns the original event');
  // Transaction ids are scoped to the request path, which names the room: elsewhere it is a new request.
  const elsewhere = await send(a, other, 'early');
  assert.equal(elsewhere.status, 200, JSON.stringify(elsewhere.body));
  assert.notEqual(elsewhere.body.event_id, first.body.event_id);
  // Same room, another event type: not a retransmission, and the id is taken: refused, not swallowed.
  const reused = await send(a, room, 'early', { foo: 1 }, 'org.example.other');
  assert.equal(reused.status, 400, JSON.stringify(reused.body));
  assert.equal(reused.body.errcode, 'M_INVALID_PARAM');
  const latest = await a.get(`/rooms/${enc(room)}/messages?dir=b&limit=1`);
  assert.notEqual(latest.body.chunk[0].event_id, first.body.event_id, 'no event was re-sent');
  assert.match(latest.body.chunk[0].content.body, /^later-/, 'neither request sent an event');
});

/**
 * A room whose first transactions ('old-1', 'old-2' by alice) are older than the last 5,001:
 * gone from the in-memory map, only the database knows them. Shared by the next two tests.
 */
let pastMemory: Promise<{ room: string; originals: Map<string, string> }> | undefined;
function roomPastMemory() {
  pastMemory ??= (async () => {
    const room = await publicRoom();
    const originals = new Map<string, string>();
    for (const txn of ['old-1', 'old-2']) {
      const r = await send(alice, room, txn);
      assert.equal(r.status, 200);
      originals.set(txn, r.body.event_id);
    }
    await sendMany(others, room, PAST_MEMORY, 'fill');
    return { room, originals };
  })();
  return pastMemory;
}

test('without a restart, a transaction the in-memory map has dropped is found in the database', async () => {
  const { room, originals } = await roomPastMemory();
  const retry = await send(alice, room, 'old-1');
  assert.equal(retry.status, 200, JSON.stringify(retry.body));
  assert.equal(retry.body.event_id, originals.get('old-1'));
});

test('one poisoned send among 500 concurrent innocent ones: all 500 succeed', async () => {
  const { room, originals } = await roomPastMemory();
  const [oldRetry, nulTxn, nulRedacts, twinA, twinB, nulRoom, surrogate, float] = await burst(room, 'innocent', [
    () => send(alice, room, 'old-2'),
    () => send(alice, room, 'bad%00txn'),
    () => send(alice, room, 'nul-redacts', { redacts: '$x\u0000y' }, 'm.room.redaction'),
    () => send(alice, room, 'twin'),
    () => send(alice, room, 'twin'),
    () => send(alice, '!nul\u0000room:test.local', 'nul-room'),
    () => send(alice, room, 'surrogate', { msgtype: 'm.text', body: '\ud800' }),
    () => send(alice, room, 'float', { msgtype: 'm.text', body: 'x', n: 1.5 }),
  ]);
  assert.equal(oldRetry!.status, 200, JSON.stringify(oldRetry!.body));
  assert.equal(oldRetry!.body.event_id, originals.get('old-2'), 'the old retry returns the original event');
  assert.equal(nulTxn!.status, 400, JSON.stringify(nulTxn!.body));
  assert.match(nulTxn!.body.errcode, /^M_/);
  assert.equal(nulRedacts!.status, 400, JSON.stringify(nulRedacts!.body));
  assert.equal(nulRedacts!.body.errcode, 'M_INVALID_PARAM');
  assert.equal(twinA!.status, 200);
  assert.equal(twinB!.body.event_id, twinA!.body.event_id, 'a retry within one batch gets the same event');
  assert.ok(nulRoom!.status >= 400 && nulRoom!.status < 500, JSON.stringify(nulRoom!.body));
  // Content that canonical JSON cannot carry is the client's error too.
  for (const r of [surrogate!, float!]) {
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.errcode, 'M_BAD_JSON');
  }
});

test('when a batch statement fails anyway, its events are retried alone and only the culprit fails', async () => {
  const room = await publicRoom();
  const sql = srv.server.context.sql;
  // A real refusal by PostgreSQL that no up-front check foresees: a trigger on events.
  await sql.unsafe(`CREATE FUNCTION write_path_poison() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.txn_id = 'poison-data' THEN RAISE EXCEPTION 'refused value' USING ERRCODE = '22023'; END IF;
      IF NEW.txn_id = 'poison-fault' THEN RAISE EXCEPTION 'server fault'; END IF;
      RETURN NEW;
    END $$`);
  await sql.unsafe('CREATE TRIGGER write_path_poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION write_path_poison()');
  try {
    const [data, fault, twinA, twinB] = await burst(room, 'net', [
      () => send(alice, room, 'poison-data'),
      () => send(alice, room, 'poison-fault'),
      () => send(alice, room, 'twin'),
      () => send(alice, room, 'twin'),
    ]);
    assert.equal(data!.status, 400, 'a value PostgreSQL refuses is the client\'s fault');
    assert.equal(data!.body.errcode, 'M_INVALID_PARAM');
    assert.equal(fault!.status, 500);
    assert.equal(fault!.body.errcode, 'M_UNKNOWN');
    assert.equal(twinA!.status, 200);
    assert.equal(twinB!.body.event_id, twinA!.body.event_id);
  } finally {
    await sql.unsafe('DROP TRIGGER write_path_poison ON events');
    await sql.unsafe('DROP FUNCTION write_path_poison()');
  }
  // Nothing of the failed attempts was stored: the same transaction now sends a new event.
  const later = await send(alice, room, 'poison-data');
  assert.equal(later.status, 200, JSON.stringify(later.body));
  const after = await send(others[0]!, room, 'after');
  assert.equal(after.status, 200);
  const latest = await alice.get(`/rooms/${enc(room)}/messages?dir=b&limit=2`);
  assert.deepEqual(latest.body.chunk.map((e: { event_id: string }) => e.event_id), [after.body.event_id, later.body.event_id]);
});
