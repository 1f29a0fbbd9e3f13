// /sync: initial and incremental syncs, long-polling, invites and leaves, limited timelines and
// state deltas, filters, and surviving a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, OPEN_REGISTRATION, type TestServer } from '../helpers/server.js';
import { login, registerUser, TestClient } from '../helpers/client.js';

let srv: TestServer;
let alice: TestClient;
let bob: TestClient;

before(async () => {
  srv = await startTestServer(OPEN_REGISTRATION);
  alice = await registerUser(srv.baseUrl, 'alice');
  bob = await registerUser(srv.baseUrl, 'bob');
});
after(async () => {
  await srv.stop();
});

const enc = encodeURIComponent;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Ev = { type: string; event_id: string; state_key?: string; content: Record<string, unknown>; sender: string };

async function sync(c: TestClient, query = '') {
  const r = await c.get(`/sync${query ? `?${query}` : ''}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

test('initial then incremental sync; an empty incremental sync returns no rooms', async () => {
  const roomId = (await alice.post('/createRoom', { name: 'S1' })).body.room_id;
  await alice.put(`/rooms/${enc(roomId)}/send/m.room.message/a`, { msgtype: 'm.text', body: 'hello' });
  const first = await sync(alice);
  const room = first.rooms.join[roomId];
  assert.ok(room, 'the room is in the initial sync');
  const all: Ev[] = [...room.state.events, ...room.timeline.events];
  assert.ok(all.some((e) => e.type === 'm.room.create'));
  assert.equal(room.timeline.events.at(-1).content.body, 'hello');
  assert.match(first.next_batch, /^s\d+_\d+$/);
  const empty = await sync(alice, `since=${first.next_batch}&timeout=0`);
  assert.deepEqual(empty.rooms.join, {});
  await alice.put(`/rooms/${enc(roomId)}/send/m.room.message/b`, { msgtype: 'm.text', body: 'again' });
  const inc = await sync(alice, `since=${empty.next_batch}`);
  assert.deepEqual(inc.rooms.join[roomId].timeline.events.map((e: Ev) => e.content.body), ['again']);
  assert.equal(inc.rooms.join[roomId].timeline.limited, false);
  assert.deepEqual(inc.rooms.join[roomId].state.events, []);
  assert.equal(inc.rooms.join[roomId].timeline.events[0].unsigned.transaction_id, 'b');
  assert.equal((await alice.get('/sync?since=bogus')).body.errcode, 'M_INVALID_PARAM');
});

test('a long-polling sync wakes as soon as a message arrives', async () => {
  const roomId = (await alice.post('/createRoom', { preset: 'public_chat' })).body.room_id;
  await bob.post(`/rooms/${enc(roomId)}/join`);
  const since = (await sync(bob)).next_batch;
  const started = Date.now();
  const pending = sync(bob, `since=${since}&timeout=20000`);
  await new Promise((r) => setTimeout(r, 100));
  await alice.put(`/rooms/${enc(roomId)}/send/m.room.message/w`, { msgtype: 'm.text', body: 'wake up' });
  const res = await pending;
  assert.ok(Date.now() - started < 15_000, 'returned well before its timeout');
  assert.deepEqual(res.rooms.join[roomId].timeline.events.map((e: Ev) => e.content.body), ['wake up']);
});

test('woken syncs share the timeline slice, yet each keeps its own transaction id and room account data', async () => {
  const roomId = (await alice.post('/createRoom', { preset: 'public_chat' })).body.room_id;
  await bob.post(`/rooms/${enc(roomId)}/join`);
  const alice2 = await login(srv.baseUrl, 'alice', 'correct horse battery staple');
  const clients = [alice, alice2, bob];
  const since = await Promise.all(clients.map(async (c) => (await sync(c)).next_batch as string));
  const polls = clients.map((c, i) => sync(c, `since=${since[i]}&timeout=20000`));
  await new Promise((r) => setTimeout(r, 100));
  const sent = (await alice.put(`/rooms/${enc(roomId)}/send/m.room.message/shared1`, { msgtype: 'm.text', body: 'to all' })).body.event_id;
  const [a1, a2, b] = await Promise.all(polls);
  const ev = (res: Json) => res.rooms.join[roomId].timeline.events.find((e: Ev) => e.event_id === sent);
  assert.equal(ev(a1).unsigned.transaction_id, 'shared1', 'the sending device sees its txn id');
  assert.equal(ev(a2).unsigned.transaction_id, undefined, "the sender's other device does not");
  assert.equal(ev(b).unsigned.transaction_id, undefined);
  assert.equal(ev(b).content.body, 'to all');
  // Per-user parts beside a shared slice: only bob tagged the room.
  await bob.put(`/user/${enc(bob.userId!)}/rooms/${enc(roomId)}/tags/u.shared`, {});
  await alice.put(`/rooms/${enc(roomId)}/send/m.room.message/shared2`, { msgtype: 'm.text', body: 'again' });
  const [r2a, r2b] = await Promise.all([sync(alice2, `since=${a2.next_batch}&timeout=0`), sync(bob, `since=${b.next_batch}&timeout=0`)]);
  const noAge = (t: Json) => ({ ...t, events: t.events.map((e: Json) => ({ ...e, unsigned: { ...e.unsigned, age: 0 } })) });
  assert.deepEqual(noAge(r2a.rooms.join[roomId].timeline), noAge(r2b.rooms.join[roomId].timeline));
  assert.deepEqual(r2a.rooms.join[roomId].timeline.events.map((e: Ev) => e.content.body), ['again']);
  assert.deepEqual(r2a.rooms.join[roomId].account_data.events, []);
  assert.deepEqual(r2b.rooms.join[roomId].account_data.events.map((e: Ev) => e.type), ['m.tag']);
});

test('invites arrive with stripped state; joining brings the whole room; leaving shows in leave', async () => {
  const roomId = (await alice.post('/createRoom', { name: 'Invite me', invite: [bob.userId] })).body.room_id;
  const s1 = await sync(bob);
  const invite = s1.rooms.invite[roomId];
  assert.ok(invite, 'invite section');
  const types = invite.invite_state.events.map((e: Ev) => e.type);
  assert.ok(types.includes('m.room.name') && types.includes('m.room.create') && types.includes('m.room.member'));
  assert.equal(invite.invite_state.events.find((e: Ev) => e.type === 'm.room.member').content.membership, 'invite');
  await bob.post(`/rooms/${enc(roomId)}/join`);
  const s2 = await sync(bob, `since=${s1.next_batch}`);
  const joined = s2.rooms.join[roomId];
  const all: Ev[] = [...joined.state.events, ...joined.timeline.events];
  assert.ok(all.some((e) => e.type === 'm.room.name' && e.content.name === 'Invite me'), 'a new join gets the room state');
  assert.equal(joined.summary['m.joined_member_count'], 2);
  await bob.post(`/rooms/${enc(roomId)}/leave`);
  const s3 = await sync(bob, `since=${s2.next_batch}`);
  assert.ok(s3.rooms.leave[roomId], 'leave section');
  assert.equal(s3.rooms.join[roomId], undefined);
});

test('limited timelines: prev_batch continues in /messages and the state delta covers the gap', async () => {
  const roomId = (await alice.post('/createRoom', { name: 'Old name' })).body.room_id;
  const r = `/rooms/${enc(roomId)}`;
  const since = (await sync(alice)).next_batch;
  await alice.put(`${r}/state/m.room.name`, { name: 'New name' });
  const bodies: string[] = [];
  for (let i = 0; i < 12; i++) {
    bodies.push(`n${i}`);
    await alice.put(`${r}/send/m.room.message/l${i}`, { msgtype: 'm.text', body: `n${i}` });
  }
  const filter = enc(JSON.stringify({ room: { timeline: { limit: 5 } } }));
  const res = await sync(alice, `since=${since}&filter=${filter}`);
  const room = res.rooms.join[roomId];
  assert.equal(room.timeline.limited, true);
  assert.deepEqual(room.timeline.events.map((e: Ev) => e.content.body), bodies.slice(-5));
  assert.deepEqual(room.state.events.map((e: Ev) => [e.type, e.content.name]), [['m.room.name', 'New name']]);
  const older = await alice.get(`${r}/messages?dir=b&limit=7&from=${room.timeline.prev_batch}`);
  assert.deepEqual(older.body.chunk.map((e: Ev) => e.content.body), bodies.slice(0, 7).reverse());
});

test('stored filters: upload, read back, and use by id; other users cannot read them', async () => {
  const up = await alice.post(`/user/${enc(alice.userId!)}/filter`, { room: { timeline: { limit: 1, types: ['m.room.message'] } } });
  assert.equal(up.status, 200);
  const id = up.body.filter_id;
  assert.deepEqual((await alice.get(`/user/${enc(alice.userId!)}/filter/${id}`)).body, { room: { timeline: { limit: 1, types: ['m.room.message'] } } });
  assert.equal((await bob.get(`/user/${enc(alice.userId!)}/filter/${id}`)).status, 403);
  assert.equal((await alice.get(`/user/${enc(alice.userId!)}/filter/424242`)).status, 404);
  assert.equal((await alice.post(`/user/${enc(alice.userId!)}/filter`, { room: { timeline: { limit: 'x' } } })).body.errcode, 'M_BAD_JSON');
  const roomId = (await alice.post('/createRoom', {})).body.room_id;
  await alice.put(`/rooms/${enc(roomId)}/send/m.room.message/f`, { msgtype: 'm.text', body: 'filtered' });
  const res = await sync(alice, `filter=${id}`);
  const events = res.rooms.join[roomId].timeline.events;
  assert.equal(events.length, 1);
  assert.equal(events[0].content.body, 'filtered');
});

test('an initial sync after a restart shows the same rooms and messages', async () => {
  const roomId = (await alice.post('/createRoom', { name: 'Durable' })).body.room_id;
  await alice.put(`/rooms/${enc(roomId)}/send/m.room.message/d`, { msgtype: 'm.text', body: 'still here' });
  const before = await sync(alice);
  await srv.restart();
  const again = new TestClient(srv.baseUrl, alice.accessToken, alice.userId, alice.deviceId);
  const after = await sync(again);
  assert.deepEqual(Object.keys(after.rooms.join).sort(), Object.keys(before.rooms.join).sort());
  assert.equal(after.rooms.join[roomId].timeline.events.at(-1).content.body, 'still here');
  // Incremental sync across the restart, from the pre-restart token.
  await again.put(`/rooms/${enc(roomId)}/send/m.room.message/d2`, { msgtype: 'm.text', body: 'after restart' });
  const inc = await sync(again, `since=${before.next_batch}`);
  assert.deepEqual(inc.rooms.join[roomId].timeline.events.map((e: Ev) => e.content.body), ['after restart']);
  alice = again;
  bob = new TestClient(srv.baseUrl, bob.accessToken, bob.userId, bob.deviceId);
});
