// Unread notification counts in /sync over real HTTP: push rules decide what notifies and what
// highlights, read receipts (public, private, threaded) and the user's own messages clear them,
// incremental syncs report changed counts, and the counts survive a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, OPEN_REGISTRATION, type TestServer } from '../helpers/server.js';
import { registerUser, type TestClient, type Json } from '../helpers/client.js';

let srv: TestServer;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;

before(async () => {
  srv = await startTestServer({ ...OPEN_REGISTRATION, password_hashing: { ops_limit: 1, mem_limit_kib: 8 } });
  alice = await registerUser(srv.baseUrl, 'alice');
  bob = await registerUser(srv.baseUrl, 'bob');
  carol = await registerUser(srv.baseUrl, 'carol');
});
after(async () => {
  await srv.stop();
});

const enc = encodeURIComponent;

function ok(r: { status: number; body: Json }, what: string): Json {
  assert.equal(r.status, 200, `${what}: ${JSON.stringify(r.body)}`);
  return r.body;
}

async function sync(c: TestClient, since?: string, filter?: unknown): Promise<Json> {
  const q = [`timeout=0`];
  if (since) q.push(`since=${enc(since)}`);
  if (filter) q.push(`filter=${enc(JSON.stringify(filter))}`);
  return ok(await c.get(`/sync?${q.join('&')}`), 'sync');
}

let txn = 0;
async function send(c: TestClient, roomId: string, content: Record<string, unknown>, type = 'm.room.message'): Promise<string> {
  return ok(await c.put(`/rooms/${enc(roomId)}/send/${type}/u${++txn}`, content), 'send').event_id;
}
const text = (body: string, extra: Record<string, unknown> = {}) => ({ msgtype: 'm.text', body, ...extra });

/** A room of alice, bob and carol (3 members: no one-to-one rule). */
async function room(): Promise<string> {
  const roomId = ok(await alice.post('/createRoom', { preset: 'public_chat' }), 'createRoom').room_id;
  ok(await bob.post(`/rooms/${enc(roomId)}/join`), 'join');
  ok(await carol.post(`/rooms/${enc(roomId)}/join`), 'join');
  return roomId;
}

const counts = (s: Json, roomId: string) => s.rooms.join[roomId]?.unread_notifications;

test('messages from others notify; mentions and @room from a moderator highlight; own messages do not count', async () => {
  const roomId = await room();
  await send(alice, roomId, text('hello'));
  await send(alice, roomId, text('hey bob', { 'm.mentions': { user_ids: [bob.userId] } }));
  let s = await sync(bob);
  assert.deepEqual(counts(s, roomId), { notification_count: 2, highlight_count: 1 });
  // Carol was not mentioned.
  assert.deepEqual(counts(await sync(carol), roomId), { notification_count: 2, highlight_count: 0 });
  // Alice, the sender, has nothing to read.
  assert.deepEqual(counts(await sync(alice), roomId), { notification_count: 0, highlight_count: 0 });
  // @room needs the "room" notification level (50): alice created the room (100), carol has 0.
  await send(alice, roomId, text('everyone!', { 'm.mentions': { room: true } }));
  await send(carol, roomId, text('everyone?', { 'm.mentions': { room: true } }));
  // Notices, edits and reactions do not notify by default.
  await send(carol, roomId, { msgtype: 'm.notice', body: 'bot says' });
  const inc = await sync(bob, s.next_batch);
  assert.deepEqual(counts(inc, roomId), { notification_count: 4, highlight_count: 2 });
  s = inc;
});

