// Rooms over the Client-Server API: creation, membership, sending, state, redaction,
// pagination, directory, and the DAG that concurrent sends leave behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, OPEN_REGISTRATION, type TestServer } from '../helpers/server.js';
import { registerUser, type TestClient } from '../helpers/client.js';

let srv: TestServer;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;

before(async () => {
  srv = await startTestServer(OPEN_REGISTRATION);
  const users = await Promise.all(['alice', 'bob', 'carol'].map((n) => registerUser(srv.baseUrl, n)));
  [alice, bob, carol] = users as [TestClient, TestClient, TestClient];
});
after(async () => {
  await srv.stop();
});

const enc = encodeURIComponent;

async function createRoom(c: TestClient, body: Record<string, unknown> = {}): Promise<string> {
  const r = await c.post('/createRoom', body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.room_id;
}

async function state(c: TestClient, roomId: string) {
  const r = await c.get(`/rooms/${enc(roomId)}/state`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as Array<{ type: string; state_key: string; content: Record<string, unknown>; sender: string }>;
}

test('createRoom makes a v12 room with the preset state, name, topic and alias', async () => {
  const r = await alice.post('/createRoom', { name: 'Pub', topic: 'Beer', room_alias_name: 'pub', preset: 'public_chat' });
  assert.equal(r.status, 200);
  assert.match(r.body.room_id, /^![A-Za-z0-9_-]{43}$/, 'v12 room ids are the create event reference hash');
  const s = await state(alice, r.body.room_id);
  const byType = new Map(s.map((e) => [`${e.type}|${e.state_key}`, e]));
  assert.equal(byType.get('m.room.create|')!.content.room_version, '12');
  assert.equal(byType.get('m.room.join_rules|')!.content.join_rule, 'public');
  assert.equal(byType.get('m.room.history_visibility|')!.content.history_visibility, 'shared');
  assert.equal(byType.get('m.room.guest_access|')!.content.guest_access, 'forbidden');
  assert.equal(byType.get('m.room.name|')!.content.name, 'Pub');
  assert.equal(byType.get('m.room.topic|')!.content.topic, 'Beer');
  assert.equal(byType.get('m.room.canonical_alias|')!.content.alias, '#pub:test.local');
  assert.equal(byType.get(`m.room.member|${alice.userId}`)!.content.membership, 'join');
  const pl = byType.get('m.room.power_levels|')!.content as { users: Record<string, number>; events: Record<string, number> };
  assert.equal(pl.users[alice.userId!], undefined, 'v12 creators are not listed in users');
  assert.ok(pl.events['m.room.tombstone']! > 100);
  const dir = await bob.get(`/directory/room/${enc('#pub:test.local')}`);
  assert.deepEqual(dir.body, { room_id: r.body.room_id, servers: ['test.local'] });
});

test('older room versions, power_level_content_override and bad requests', async () => {
  const v10 = await createRoom(alice, { room_version: '10', power_level_content_override: { events_default: 20 } });
  assert.match(v10, /^![A-Za-z0-9_-]+:test\.local$/);
  const s = await state(alice, v10);
  const pl = s.find((e) => e.type === 'm.room.power_levels')!.content as { users: Record<string, number>; events_default: number };
  assert.equal(pl.users[alice.userId!], 100);
  assert.equal(pl.events_default, 20);
  assert.equal(s.find((e) => e.type === 'm.room.create')!.content.creator, alice.userId);

  const bad = await alice.post('/createRoom', { room_version: '999' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errcode, 'M_UNSUPPORTED_ROOM_VERSION');
  assert.equal((await alice.post('/createRoom', { name: 5 })).body.errcode, 'M_BAD_JSON');
  assert.equal((await alice.post('/createRoom', { invite: ['not-a-user'] })).body.errcode, 'M_INVALID_PARAM');
  assert.equal((await alice.request('POST', '/createRoom', undefined, { rawBody: '[1,2]' })).body.errcode, 'M_NOT_JSON');
  await createRoom(alice, { room_alias_name: 'taken' });
  const dup = await bob.post('/createRoom', { room_alias_name: 'taken' });
  assert.equal(dup.status, 400);
  assert.equal(dup.body.errcode, 'M_ROOM_IN_USE');
  assert.equal((await alice.post('/createRoom', {}, { token: null })).body.errcode, 'M_MISSING_TOKEN');
  assert.equal((await alice.post('/createRoom', {}, { token: 'nope' })).body.errcode, 'M_UNKNOWN_TOKEN');
});

test('membership: invite-only rooms, invite, join, kick, ban, unban, leave, forget', async () => {
  const roomId = await createRoom(alice, { preset: 'private_chat' });
  const r = `/rooms/${enc(roomId)}`;
  const uninvited = await bob.post(`${r}/join`);
  assert.equal(uninvited.status, 403);
  assert.equal(uninvited.body.errcode, 'M_FORBIDDEN');
  assert.equal((await alice.post(`${r}/invite`, { user_id: bob.userId })).status, 200);
  assert.deepEqual((await bob.post(`/join/${enc(roomId)}`)).body, { room_id: roomId });
  assert.deepEqual((await bob.get('/joined_rooms')).body.joined_rooms.includes(roomId), true);
  // Bob has no power to kick or ban.
  assert.equal((await bob.post(`${r}/invite`, { user_id: carol.userId })).status, 200, 'private_chat lets members invite');
  assert.equal((await carol.post(`${r}/join`)).status, 200);
  const kickByBob = await bob.post(`${r}/kick`, { user_id: carol.userId });
  assert.equal(kickByBob.status, 403);
  assert.equal((await alice.post(`${r}/kick`, { user_id: carol.userId, reason: 'bye' })).status, 200);
  assert.equal((await alice.post(`${r}/ban`, { user_id: carol.userId })).status, 200);
  assert.equal((await alice.post(`${r}/invite`, { user_id: carol.userId })).status, 403, 'banned users cannot be invited');
  assert.equal((await alice.post(`${r}/unban`, { user_id: carol.userId })).status, 200);
  const members = (await alice.get(`${r}/members`)).body.chunk as Array<{ state_key: string; content: { membership: string } }>;
  assert.equal(members.find((m) => m.state_key === carol.userId)!.content.membership, 'leave');
  const joined = (await alice.get(`${r}/joined_members`)).body.joined;
  assert.deepEqual(Object.keys(joined).sort(), [alice.userId, bob.userId].sort());
  // Leaving, then forgetting.
  assert.equal((await bob.post(`${r}/forget`)).status, 400, 'must leave first');
  assert.equal((await bob.post(`${r}/leave`)).status, 200);
  assert.equal((await bob.post(`${r}/forget`)).status, 200);
  assert.equal((await bob.get('/joined_rooms')).body.joined_rooms.includes(roomId), false);
  assert.equal((await alice.post(`${r}/kick`, { user_id: '@nobody:test.local' })).status, 403);
  assert.equal((await alice.post(`${r}/invite`, {})).body.errcode, 'M_MISSING_PARAM');
  assert.equal((await alice.post('/rooms/!nope:test.local/join')).status, 404);
});

test('sending: transaction ids are idempotent; non-members and the powerless are refused', async () => {
  const roomId = await createRoom(alice, { preset: 'public_chat' });
  const r = `/rooms/${enc(roomId)}`;
  const a = await alice.put(`${r}/send/m.room.message/txn1`, { msgtype: 'm.text', body: 'one' });
  const again = await alice.put(`${r}/send/m.room.message/txn1`, { msgtype: 'm.text', body: 'one' });
  assert.equal(a.status, 200);
  assert.equal(again.body.event_id, a.body.event_id);
  const other = await alice.put(`${r}/send/m.room.message/txn2`, { msgtype: 'm.text', body: 'two' });
  assert.notEqual(other.body.event_id, a.body.event_id);
  const outsider = await bob.put(`${r}/send/m.room.message/t`, { body: 'x' });
  assert.equal(outsider.status, 403);
  await bob.post(`${r}/join`);
  const rename = await bob.put(`${r}/state/m.room.name`, { name: 'hijack' });
  assert.equal(rename.status, 403);
  assert.match(rename.body.error, /power/);
  assert.equal((await alice.put(`${r}/state/m.room.name`, { name: 'Fine' })).status, 200);
  assert.deepEqual((await bob.get(`${r}/state/m.room.name/`)).body, { name: 'Fine' });
  assert.equal((await bob.get(`${r}/state/m.room.avatar`)).status, 404);
  assert.equal((await carol.get(`${r}/state/m.room.name`)).status, 403);
  const ev = await bob.get(`${r}/event/${enc(a.body.event_id)}`);
  assert.equal(ev.body.content.body, 'one');
  assert.equal(ev.body.unsigned.transaction_id, undefined, 'only the sending device sees its txn id');
  assert.equal((await alice.get(`${r}/event/${enc(a.body.event_id)}`)).body.unsigned.transaction_id, 'txn1');
  const big = await alice.put(`${r}/send/m.room.message/big`, { body: 'x'.repeat(70_000) });
  assert.ok(big.status === 413, `oversized event: ${big.status}`);
  assert.equal((await alice.request('PUT', `${r}/send/m.room.message/nj`, undefined, { rawBody: '{nope' })).body.errcode, 'M_NOT_JSON');
});

test('redaction: own events, others only with power; the redacted event loses its content', async () => {
  const roomId = await createRoom(alice, { preset: 'public_chat' });
  const r = `/rooms/${enc(roomId)}`;
  await bob.post(`${r}/join`);
  const mine = (await bob.put(`${r}/send/m.room.message/m1`, { body: 'secret', msgtype: 'm.text' })).body.event_id;
  const hers = (await alice.put(`${r}/send/m.room.message/h1`, { body: 'hers', msgtype: 'm.text' })).body.event_id;
  assert.equal((await bob.put(`${r}/redact/${enc(hers)}/x1`, {})).status, 403);
  const red = await bob.put(`${r}/redact/${enc(mine)}/x2`, { reason: 'oops' });
  assert.equal(red.status, 200);
  const after = (await alice.get(`${r}/event/${enc(mine)}`)).body;
  assert.deepEqual(after.content, {});
  assert.equal(after.unsigned.redacted_because.event_id, red.body.event_id);
  assert.equal(after.unsigned.redacted_because.redacts, mine);
  assert.equal((await alice.put(`${r}/redact/${enc(hers)}/x3`, {})).status, 200, 'alice may redact');
  assert.equal((await alice.put(`${r}/redact/${enc('$missing')}/x4`, {})).status, 404);
});

test('/messages paginates both ways with tokens and filters; /context surrounds an event', async () => {
  const roomId = await createRoom(alice);
  const r = `/rooms/${enc(roomId)}`;
  const ids: string[] = [];
  for (let i = 0; i < 25; i++) ids.push((await alice.put(`${r}/send/m.room.message/p${i}`, { msgtype: 'm.text', body: `m${i}` })).body.event_id);
  const seen: string[] = [];
  let from: string | undefined;
  for (;;) {
    const page = await alice.get(`${r}/messages?dir=b&limit=7${from ? `&from=${from}` : ''}&filter=${enc(JSON.stringify({ types: ['m.room.message'] }))}`);
    assert.equal(page.status, 200);
    seen.push(...page.body.chunk.map((e: { event_id: string }) => e.event_id));
    if (!page.body.end) break;
    from = page.body.end;
  }
  assert.deepEqual(seen, [...ids].reverse());
  // Forwards from the start gets everything in order, room creation first.
  const fwd = await alice.get(`${r}/messages?dir=f&limit=100`);
  assert.equal(fwd.body.chunk[0].type, 'm.room.create');
  assert.deepEqual(fwd.body.chunk.slice(-25).map((e: { event_id: string }) => e.event_id), ids);
  const ctx = await alice.get(`${r}/context/${enc(ids[10]!)}?limit=4`);
  assert.equal(ctx.status, 200);
  assert.equal(ctx.body.event.event_id, ids[10]);
  assert.deepEqual(ctx.body.events_before.map((e: { event_id: string }) => e.event_id), [ids[9], ids[8]]);
  assert.deepEqual(ctx.body.events_after.map((e: { event_id: string }) => e.event_id), [ids[11], ids[12]]);
  assert.ok(ctx.body.state.some((e: { type: string }) => e.type === 'm.room.create'));
  assert.equal((await alice.get(`${r}/messages?dir=x`)).body.errcode, 'M_INVALID_PARAM');
  assert.equal((await alice.get(`${r}/messages?from=garbage`)).body.errcode, 'M_INVALID_PARAM');
  assert.equal((await bob.get(`${r}/messages`)).status, 403);
});

test('100 concurrent sends are serialised: one linear chain, one forward extremity', async () => {
  const roomId = await createRoom(alice, { preset: 'public_chat' });
  const r = `/rooms/${enc(roomId)}`;
  await bob.post(`${r}/join`);
  const sends = Array.from({ length: 100 }, (_, i) => (i % 2 ? alice : bob).put(`${r}/send/m.room.message/c${i}`, { body: `c${i}` }));
  const results = await Promise.all(sends);
  for (const x of results) assert.equal(x.status, 200);
  const sql = (await import('../helpers/database.js')).openPool(srv.config.databaseUrl!);
  try {
    const [{ ext }] = (await sql`SELECT forward_extremities AS ext FROM rooms WHERE room_id = ${roomId}`) as unknown as [{ ext: string[] }];
    assert.equal(ext.length, 1);
    const rows = await sql<{ event_id: string; depth: string; json: string }[]>`
      SELECT event_id, depth::text, json FROM events WHERE room_id = ${roomId} ORDER BY stream_ordering`;
    for (let i = 1; i < rows.length; i++) {
      const pdu = JSON.parse(rows[i]!.json) as { prev_events: string[]; depth: number };
      assert.deepEqual(pdu.prev_events, [rows[i - 1]!.event_id], 'each event follows the previous one');
      assert.equal(pdu.depth, Number(rows[i - 1]!.depth) + 1);
    }
    assert.equal(ext[0], rows[rows.length - 1]!.event_id);
  } finally {
    await sql.end();
  }
});

test('room directory: aliases, visibility and publicRooms', async () => {
  const roomId = await createRoom(alice, { name: 'Listed room', visibility: 'public', preset: 'public_chat' });
  const alias = enc('#listed:test.local');
  assert.equal((await alice.put(`/directory/room/${alias}`, { room_id: roomId })).status, 200);
  assert.equal((await alice.put(`/directory/room/${alias}`, { room_id: roomId })).status, 409);
  assert.equal((await alice.put(`/directory/room/${enc('#x:elsewhere.org')}`, { room_id: roomId })).status, 400);
  assert.deepEqual((await bob.get(`/rooms/${enc(roomId)}/aliases`)).status, 403);
  assert.ok((await alice.get(`/rooms/${enc(roomId)}/aliases`)).body.aliases.includes('#listed:test.local'));
  assert.equal((await bob.delete(`/directory/room/${alias}`)).status, 403);
  const pub = await bob.get('/publicRooms');
  assert.ok(pub.body.chunk.some((c: { room_id: string; name: string }) => c.room_id === roomId && c.name === 'Listed room'));
  const search = await bob.post('/publicRooms', { filter: { generic_search_term: 'LISTED' } });
  assert.deepEqual(search.body.chunk.map((c: { room_id: string }) => c.room_id), [roomId]);
  assert.deepEqual((await bob.get(`/directory/list/room/${enc(roomId)}`)).body, { visibility: 'public' });
  assert.equal((await bob.put(`/directory/list/room/${enc(roomId)}`, { visibility: 'private' })).status, 403);
  assert.equal((await alice.put(`/directory/list/room/${enc(roomId)}`, { visibility: 'private' })).status, 200);
  assert.ok(!(await bob.get('/publicRooms')).body.chunk.some((c: { room_id: string }) => c.room_id === roomId));
  assert.equal((await alice.delete(`/directory/room/${alias}`)).status, 200);
  assert.equal((await bob.get(`/directory/room/${alias}`)).status, 404);
});

test('a profile change reaches the member event of every joined room', async () => {
  const r1 = await createRoom(alice, { preset: 'public_chat' });
  const r2 = await createRoom(bob, { preset: 'public_chat' });
  await alice.post(`/rooms/${enc(r2)}/join`);
  assert.equal((await alice.put(`/profile/${enc(alice.userId!)}/displayname`, { displayname: 'Alice Liddell' })).status, 200);
  for (const roomId of [r1, r2]) {
    let name: unknown;
    for (let i = 0; i < 50 && name !== 'Alice Liddell'; i++) {
      name = (await alice.get(`/rooms/${enc(roomId)}/state/m.room.member/${enc(alice.userId!)}`)).body.displayname;
      if (name !== 'Alice Liddell') await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(name, 'Alice Liddell', `member event in ${roomId}`);
    assert.equal((await alice.get(`/rooms/${enc(roomId)}/joined_members`)).body.joined[alice.userId!].display_name, 'Alice Liddell');
  }
  // A new join carries the current profile.
  const r3 = await createRoom(bob, { preset: 'public_chat' });
  await alice.post(`/rooms/${enc(r3)}/join`);
  assert.equal((await bob.get(`/rooms/${enc(r3)}/state/m.room.member/${enc(alice.userId!)}`)).body.displayname, 'Alice Liddell');
});

test('knocking: allowed where the join rule is knock, refused where it is invite', async () => {
  const knockRoom = await createRoom(alice, { initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock' } }] });
  const k = await carol.post(`/knock/${enc(knockRoom)}`, { reason: 'let me in' });
  assert.equal(k.status, 200, JSON.stringify(k.body));
  assert.deepEqual(k.body, { room_id: knockRoom });
  const members = (await alice.get(`/rooms/${enc(knockRoom)}/members`)).body.chunk as Array<{ state_key: string; content: { membership: string; reason?: string } }>;
  const carolEv = members.find((m) => m.state_key === carol.userId)!;
  assert.equal(carolEv.content.membership, 'knock');
  assert.equal(carolEv.content.reason, 'let me in');
  // The knock is answered with an invite, then a join.
  assert.equal((await alice.post(`/rooms/${enc(knockRoom)}/invite`, { user_id: carol.userId })).status, 200);
  assert.equal((await carol.post(`/rooms/${enc(knockRoom)}/join`)).status, 200);
  const inviteOnly = await createRoom(alice, { preset: 'private_chat' });
  assert.equal((await carol.post(`/knock/${enc(inviteOnly)}`)).status, 403);
});
