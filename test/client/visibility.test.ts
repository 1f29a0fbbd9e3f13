// History visibility (client-server spec, "Room History Visibility"): for each setting, what a
// later joiner, an invited user, a former member and a non-member read through /messages,
// /event, /context, /members?at and /sync; a setting changed mid-history; and the rule itself,
// for users and for servers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, OPEN_REGISTRATION, type TestServer } from '../helpers/server.js';
import { registerUser, type TestClient } from '../helpers/client.js';
import { historyVisibilityOf, serverAllowedAt, userAllowedAt, type HistoryVisibility } from '../../src/services/rooms/visibility.js';

let srv: TestServer;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;

before(async () => {
  srv = await startTestServer(OPEN_REGISTRATION);
  [alice, bob, carol] = (await Promise.all(['alice', 'bob', 'carol'].map((n) => registerUser(srv.baseUrl, n)))) as [TestClient, TestClient, TestClient];
});
after(async () => {
  await srv.stop();
});

const enc = encodeURIComponent;
type Ev = { type: string; event_id: string; state_key?: string; content: Record<string, unknown> };
const FILTER = enc(JSON.stringify({ room: { timeline: { limit: 100 }, include_leave: true } }));

let txn = 0;
async function say(c: TestClient, roomId: string, body: string): Promise<string> {
  const r = await c.put(`/rooms/${enc(roomId)}/send/m.room.message/v${txn++}`, { msgtype: 'm.text', body });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.event_id;
}

async function setVisibility(roomId: string, hv: HistoryVisibility): Promise<string> {
  const r = await alice.put(`/rooms/${enc(roomId)}/state/m.room.history_visibility`, { history_visibility: hv });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.event_id;
}

async function newRoom(hv: HistoryVisibility): Promise<string> {
  const r = await alice.post('/createRoom', {
    preset: 'public_chat',
    initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: hv } }],
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.room_id;
}

const bodies = (events: Ev[]) => events.filter((e) => e.type === 'm.room.message').map((e) => e.content.body as string);

/** Every message body `c` reads through /messages, oldest first (or the error status). */
async function messages(c: TestClient, roomId: string): Promise<string[] | number> {
  const r = await c.get(`/rooms/${enc(roomId)}/messages?dir=b&limit=100`);
  if (r.status !== 200) return r.status;
  return bodies([...r.body.chunk].reverse());
}

async function eventStatus(c: TestClient, roomId: string, eventId: string): Promise<number> {
  const r = await c.get(`/rooms/${enc(roomId)}/event/${enc(eventId)}`);
  if (r.status === 404) assert.equal(r.body.errcode, 'M_NOT_FOUND');
  else assert.equal(r.body.event_id, eventId);
  return r.status;
}