test('an m.read receipt clears the counts up to its event, and an incremental sync shows it with no new events', async () => {
  const roomId = await room();
  const e1 = await send(alice, roomId, text('one'));
  await send(alice, roomId, text('two', { 'm.mentions': { user_ids: [bob.userId] } }));
  const e3 = await send(alice, roomId, text('three'));
  const s1 = await sync(bob);
  assert.deepEqual(counts(s1, roomId), { notification_count: 3, highlight_count: 1 });
  // Nothing changed: the room is not in the next sync.
  const idle = await sync(bob, s1.next_batch);
  assert.equal(idle.rooms.join[roomId], undefined);
  ok(await bob.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(e1)}`, {}), 'receipt');
  const s2 = await sync(bob, idle.next_batch);
  assert.deepEqual(counts(s2, roomId), { notification_count: 2, highlight_count: 1 });
  // A private receipt clears too; one that points back does not rewind.
  ok(await bob.post(`/rooms/${enc(roomId)}/receipt/m.read.private/${enc(e3)}`, {}), 'receipt');
  const s3 = await sync(bob, s2.next_batch);
  assert.deepEqual(s3.rooms.join[roomId].timeline.events, []);
  assert.deepEqual(counts(s3, roomId), { notification_count: 0, highlight_count: 0 });
  ok(await bob.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(e1)}`, {}), 'receipt');
  assert.deepEqual(counts(await sync(bob), roomId), { notification_count: 0, highlight_count: 0 });
  // Carol's counts are her own.
  assert.deepEqual(counts(await sync(carol), roomId), { notification_count: 3, highlight_count: 0 });
});

test('a long-polling sync woken by a message has the message and its count together', async () => {
  const roomId = await room();
  const s1 = await sync(bob);
  const pending = bob.get(`/sync?since=${enc(s1.next_batch)}&timeout=20000`);
  await new Promise((r) => setTimeout(r, 100));
  await send(alice, roomId, text('wake', { 'm.mentions': { user_ids: [bob.userId] } }));
  const s2 = ok(await pending, 'sync');
  assert.equal(s2.rooms.join[roomId].timeline.events.length, 1);
  assert.deepEqual(counts(s2, roomId), { notification_count: 1, highlight_count: 1 });
});

test('sending a message reads the room up to it', async () => {
  const roomId = await room();
  await send(alice, roomId, text('a'));
  await send(alice, roomId, text('b'));
  assert.deepEqual(counts(await sync(bob), roomId), { notification_count: 2, highlight_count: 0 });
  await send(bob, roomId, text('my reply'));
  await send(alice, roomId, text('c'));
  assert.deepEqual(counts(await sync(bob), roomId), { notification_count: 1, highlight_count: 0 });
});

