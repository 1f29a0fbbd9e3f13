// Account data, tags, capabilities, profiles, presence, typing, receipts, read markers and
// to-device messages over real HTTP, and what each of them puts in /sync.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient, type Json } from '../helpers/client.js';
import { startHarness, user, createRoom, join, send, sync, ok, type Harness } from './extras-harness.js';
import { MAX_PER_SYNC } from '../../src/services/to-device.js';

let h: Harness;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;

before(async () => {
  h = await startHarness();
  alice = await user(h, 'alice');
  bob = await user(h, 'bob');
  carol = await user(h, 'carol');
});
after(async () => {
  await h.stop();
});

const enc = encodeURIComponent;
const globalEvents = (s: Json, type: string) => (s.account_data.events as Json[]).filter((e) => e.type === type);

describe('account data', () => {
  test('global: put, get, and 404 before it exists', async () => {
    const path = `/user/${enc(alice.userId!)}/account_data/org.example.config`;
    assert.equal((await alice.get(path)).body.errcode, 'M_NOT_FOUND');
    ok(await alice.put(path, { theme: 'dark', n: 1 }));
    assert.deepEqual((await alice.get(path)).body, { theme: 'dark', n: 1 });
    ok(await alice.put(path, { theme: 'light' }));
    assert.deepEqual((await alice.get(path)).body, { theme: 'light' });
  });

  test("another user's account data is forbidden, reading or writing", async () => {
    const path = `/user/${enc(alice.userId!)}/account_data/org.example.config`;
    const r1 = await bob.get(path);
    assert.equal(r1.status, 403);
    assert.equal(r1.body.errcode, 'M_FORBIDDEN');
    const r2 = await bob.put(path, { x: 1 });
    assert.equal(r2.status, 403);
    assert.equal((await alice.request('GET', path, undefined, { token: null })).body.errcode, 'M_MISSING_TOKEN');
  });

  test('bodies that are not objects are refused; server-managed types give 405', async () => {
    const base = `/user/${enc(alice.userId!)}/account_data`;
    const arr = await alice.put(`${base}/org.example.list`, [1, 2]);
    assert.equal(arr.status, 400);
    assert.ok(['M_BAD_JSON', 'M_NOT_JSON'].includes(arr.body.errcode));
    const bad = await alice.request('PUT', `${base}/org.example.list`, undefined, { rawBody: '{nope', headers: { 'Content-Type': 'application/json' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_NOT_JSON');
    for (const t of ['m.fully_read', 'm.push_rules']) {
      const r = await alice.put(`${base}/${t}`, { a: 1 });
      assert.equal(r.status, 405, t);
      assert.equal(r.body.errcode, 'M_BAD_JSON');
    }
    // m.push_rules can still be read: it is the user's ruleset.
    const rules = ok(await alice.get(`${base}/m.push_rules`));
    assert.ok(Array.isArray(rules.global.override));
  });

  test('per room: invalid room ids are M_INVALID_PARAM; values are per room', async () => {
    const bad = await alice.put(`/user/${enc(alice.userId!)}/rooms/${enc('@notaroom:x')}/account_data/org.example.r`, { a: 1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_INVALID_PARAM');
    const p1 = `/user/${enc(alice.userId!)}/rooms/${enc('!one:test.local')}/account_data/org.example.r`;
    const p2 = `/user/${enc(alice.userId!)}/rooms/${enc('!two:test.local')}/account_data/org.example.r`;
    ok(await alice.put(p1, { room: 1 }));
    assert.deepEqual((await alice.get(p1)).body, { room: 1 });
    assert.equal((await alice.get(p2)).status, 404);
    assert.equal((await alice.put(p1.replace('org.example.r', 'm.fully_read'), { event_id: '$x' })).status, 405);
  });

  test('sync: initial sync carries global data and push rules; incremental only changes', async () => {
    const first = await sync(alice);
    const cfg = globalEvents(first, 'org.example.config');
    assert.deepEqual(cfg, [{ type: 'org.example.config', content: { theme: 'light' } }]);
    assert.equal(globalEvents(first, 'm.push_rules').length, 1, 'initial sync has m.push_rules');
    const next = await sync(alice, first.next_batch);
    assert.deepEqual(next.account_data.events, []);
    ok(await alice.put(`/user/${enc(alice.userId!)}/account_data/org.example.other`, { v: 2 }));
    const after = await sync(alice, next.next_batch);
    assert.deepEqual(after.account_data.events, [{ type: 'org.example.other', content: { v: 2 } }]);
    // Bob's sync does not see Alice's data.
    const b = await sync(bob);
    assert.equal(globalEvents(b, 'org.example.other').length, 0);
  });

  test('sync: the account_data filter applies', async () => {
    const filter = enc(JSON.stringify({ account_data: { not_types: ['org.example.*'] } }));
    const s = await sync(alice, undefined, `&filter=${filter}`);
    assert.equal(globalEvents(s, 'org.example.config').length, 0);
    assert.equal(globalEvents(s, 'm.push_rules').length, 1);
  });

  test('a long-polling sync wakes for an account data change', async () => {
    const s = await sync(alice);
    const started = Date.now();
    const waiting = alice.get(`/sync?since=${enc(s.next_batch)}&timeout=10000`);
    await new Promise((r) => setTimeout(r, 150));
    ok(await alice.put(`/user/${enc(alice.userId!)}/account_data/org.example.wake`, { w: 1 }));
    const r = ok(await waiting);
    assert.ok(Date.now() - started < 5000, 'woke before the timeout');
    assert.deepEqual(r.account_data.events, [{ type: 'org.example.wake', content: { w: 1 } }]);
  });
});

describe('rooms: tags, account data, receipts, read markers, typing', () => {
  let roomId: string;
  let ev1: string;
  let ev2: string;

  before(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
    ev1 = await send(alice, roomId);
    ev2 = await send(alice, roomId);
  });

  test('tags: add, list, order validation, remove; m.tag reaches the room in sync', async () => {
    const base = `/user/${enc(alice.userId!)}/rooms/${enc(roomId)}/tags`;
    assert.deepEqual(ok(await alice.get(base)), { tags: {} });
    const s0 = await sync(alice);
    ok(await alice.put(`${base}/m.favourite`, { order: 0.25 }));
    ok(await alice.put(`${base}/u.work`, {}));
    assert.deepEqual(ok(await alice.get(base)), { tags: { 'm.favourite': { order: 0.25 }, 'u.work': {} } });
    const bad = await alice.put(`${base}/u.x`, { order: 'high' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_BAD_JSON');
    assert.equal((await alice.put(`${base}/${'x'.repeat(256)}`, {})).body.errcode, 'M_INVALID_PARAM');
    assert.equal((await bob.get(base)).status, 403);
    const s1 = await sync(alice, s0.next_batch);
    const tagEvents = (s1.rooms.join[roomId].account_data.events as Json[]).filter((e) => e.type === 'm.tag');
    assert.deepEqual(tagEvents.at(-1).content, { tags: { 'm.favourite': { order: 0.25 }, 'u.work': {} } });
    ok(await alice.delete(`${base}/u.work`));
    ok(await alice.delete(`${base}/u.never`));
    assert.deepEqual(ok(await alice.get(base)), { tags: { 'm.favourite': { order: 0.25 } } });
    // The room's m.tag account data is the same document.
    assert.deepEqual(ok(await alice.get(`/user/${enc(alice.userId!)}/rooms/${enc(roomId)}/account_data/m.tag`)), { tags: { 'm.favourite': { order: 0.25 } } });
  });

  test('room account data appears under the room in an initial sync', async () => {
    ok(await alice.put(`/user/${enc(alice.userId!)}/rooms/${enc(roomId)}/account_data/org.example.pin`, { pinned: true }));
    const s = await sync(alice);
    const evs = s.rooms.join[roomId].account_data.events as Json[];
    assert.deepEqual(evs.find((e) => e.type === 'org.example.pin')?.content, { pinned: true });
    // Not in the global list.
    assert.equal(globalEvents(s, 'org.example.pin').length, 0);
  });

  test('receipts: m.read reaches every member, m.read.private only its owner', async () => {
    const a0 = await sync(alice);
    const b0 = await sync(bob);
    ok(await bob.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(ev1)}`, {}));
    ok(await bob.post(`/rooms/${enc(roomId)}/receipt/m.read.private/${enc(ev2)}`, {}));
    const a1 = await sync(alice, a0.next_batch);
    const receipts = (a1.rooms.join[roomId].ephemeral.events as Json[]).filter((e) => e.type === 'm.receipt');
    assert.equal(receipts.length, 1);
    const content = receipts[0].content;
    assert.equal(typeof content[ev1]['m.read'][bob.userId!].ts, 'number');
    assert.equal(content[ev2], undefined, "alice never sees bob's private receipt");
    const b1 = await sync(bob, b0.next_batch);
    const mine = (b1.rooms.join[roomId].ephemeral.events as Json[]).find((e) => e.type === 'm.receipt').content;
    assert.ok(mine[ev2]['m.read.private'][bob.userId!]);
    assert.ok(mine[ev1]['m.read'][bob.userId!]);
    // An initial sync lists the current receipts.
    const a2 = await sync(alice);
    const all = (a2.rooms.join[roomId].ephemeral.events as Json[]).find((e) => e.type === 'm.receipt').content;
    assert.ok(all[ev1]['m.read'][bob.userId!]);
  });

  test('receipts: threaded ids, moving backwards is ignored, errors', async () => {
    ok(await alice.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(ev2)}`, { thread_id: 'main' }));
    const s = await sync(bob);
    const content = (s.rooms.join[roomId].ephemeral.events as Json[]).find((e) => e.type === 'm.receipt').content;
    assert.equal(content[ev2]['m.read'][alice.userId!].thread_id, 'main');
    // Unthreaded receipt at ev2, then one at ev1 (earlier): the second changes nothing.
    ok(await alice.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(ev2)}`, {}));
    const before = await sync(bob);
    ok(await alice.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(ev1)}`, {}));
    const after = await sync(bob, before.next_batch);
    assert.equal(after.rooms.join[roomId]?.ephemeral.events.length ?? 0, 0);

    const cases: Array<[string, unknown, number, string]> = [
      [`/rooms/${enc(roomId)}/receipt/m.read/${enc(ev1)}`, { thread_id: '' }, 400, 'M_INVALID_PARAM'],
      [`/rooms/${enc(roomId)}/receipt/m.read/${enc(ev1)}`, { thread_id: 7 }, 400, 'M_INVALID_PARAM'],
      [`/rooms/${enc(roomId)}/receipt/m.fully_read/${enc(ev1)}`, { thread_id: 'main' }, 400, 'M_INVALID_PARAM'],
      [`/rooms/${enc(roomId)}/receipt/m.unknown/${enc(ev1)}`, {}, 400, 'M_INVALID_PARAM'],
      [`/rooms/${enc(roomId)}/receipt/m.read/${enc('$nope')}`, {}, 404, 'M_NOT_FOUND'],
    ];
    for (const [path, body, status, errcode] of cases) {
      const r = await alice.post(path, body);
      assert.equal(r.status, status, path);
      assert.equal(r.body.errcode, errcode, path);
    }
    const outsider = await carol.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(ev1)}`, {});
    assert.equal(outsider.status, 403);
    assert.equal(outsider.body.errcode, 'M_FORBIDDEN');
  });

  test('a threaded receipt for an event in another thread is refused', async () => {
    const root = await send(alice, roomId, { msgtype: 'm.text', body: 'root' });
    const reply = await send(alice, roomId, { msgtype: 'm.text', body: 'reply', 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
    ok(await bob.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(reply)}`, { thread_id: root }));
    assert.equal((await bob.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(reply)}`, { thread_id: 'main' })).body.errcode, 'M_INVALID_PARAM');
    assert.equal((await bob.post(`/rooms/${enc(roomId)}/receipt/m.read/${enc(reply)}`, { thread_id: ev1 })).body.errcode, 'M_INVALID_PARAM');
  });

  test('read markers: m.fully_read becomes room account data, m.read a receipt', async () => {
    const s0 = await sync(bob);
    ok(await bob.post(`/rooms/${enc(roomId)}/read_markers`, { 'm.fully_read': ev2, 'm.read': ev2 }));
    const fr = ok(await bob.get(`/user/${enc(bob.userId!)}/rooms/${enc(roomId)}/account_data/m.fully_read`));
    assert.deepEqual(fr, { event_id: ev2 });
    const s1 = await sync(bob, s0.next_batch);
    const room = s1.rooms.join[roomId];
    assert.deepEqual(room.account_data.events.find((e: Json) => e.type === 'm.fully_read').content, { event_id: ev2 });
    const rc = room.ephemeral.events.find((e: Json) => e.type === 'm.receipt').content;
    assert.ok(rc[ev2]['m.read'][bob.userId!]);
    // The marker does not move backwards; the receipt endpoint can set it too.
    ok(await bob.post(`/rooms/${enc(roomId)}/receipt/m.fully_read/${enc(ev1)}`, {}));
    assert.deepEqual(ok(await bob.get(`/user/${enc(bob.userId!)}/rooms/${enc(roomId)}/account_data/m.fully_read`)), { event_id: ev2 });
    assert.equal((await bob.post(`/rooms/${enc(roomId)}/read_markers`, { 'm.fully_read': 5 })).body.errcode, 'M_INVALID_PARAM');
    assert.equal((await carol.post(`/rooms/${enc(roomId)}/read_markers`, { 'm.fully_read': ev1 })).status, 403);
  });

  test('typing: start, shows in sync for members, stop, timeout; errors', async () => {
    const b0 = await sync(bob);
    ok(await alice.put(`/rooms/${enc(roomId)}/typing/${enc(alice.userId!)}`, { typing: true, timeout: 30000 }));
    const b1 = await sync(bob, b0.next_batch);
    const t1 = (b1.rooms.join[roomId].ephemeral.events as Json[]).find((e) => e.type === 'm.typing');
    assert.deepEqual(t1.content.user_ids, [alice.userId]);
    // Nothing new: no typing event again.
    const b2 = await sync(bob, b1.next_batch);
    assert.equal((b2.rooms.join[roomId]?.ephemeral.events ?? []).filter((e: Json) => e.type === 'm.typing').length, 0);
    ok(await alice.put(`/rooms/${enc(roomId)}/typing/${enc(alice.userId!)}`, { typing: false }));
    const b3 = await sync(bob, b2.next_batch);
    assert.deepEqual((b3.rooms.join[roomId].ephemeral.events as Json[]).find((e) => e.type === 'm.typing').content.user_ids, []);
    // Expiry.
    ok(await bob.put(`/rooms/${enc(roomId)}/typing/${enc(bob.userId!)}`, { typing: true, timeout: 200 }));
    assert.deepEqual(h.ctx.typing.typingIn(roomId), [bob.userId]);
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(h.ctx.typing.typingIn(roomId), []);

    assert.equal((await alice.put(`/rooms/${enc(roomId)}/typing/${enc(bob.userId!)}`, { typing: true })).status, 403);
    assert.equal((await carol.put(`/rooms/${enc(roomId)}/typing/${enc(carol.userId!)}`, { typing: true })).status, 403);
    assert.equal((await alice.put(`/rooms/${enc(roomId)}/typing/${enc(alice.userId!)}`, { typing: 'yes' })).body.errcode, 'M_BAD_JSON');
    assert.equal((await alice.put(`/rooms/${enc(roomId)}/typing/${enc(alice.userId!)}`, { typing: true, timeout: -5 })).body.errcode, 'M_INVALID_PARAM');
  });
});

describe('profiles and capabilities', () => {
  test('a new account has its localpart as display name', async () => {
    const p = ok(await alice.get(`/profile/${enc(alice.userId!)}`, { token: null }));
    assert.equal(p.displayname, 'alice');
  });

  test('set, get and delete fields; custom keys; validation', async () => {
    const base = `/profile/${enc(alice.userId!)}`;
    ok(await alice.put(`${base}/displayname`, { displayname: 'Alice A.' }));
    ok(await alice.put(`${base}/avatar_url`, { avatar_url: 'mxc://test.local/abc123' }));
    ok(await alice.put(`${base}/m.tz`, { 'm.tz': 'Europe/Paris' }));
    ok(await alice.put(`${base}/org.example.job`, { 'org.example.job': { title: 'tester' } }));
    assert.deepEqual(ok(await bob.get(base)), {
      displayname: 'Alice A.',
      avatar_url: 'mxc://test.local/abc123',
      'm.tz': 'Europe/Paris',
      'org.example.job': { title: 'tester' },
    });
    assert.deepEqual(ok(await bob.get(`${base}/displayname`)), { displayname: 'Alice A.' });
    ok(await alice.delete(`${base}/org.example.job`));
    assert.equal((await bob.get(`${base}/org.example.job`)).status, 404);

    const cases: Array<[string, unknown, number, string]> = [
      ['displayname', { displayname: 5 }, 400, 'M_BAD_JSON'],
      ['displayname', { other: 'x' }, 400, 'M_MISSING_PARAM'],
      ['avatar_url', { avatar_url: 'http://evil/x.png' }, 400, 'M_INVALID_PARAM'],
      ['Bad-Key', { 'Bad-Key': 1 }, 400, 'M_INVALID_PARAM'],
      ['org.example.big', { 'org.example.big': 'x'.repeat(70_000) }, 400, 'M_PROFILE_TOO_LARGE'],
    ];
    for (const [key, body, status, errcode] of cases) {
      const r = await alice.put(`${base}/${enc(key)}`, body);
      assert.equal(r.status, status, key);
      assert.equal(r.body.errcode, errcode, key);
    }
    const longKey = `org.example.${'k'.repeat(260)}`;
    assert.equal((await alice.put(`${base}/${longKey}`, { [longKey]: 1 })).body.errcode, 'M_KEY_TOO_LARGE');
    assert.equal((await bob.put(`${base}/displayname`, { displayname: 'evil' })).status, 403);
    assert.equal((await bob.get(`/profile/${enc('@nobody:test.local')}`)).status, 404);
    assert.equal((await bob.get(`/profile/${enc('@someone:elsewhere.example')}`)).status, 404);
  });

  test('displayname changes reach listeners (member events) and null clears', async () => {
    const seen: Array<[string, unknown]> = [];
    h.ctx.profiles.onChange((u, p) => void seen.push([u, p]));
    ok(await carol.put(`/profile/${enc(carol.userId!)}/displayname`, { displayname: 'Carol' }));
    ok(await carol.put(`/profile/${enc(carol.userId!)}/m.tz`, { 'm.tz': 'UTC' }));
    ok(await carol.put(`/profile/${enc(carol.userId!)}/displayname`, { displayname: null }));
    assert.deepEqual(seen, [
      [carol.userId, { displayname: 'Carol' }],
      [carol.userId, {}],
    ]);
    assert.equal((await carol.get(`/profile/${enc(carol.userId!)}/displayname`)).status, 404);
  });

  test('capabilities', async () => {
    const c = ok(await alice.get('/capabilities')).capabilities;
    assert.deepEqual(c['m.change_password'], { enabled: true });
    assert.equal(c['m.room_versions'].default, '12');
    for (let v = 1; v <= 12; v++) assert.equal(c['m.room_versions'].available[String(v)], 'stable');
    assert.deepEqual(c['m.set_displayname'], { enabled: true });
    assert.deepEqual(c['m.set_avatar_url'], { enabled: true });
    assert.deepEqual(c['m.3pid_changes'], { enabled: false });
    assert.equal((await alice.get('/capabilities', { token: null })).status, 401);
  });
});

describe('presence', () => {
  test('set and get; only users sharing a room may look', async () => {
    ok(await carol.put(`/presence/${enc(carol.userId!)}/status`, { presence: 'unavailable', status_msg: 'lunch' }));
    const mine = ok(await carol.get(`/presence/${enc(carol.userId!)}/status`));
    assert.equal(mine.presence, 'unavailable');
    assert.equal(mine.status_msg, 'lunch');
    assert.equal(typeof mine.last_active_ago, 'number');
    assert.equal((await alice.get(`/presence/${enc(carol.userId!)}/status`)).status, 403);
    assert.equal((await carol.put(`/presence/${enc(alice.userId!)}/status`, { presence: 'online' })).status, 403);
    assert.equal((await carol.put(`/presence/${enc(carol.userId!)}/status`, { presence: 'busy' })).body.errcode, 'M_INVALID_PARAM');
    assert.equal((await carol.put(`/presence/${enc(carol.userId!)}/status`, {})).body.errcode, 'M_INVALID_PARAM');
  });

  test('presence changes reach room peers through sync; set_presence applies', async () => {
    const room = await createRoom(carol, { preset: 'public_chat' });
    await join(alice, room);
    const a0 = await sync(alice);
    ok(await carol.put(`/presence/${enc(carol.userId!)}/status`, { presence: 'online', status_msg: 'back' }));
    const a1 = await sync(alice, a0.next_batch);
    const ev = (a1.presence.events as Json[]).find((e) => e.sender === carol.userId);
    assert.equal(ev?.type, 'm.presence');
    assert.equal(ev.content.presence, 'online');
    assert.equal(ev.content.status_msg, 'back');
    assert.equal(ev.content.currently_active, true);
    assert.deepEqual(ok(await alice.get(`/presence/${enc(carol.userId!)}/status`)).presence, 'online');
    // Syncing with set_presence=unavailable changes the syncing user's presence.
    await sync(carol, undefined, '&set_presence=unavailable');
    assert.equal(ok(await alice.get(`/presence/${enc(carol.userId!)}/status`)).presence, 'unavailable');
    // Bob shares no room with carol: he sees none of it.
    const b = await sync(bob);
    assert.equal((b.presence.events as Json[]).filter((e) => e.sender === carol.userId).length, 0);
  });

  test('idle users become unavailable and silent ones offline', async () => {
    const svc = h.ctx.presence;
    const dave = await user(h, 'dave');
    ok(await dave.put(`/presence/${enc(dave.userId!)}/status`, { presence: 'online' }));
    // Pretend time has passed: rewrite the in-memory activity times.
    const live = (svc as unknown as { live: Map<string, { lastActiveTs: number; lastSyncTs: number }> }).live.get(dave.userId!)!;
    live.lastActiveTs -= 6 * 60_000;
    live.lastSyncTs = live.lastActiveTs;
    await svc.sweep();
    assert.equal(ok(await dave.get(`/presence/${enc(dave.userId!)}/status`)).presence, 'unavailable');
    const l2 = (svc as unknown as { live: Map<string, { lastActiveTs: number; lastSyncTs: number }> }).live.get(dave.userId!)!;
    l2.lastActiveTs -= 20 * 60_000;
    l2.lastSyncTs = l2.lastActiveTs;
    await svc.sweep();
    assert.equal(ok(await dave.get(`/presence/${enc(dave.userId!)}/status`)).presence, 'offline');
  });
});

describe('to-device', () => {
  test('delivered once to the target device; acknowledged by the next sync', async () => {
    const b0 = await sync(bob);
    ok(await alice.put(`/sendToDevice/m.test/txn1`, { messages: { [bob.userId!]: { [bob.deviceId!]: { hello: 'bob' } } } }));
    // Retrying the transaction sends nothing more.
    ok(await alice.put(`/sendToDevice/m.test/txn1`, { messages: { [bob.userId!]: { [bob.deviceId!]: { hello: 'bob' } } } }));
    const b1 = await sync(bob, b0.next_batch);
    assert.deepEqual(b1.to_device.events, [{ sender: alice.userId, type: 'm.test', content: { hello: 'bob' } }]);
    // The same token again: still there (the response may have been lost).
    const again = await sync(bob, b0.next_batch);
    assert.equal(again.to_device.events.length, 1);
    const b2 = await sync(bob, b1.next_batch);
    assert.deepEqual(b2.to_device.events, []);
  });

  test('"*" reaches every device of the user; unknown devices get nothing', async () => {
    const second = await (await import('../helpers/client.js')).login(h.baseUrl, 'bob', 'correct horse battery staple');
    const s1 = await sync(bob);
    const s2 = await sync(second);
    ok(await alice.put(`/sendToDevice/m.all/txn2`, { messages: { [bob.userId!]: { '*': { n: 1 } }, [carol.userId!]: { NOSUCHDEVICE: { n: 2 } } } }));
    assert.deepEqual((await sync(bob, s1.next_batch)).to_device.events.map((e: Json) => e.content), [{ n: 1 }]);
    assert.deepEqual((await sync(second, s2.next_batch)).to_device.events.map((e: Json) => e.content), [{ n: 1 }]);
  });

  test('more than a response holds arrive in order over several syncs', async () => {
    const s0 = await sync(carol);
    const total = MAX_PER_SYNC + 30;
    for (let i = 0; i < total; i++) {
      ok(await alice.put(`/sendToDevice/m.seq/seq${i}`, { messages: { [carol.userId!]: { [carol.deviceId!]: { i } } } }));
    }
    const r1 = await sync(carol, s0.next_batch);
    assert.equal(r1.to_device.events.length, MAX_PER_SYNC);
    const r2 = await sync(carol, r1.next_batch);
    const got = [...r1.to_device.events, ...r2.to_device.events].map((e: Json) => e.content.i);
    assert.deepEqual(got, Array.from({ length: total }, (_, i) => i));
    assert.deepEqual((await sync(carol, r2.next_batch)).to_device.events, []);
  });

  test('bad bodies are refused', async () => {
    assert.equal((await alice.put(`/sendToDevice/m.x/b1`, { messages: 'no' })).body.errcode, 'M_BAD_JSON');
    assert.equal((await alice.put(`/sendToDevice/m.x/b2`, {})).body.errcode, 'M_BAD_JSON');
    assert.equal((await alice.put(`/sendToDevice/m.x/b3`, { messages: { notauser: {} } })).body.errcode, 'M_INVALID_PARAM');
    assert.equal((await alice.put(`/sendToDevice/m.x/b4`, { messages: { [bob.userId!]: { D: 'text' } } })).body.errcode, 'M_BAD_JSON');
  });
});