async function sync(c: TestClient, since?: string) {
  const r = await c.get(`/sync?filter=${FILTER}${since ? `&since=${since}&timeout=0` : ''}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

const EXPECTED: Record<HistoryVisibility, string[]> = {
  world_readable: ['before invite', 'while invited', 'after join'],
  shared: ['before invite', 'while invited', 'after join'],
  invited: ['while invited', 'after join'],
  joined: ['after join'],
};

for (const hv of ['world_readable', 'shared', 'invited', 'joined'] as const) {
  test(`${hv}: invited, later joiner, former member and outsider each read what the setting allows`, async () => {
    const roomId = await newRoom(hv);
    const r = `/rooms/${enc(roomId)}`;
    const ids: Record<string, string> = {};
    ids['before invite'] = await say(alice, roomId, 'before invite');
    assert.equal((await alice.post(`${r}/invite`, { user_id: bob.userId })).status, 200);
    ids['while invited'] = await say(alice, roomId, 'while invited');

    // Invited, not joined: nothing outside world_readable ("a user needs to join a room").
    const invitedReads = hv === 'world_readable' ? ['before invite', 'while invited'] : 403;
    assert.deepEqual(await messages(bob, roomId), invitedReads, 'an invited user reads /messages');
    assert.equal(await eventStatus(bob, roomId, ids['while invited']!), hv === 'world_readable' ? 200 : 404);
    const s0 = await sync(bob);
    assert.ok(s0.rooms.invite[roomId], 'the invite is in sync');
    assert.equal(s0.rooms.join[roomId], undefined);

    // A non-member: world_readable only.
    assert.deepEqual(await messages(carol, roomId), hv === 'world_readable' ? ['before invite', 'while invited'] : 403, 'an outsider reads /messages');
    assert.equal(await eventStatus(carol, roomId, ids['before invite']!), hv === 'world_readable' ? 200 : 404);

    assert.equal((await bob.post(`${r}/join`)).status, 200);
    ids['after join'] = await say(alice, roomId, 'after join');
    const want = EXPECTED[hv];
    assert.deepEqual(await messages(bob, roomId), want, 'the later joiner reads /messages');
    for (const [body, id] of Object.entries(ids)) assert.equal(await eventStatus(bob, roomId, id), want.includes(body) ? 200 : 404, `/event ${body}`);

    // /context: a hidden event is not found; around a visible one only visible events show.
    const ctxJoin = await bob.get(`${r}/context/${enc(ids['after join']!)}?limit=20`);
    assert.equal(ctxJoin.status, 200);
    assert.deepEqual(bodies([...ctxJoin.body.events_before].reverse()), want.slice(0, -1));
    const hidden = Object.keys(ids).find((b) => !want.includes(b));
    if (hidden) assert.equal((await bob.get(`${r}/context/${enc(ids[hidden]!)}`)).status, 404);

    // Initial sync, and the incremental sync that first shows the room after the join.
    const initial = await sync(bob);
    assert.deepEqual(bodies(initial.rooms.join[roomId].timeline.events), want, 'initial sync');
    const joinedIncrementally = await sync(bob, s0.next_batch);
    assert.deepEqual(bodies(joinedIncrementally.rooms.join[roomId].timeline.events), want, 'incremental sync across the join');
    const joinEv = initial.rooms.join[roomId].timeline.events.findLast((e: Ev) => e.type === 'm.room.member' && e.state_key === bob.userId);
    assert.equal(joinEv?.content.membership, 'join', 'the joiner sees his own join');

    // Incremental sync while joined: new events arrive.
    ids['while joined'] = await say(alice, roomId, 'while joined');
    const inc = await sync(bob, initial.next_batch);
    assert.deepEqual(bodies(inc.rooms.join[roomId].timeline.events), ['while joined']);

    // Leaving: everything seen until the leave, nothing after it (world_readable is open to all).
    assert.equal((await bob.post(`${r}/leave`)).status, 200);
    ids['after leave'] = await say(alice, roomId, 'after leave');
    const left = await sync(bob, initial.next_batch);
    assert.equal(left.rooms.join[roomId], undefined);
    const leftTimeline: Ev[] = left.rooms.leave[roomId].timeline.events;
    assert.deepEqual(bodies(leftTimeline), ['while joined'], 'the leave section holds what came before the leave');
    assert.equal(leftTimeline.at(-1)!.state_key, bob.userId);
    assert.equal(leftTimeline.at(-1)!.content.membership, 'leave');
    const afterLeave = hv === 'world_readable' ? ['after leave'] : [];
    assert.deepEqual(await messages(bob, roomId), [...want, 'while joined', ...afterLeave], 'the former member reads /messages');
    assert.equal(await eventStatus(bob, roomId, ids['after leave']!), hv === 'world_readable' ? 200 : 404);
    assert.equal(await eventStatus(bob, roomId, ids['while joined']!), 200);
  });
}

test('a setting changed mid-history applies to the events sent under it (shared → joined → shared)', async () => {
  const roomId = await newRoom('shared');
  const ids = new Map<string, string>();
  ids.set('a1', await say(alice, roomId, 'a1'));
  ids.set('to joined', await setVisibility(roomId, 'joined'));
  ids.set('a2', await say(alice, roomId, 'a2'));
  ids.set('to shared', await setVisibility(roomId, 'shared'));
  ids.set('a3', await say(alice, roomId, 'a3'));
  ids.set('to invited', await setVisibility(roomId, 'invited'));
  ids.set('a4', await say(alice, roomId, 'a4'));
  assert.equal((await carol.post(`/rooms/${enc(roomId)}/join`)).status, 200);
  ids.set('a5', await say(alice, roomId, 'a5'));
  // a2 was sent under joined, a4 under invited, before carol was invited or joined. Both
  // visibility changes are visible: the setting before or after each one allows it.
  const visible = new Set(['a1', 'to joined', 'to shared', 'a3', 'to invited', 'a5']);
  for (const [name, id] of ids) assert.equal(await eventStatus(carol, roomId, id), visible.has(name) ? 200 : 404, name);
  assert.deepEqual(await messages(carol, roomId), ['a1', 'a3', 'a5']);
  const timeline: Ev[] = (await sync(carol)).rooms.join[roomId].timeline.events;
  assert.deepEqual(bodies(timeline), ['a1', 'a3', 'a5']);
  const changes = timeline.filter((e) => e.type === 'm.room.history_visibility' && e.event_id !== undefined).map((e) => e.event_id);
  assert.ok(changes.includes(ids.get('to joined')!) && changes.includes(ids.get('to shared')!) && changes.includes(ids.get('to invited')!));
  // Alice, joined throughout, sees everything.
  assert.deepEqual(await messages(alice, roomId), ['a1', 'a2', 'a3', 'a4', 'a5']);
});

test('/members?at= answers only for a point the user may see', async () => {
  const roomId = await newRoom('joined');
  const r = `/rooms/${enc(roomId)}`;
  await say(alice, roomId, 'before bob');
  const early = (await alice.get(`${r}/messages?dir=b&limit=1`)).body.start as string;
  assert.equal((await bob.post(`${r}/join`)).status, 200);
  await say(alice, roomId, 'after bob');
  const late = (await bob.get(`${r}/messages?dir=b&limit=1`)).body.start as string;
  const before = await bob.get(`${r}/members?at=${early}`);
  assert.equal(before.status, 403);
  assert.equal(before.body.errcode, 'M_FORBIDDEN');
  const now = await bob.get(`${r}/members?at=${late}`);
  assert.equal(now.status, 200);
  assert.deepEqual(now.body.chunk.map((e: Ev) => e.state_key).sort(), [alice.userId, bob.userId].sort());
  // Alice was joined then: she may.
  assert.equal((await alice.get(`${r}/members?at=${early}`)).status, 200);
});

test('a rejected invite still reaches the invitee as a leave, even under joined', async () => {
  const roomId = await newRoom('joined');
  await say(alice, roomId, 'secret');
  assert.equal((await alice.post(`/rooms/${enc(roomId)}/invite`, { user_id: carol.userId })).status, 200);
  const s = await sync(carol);
  assert.ok(s.rooms.invite[roomId]);
  assert.equal((await carol.post(`/rooms/${enc(roomId)}/leave`)).status, 200);
  const left = await sync(carol, s.next_batch);
  const tl: Ev[] = left.rooms.leave[roomId].timeline.events;
  assert.deepEqual(bodies(tl), []);
  assert.deepEqual(
    tl.map((e) => [e.type, e.state_key, e.content.membership]),
    [['m.room.member', carol.userId, 'leave']],
  );
});

test('the rule: the spec\'s five steps for users', () => {
  assert.equal(historyVisibilityOf({ history_visibility: 'joined' }), 'joined');
  assert.equal(historyVisibilityOf({ history_visibility: 'nonsense' }), 'shared', 'unknown values are shared');
  assert.equal(historyVisibilityOf(undefined), 'shared', 'no event is shared');
  // 1. world_readable: anyone, even someone who never joined.
  assert.equal(userAllowedAt('world_readable', undefined, false, false), true);
  // Otherwise only those who joined at some point.
  assert.equal(userAllowedAt('invited', 'invite', false, false), false);
  // 2. joined at the event.
  for (const hv of ['shared', 'invited', 'joined'] as const) assert.equal(userAllowedAt(hv, 'join', false, true), true);
  // 3. shared, and joined later.
  assert.equal(userAllowedAt('shared', undefined, true, true), true);
  assert.equal(userAllowedAt('shared', 'leave', false, true), false, 'left and never came back');
  assert.equal(userAllowedAt('joined', undefined, true, true), false);
  // 4. invited at the event under invited.
  assert.equal(userAllowedAt('invited', 'invite', false, true), true);
  assert.equal(userAllowedAt('joined', 'invite', false, true), false);
  assert.equal(userAllowedAt('invited', 'leave', true, true), false);
});

test('the rule for servers, on real events: a server sees what its users could', async () => {
  const rooms = srv.server.context.rooms;
  assert.equal(serverAllowedAt('shared', { joined: false, invited: false }), true);
  assert.equal(serverAllowedAt('joined', { joined: false, invited: true }), false);
  assert.equal(serverAllowedAt('invited', { joined: false, invited: true }), true);
  assert.equal(serverAllowedAt('joined', { joined: true, invited: false }), true);

  const roomId = await newRoom('joined');
  const before = (await rooms.events.byId(await say(alice, roomId, 'before')))!;
  await rooms.send(roomId, { type: 'm.room.member', sender: alice.userId!, state_key: '@dave:remote.example', content: { membership: 'invite' } });
  const invitedMsg = (await rooms.events.byId(await say(alice, roomId, 'while dave is invited')))!;
  const toInvited = (await rooms.events.byId(await setVisibility(roomId, 'invited')))!;
  const underInvited = (await rooms.events.byId(await say(alice, roomId, 'under invited')))!;
  const toShared = (await rooms.events.byId(await setVisibility(roomId, 'shared')))!;
  const underShared = (await rooms.events.byId(await say(alice, roomId, 'under shared')))!;
  const v = rooms.visibility;
  for (const e of [before, invitedMsg, underInvited, underShared]) assert.equal(await v.serverMaySee('test.local', e), true, 'alice is joined throughout');
  assert.equal(await v.serverMaySee('remote.example', before), false, 'joined, no user of the server there');
  assert.equal(await v.serverMaySee('remote.example', invitedMsg), false, 'joined: an invite is not enough');
  assert.equal(await v.serverMaySee('remote.example', toInvited), true, 'the setting after the change allows it');
  assert.equal(await v.serverMaySee('remote.example', underInvited), true, 'invited: its user was invited');
  assert.equal(await v.serverMaySee('nobody.example', underInvited), false);
  assert.equal(await v.serverMaySee('nobody.example', toShared), true);
  assert.equal(await v.serverMaySee('nobody.example', underShared), true);
});

test('hidden history gives short pages with an end token, not a scan of the whole room', async () => {
  const rooms = srv.server.context.rooms;
  const roomId = await newRoom('joined');
  await Promise.all(Array.from({ length: 1100 }, (_, i) => rooms.send(roomId, { type: 'm.room.message', sender: alice.userId!, content: { msgtype: 'm.text', body: `h${i}` } })));
  assert.equal((await bob.post(`/rooms/${enc(roomId)}/join`)).status, 200);
  await say(alice, roomId, 'seen');
  const first = await bob.get(`/rooms/${enc(roomId)}/messages?dir=b&limit=10`);
  assert.equal(first.status, 200);
  assert.deepEqual(bodies(first.body.chunk), ['seen']);
  assert.ok(first.body.chunk.length < 10 && first.body.end, 'a short page that says where to go on');
  let from: string | undefined = first.body.end;
  const rest: Ev[] = [];
  for (let pages = 0; from; pages++) {
    assert.ok(pages < 10, 'pagination ends');
    const p = await bob.get(`/rooms/${enc(roomId)}/messages?dir=b&limit=10&from=${from}`);
    assert.equal(p.status, 200);
    rest.push(...p.body.chunk);
    from = p.body.end;
  }
  assert.deepEqual(bodies(rest), [], 'nothing sent under joined before the join');
  // The events before the setting was first set (state before it: none, so shared) remain.
  assert.ok(rest.some((e) => e.type === 'm.room.create'));
});