test('threads: per-thread counts with unread_thread_notifications, cleared by threaded receipts', async () => {
  const roomId = await room();
  const root = await send(alice, roomId, text('thread root'));
  const inThread = (body: string, extra: Record<string, unknown> = {}) =>
    text(body, { 'm.relates_to': { rel_type: 'm.thread', event_id: root }, ...extra });
  const t1 = await send(alice, roomId, inThread('reply 1'));
  await send(alice, roomId, inThread('reply 2', { 'm.mentions': { user_ids: [bob.userId] } }));
  const m2 = await send(alice, roomId, text('main again'));
  const filter = { room: { timeline: { unread_thread_notifications: true } } };
  let s = await sync(bob, undefined, filter);
  let part = s.rooms.join[roomId];
  assert.deepEqual(part.unread_notifications, { notification_count: 2, highlight_count: 0 });
  assert.deepEqual(part.unread_thread_notifications, { [root]: { notification_count: 2, highlight_count: 1 } });
  // Without the filter flag: one count for the whole room, no thread object.
  const plain = (await sync(bob)).rooms.join[roomId];
  assert.deepEqual(plain.unread_notifications, { notification_count: 4, highlight_count: 1 });
  assert.equal(plain.unread_thread_notifications, undefined);
  // A receipt in the thread reads only the thread, up to its event.
  ok(await bob.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(t1)}`, { thread_id: root }), 'receipt');
  s = await sync(bob, s.next_batch, filter);
  part = s.rooms.join[roomId];
  assert.deepEqual(part.unread_notifications, { notification_count: 2, highlight_count: 0 });
  assert.deepEqual(part.unread_thread_notifications, { [root]: { notification_count: 1, highlight_count: 1 } });
  // A main-timeline receipt reads the main timeline only.
  ok(await bob.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(m2)}`, { thread_id: 'main' }), 'receipt');
  s = await sync(bob, s.next_batch, filter);
  assert.deepEqual(s.rooms.join[roomId].unread_notifications, { notification_count: 0, highlight_count: 0 });
  assert.deepEqual(s.rooms.join[roomId].unread_thread_notifications, { [root]: { notification_count: 1, highlight_count: 1 } });
  // An unthreaded receipt reads everything up to its event, threads included.
  ok(await carol.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(m2)}`, {}), 'receipt');
  const c = (await sync(carol, undefined, filter)).rooms.join[roomId];
  assert.deepEqual(c.unread_notifications, { notification_count: 0, highlight_count: 0 });
  assert.equal(c.unread_thread_notifications, undefined);
});

test('user push rules: dont_notify and disabling a default rule stop counting; a display-name rule highlights', async () => {
  const roomId = await room();
  // Carol mutes the room.
  ok(await carol.put(`/pushrules/global/room/${enc(roomId)}`, { actions: ['dont_notify'] }), 'room rule');
  // Bob turns off the ordinary message rule and highlights his display name.
  ok(await bob.put('/pushrules/global/underride/.m.rule.message/enabled', { enabled: false }), 'disable');
  ok(await bob.put('/pushrules/global/override/my-name', { conditions: [{ kind: 'contains_display_name' }], actions: ['notify', { set_tweak: 'highlight' }] }), 'rule');
  await send(alice, roomId, text('plain'));
  await send(alice, roomId, text('is bob around?'));
  assert.deepEqual(counts(await sync(carol), roomId), { notification_count: 0, highlight_count: 0 });
  assert.deepEqual(counts(await sync(bob), roomId), { notification_count: 1, highlight_count: 1 });
  // Enabling the rule again counts the next message.
  ok(await bob.put('/pushrules/global/underride/.m.rule.message/enabled', { enabled: true }), 'enable');
  await send(alice, roomId, text('plain again'));
  assert.deepEqual(counts(await sync(bob), roomId), { notification_count: 2, highlight_count: 1 });
});

test('counts and read marks survive a restart', async () => {
  const roomId = await room();
  const root = await send(alice, roomId, text('root'));
  const e1 = await send(alice, roomId, text('x', { 'm.mentions': { user_ids: [bob.userId] } }));
  await send(alice, roomId, text('y'));
  await send(alice, roomId, text('in thread', { 'm.relates_to': { rel_type: 'm.thread', event_id: root } }));
  ok(await bob.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(e1)}`, { thread_id: 'main' }), 'receipt');
  const filter = { room: { timeline: { unread_thread_notifications: true } } };
  const before = (await sync(bob, undefined, filter)).rooms.join[roomId];
  assert.deepEqual(before.unread_notifications, { notification_count: 1, highlight_count: 0 });
  assert.deepEqual(before.unread_thread_notifications, { [root]: { notification_count: 1, highlight_count: 0 } });
  await srv.restart();
  for (const c of [alice, bob, carol]) (c as { baseUrl: string }).baseUrl = srv.baseUrl;
  const afterRestart = (await sync(bob, undefined, filter)).rooms.join[roomId];
  assert.deepEqual(afterRestart.unread_notifications, before.unread_notifications);
  assert.deepEqual(afterRestart.unread_thread_notifications, before.unread_thread_notifications);
  assert.deepEqual(counts(await sync(carol), roomId), { notification_count: 4, highlight_count: 0 });
  // New events after the restart add to the loaded counts.
  await send(alice, roomId, text('z'));
  assert.deepEqual(counts(await sync(bob), roomId), { notification_count: 3, highlight_count: 0 });
});
