// matrix-js-sdk 37.5.0 as a real client against a running Lattice: registration and login, the
// SDK's sync loop seeing invites, joins, messages, typing, receipts and a topic change in order,
// a refused state change, and an initial sync after the server restarts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MatrixError, Preset, type MatrixClient } from 'matrix-js-sdk';
import { startTestServer, OPEN_REGISTRATION, type TestServer } from '../helpers/server.js';
import { anonymousClient, endpoints, refused, sdkClient, startSyncing, type SdkLogin, type Seen, type SyncLog } from '../helpers/sdk.js';

const PASSWORD = 'correct horse battery staple';

let srv: TestServer;
const running: MatrixClient[] = [];
let alice: MatrixClient;
let bob: MatrixClient;
let aliceLog: SyncLog;
let bobLog: SyncLog;
let aliceLogin: SdkLogin;
let bobLogin: SdkLogin;
let roomId: string;

before(async () => {
  srv = await startTestServer(OPEN_REGISTRATION);
});
after(async () => {
  for (const c of running) c.stopClient();
  await srv?.stop();
});

async function start(login: SdkLogin, opts: Parameters<MatrixClient['startClient']>[0] = {}): Promise<[MatrixClient, SyncLog]> {
  const c = sdkClient(srv.baseUrl, login);
  running.push(c);
  return [c, await startSyncing(c, opts)];
}

function stop(c: MatrixClient): void {
  c.stopClient();
  running.splice(running.indexOf(c), 1);
}

/** The SDK call must reject with this Matrix error code. */
async function rejectsWith(p: Promise<unknown>, errcode: string, status: number): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof MatrixError, `expected a MatrixError, got ${String(e)}`);
    assert.equal(e.errcode, errcode);
    assert.equal(e.httpStatus, status);
    return true;
  });
}

/** Registers through the dummy flow, then logs in with m.login.password on a new device. */
async function registerAndLogin(username: string): Promise<SdkLogin> {
  const anon = anonymousClient(srv.baseUrl);
  let session: string | undefined;
  await assert.rejects(anon.registerRequest({ username, password: PASSWORD }), (e: unknown) => {
    assert.ok(e instanceof MatrixError && e.httpStatus === 401, String(e));
    const flows = e.data.flows as Array<{ stages: string[] }>;
    assert.ok(flows.some((f) => f.stages.includes('m.login.dummy')), 'offers the dummy flow');
    session = e.data.session as string;
    return true;
  });
  const reg = await anon.registerRequest({ username, password: PASSWORD, auth: { type: 'm.login.dummy', session } });
  assert.equal(reg.user_id, `@${username}:test.local`);
  assert.ok(reg.access_token && reg.device_id);

  await rejectsWith(anon.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password: 'wrong' }), 'M_FORBIDDEN', 403);
  const res = await anon.loginRequest({
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: username },
    password: PASSWORD,
    initial_device_display_name: 'sdk e2e',
  });
  assert.equal(res.user_id, reg.user_id);
  assert.notEqual(res.device_id, reg.device_id, 'a login makes a new device');
  return { userId: res.user_id, accessToken: res.access_token, deviceId: res.device_id };
}

const isTimeline = (room: string, pred: (s: Extract<Seen, { kind: 'timeline' }>) => boolean) => (s: Seen) =>
  s.kind === 'timeline' && s.roomId === room && pred(s);

test('two users register and log in through the SDK, and start syncing', { timeout: 30_000 }, async () => {
  aliceLogin = await registerAndLogin('alice');
  bobLogin = await registerAndLogin('bob');
  [alice, aliceLog] = await start(aliceLogin, { lazyLoadMembers: true });
  [bob, bobLog] = await start(bobLogin);
  assert.equal(alice.isInitialSyncComplete(), true);
  assert.deepEqual(alice.getRooms(), []);
  const who = await bob.whoami();
  assert.equal(who.user_id, bobLogin.userId);
  assert.equal(who.device_id, bobLogin.deviceId);
});

test('an invite arrives through sync and the invitee joins', { timeout: 30_000 }, async () => {
  roomId = (await alice.createRoom({ name: 'E2E room', preset: Preset.PrivateChat })).room_id;
  await alice.invite(roomId, bob.getUserId()!);
  await bobLog.syncDone(await bobLog.until('the invite', (s) => s.kind === 'membership' && s.roomId === roomId && s.membership === 'invite'));
  const invited = bob.getRoom(roomId)!;
  assert.equal(invited.getMyMembership(), 'invite');
  assert.equal(invited.name, 'E2E room', 'stripped state carries the name');

  await bob.joinRoom(roomId);
  await bobLog.syncDone(await bobLog.until('his own join', (s) => s.kind === 'membership' && s.roomId === roomId && s.membership === 'join'));
  await aliceLog.until('bob join', isTimeline(roomId, (s) => s.type === 'm.room.member' && s.stateKey === bob.getUserId() && s.event.getContent().membership === 'join'));
  const room = alice.getRoom(roomId)!;
  assert.deepEqual(room.getJoinedMembers().map((m) => m.userId).sort(), [alice.getUserId(), bob.getUserId()].sort());
  assert.equal(bob.getRoom(roomId)!.getMyMembership(), 'join');
  assert.equal(bob.getRoom(roomId)!.name, 'E2E room');
});

test('messages, typing, receipts and a topic change arrive through sync in order', { timeout: 30_000 }, async () => {
  const start = bobLog.seen.length;
  for (const body of ['one', 'two', 'three']) await alice.sendTextMessage(roomId, body);
  const three = await bobLog.until('three', isTimeline(roomId, (s) => s.body === 'three'), 10_000, start);
  assert.deepEqual(bobLog.messages(roomId), ['one', 'two', 'three']);

  const hi = await bob.sendTextMessage(roomId, 'hi alice');
  await aliceLog.until('hi alice', isTimeline(roomId, (s) => s.eventId === hi.event_id && s.sender === bob.getUserId()));

  await alice.sendTyping(roomId, true, 20_000);
  const typing = await bobLog.until('alice typing', (s) => s.kind === 'typing' && s.roomId === roomId && s.userId === alice.getUserId() && s.typing);
  assert.deepEqual(bob.getRoom(roomId)!.currentState.getMember(alice.getUserId()!)!.typing, true);
  await alice.sendTyping(roomId, false, 0);
  const stopped = await bobLog.until('alice stops typing', (s) => s.kind === 'typing' && s.userId === alice.getUserId() && !s.typing, 10_000, typing);

  await alice.sendTextMessage(roomId, 'four');
  const four = await bobLog.until('four', isTimeline(roomId, (s) => s.body === 'four'));
  const fourEvent = (bobLog.seen[four] as Extract<Seen, { kind: 'timeline' }>).event;
  await bob.sendReadReceipt(fourEvent);
  await aliceLog.until('bob read receipt', (s) => s.kind === 'receipt' && s.roomId === roomId && s.userId === bob.getUserId() && s.eventId === fourEvent.getId() && s.receiptType === 'm.read');
  assert.equal(alice.getRoom(roomId)!.getEventReadUpTo(bob.getUserId()!), fourEvent.getId());

  // private_chat: state changes need power 50; bob has 0.
  await rejectsWith(bob.setRoomTopic(roomId, 'hijacked'), 'M_FORBIDDEN', 403);
  await alice.setRoomTopic(roomId, 'Fresh topic');
  const topic = await bobLog.until('the topic', isTimeline(roomId, (s) => s.type === 'm.room.topic'));
  assert.equal(bob.getRoom(roomId)!.currentState.getStateEvents('m.room.topic', '')!.getContent().topic, 'Fresh topic');

  // Everything arrived once, in the order it happened.
  assert.ok(three < typing && typing < stopped && stopped < four && four < topic, `order: ${[three, typing, stopped, four, topic]}`);
  assert.deepEqual(bobLog.messages(roomId), ['one', 'two', 'three', 'hi alice', 'four']);
  assert.deepEqual(aliceLog.messages(roomId), ['one', 'two', 'three', 'hi alice', 'four']);
  const topics = bobLog.seen.filter((s) => s.kind === 'timeline' && s.type === 'm.room.topic');
  assert.equal(topics.length, 1, 'the refused topic never reached the room');
});

/** Event ids of the room's whole history as alice's first client saw it live. */
let history: string[] = [];
const MESSAGES = ['one', 'two', 'three', 'hi alice', 'four'];

test('after a server restart, an initial sync with the same token shows the room and its messages', { timeout: 30_000 }, async () => {
  const live = alice.getRoom(roomId)!.getLiveTimeline().getEvents();
  assert.equal(live[0]!.getType(), 'm.room.create', 'alice saw the whole room live');
  history = live.map((e) => e.getId()!);
  stop(alice);
  stop(bob);
  await srv.restart();

  const [again, log] = await start(aliceLogin, { lazyLoadMembers: true });
  const room = again.getRoom(roomId);
  assert.ok(room, 'the room is there');
  assert.equal(room.getMyMembership(), 'join');
  assert.equal(room.name, 'E2E room');
  assert.equal(room.currentState.getStateEvents('m.room.topic', '')?.getContent().topic, 'Fresh topic');
  assert.equal(room.getJoinedMemberCount(), 2, 'from the room summary');
  const bodies = room.getLiveTimeline().getEvents().filter((e) => e.getType() === 'm.room.message').map((e) => e.getContent().body);
  assert.deepEqual(bodies, MESSAGES);
  assert.deepEqual(log.messages(roomId), MESSAGES, 'the initial sync emitted them as timeline events');

  // The restarted server still delivers live events, to a second new client.
  const [bobAgain, bobLogAgain] = await start(bobLogin);
  const sent = await again.sendTextMessage(roomId, 'after restart');
  await bobLogAgain.until('a message sent after the restart', isTimeline(roomId, (s) => s.eventId === sent.event_id));
  assert.deepEqual(bobLogAgain.messages(roomId), [...MESSAGES, 'after restart']);
  history.push(sent.event_id);
  stop(again);
  stop(bobAgain);
});

test(
  'after a restart, a short initial sync then back-pagination give the whole history in order',
  {
    timeout: 30_000,
  },
  async () => {
    const [c, log] = await start(aliceLogin, { lazyLoadMembers: true, initialSyncLimit: 3 });
    try {
      const room = c.getRoom(roomId)!;
      const ids = () => room.getLiveTimeline().getEvents().map((e) => e.getId());
      assert.deepEqual(ids(), history.slice(-3), 'the initial sync has the newest three events');
      assert.equal(room.currentState.getStateEvents('m.room.topic', '')?.getContent().topic, 'Fresh topic');
      assert.deepEqual(log.messages(roomId), ['four', 'after restart']);
      while (room.getLiveTimeline().getEvents()[0]?.getType() !== 'm.room.create') {
        const before = ids().length;
        await c.scrollback(room, 4);
        assert.ok(ids().length > before, 'back-pagination made progress');
      }
      assert.deepEqual(ids(), history, 'the same events in the same order as seen live before the restart');
      // Lazy-loaded members: the SDK fetches the member list when asked.
      await room.loadMembersIfNeeded();
      assert.deepEqual(room.getMembers().map((m) => `${m.userId}:${m.membership}`).sort(), [`${aliceLogin.userId}:join`, `${bobLogin.userId}:join`]);
    } finally {
      stop(c);
    }
  },
);

test('no endpoint the SDK needs refused it (every endpoint it called is listed)', (t) => {
  // Expected refusals: the register flow probe, the wrong password, and bob's topic change.
  const expected = (r: (typeof refused)[number]) =>
    (r.path.endsWith('/register') && r.status === 401) ||
    (r.path.endsWith('/login') && r.errcode === 'M_FORBIDDEN') ||
    (r.path.includes('/state/m.room.topic') && r.errcode === 'M_FORBIDDEN');
  const others = refused.filter((r) => !expected(r));
  for (const [k, n] of endpoints) t.diagnostic(`${k} x${n}`);
  for (const r of others) t.diagnostic(`refused: ${r.method} ${r.path} -> ${r.status} ${r.errcode ?? ''}`);
  const core = /\/(sync|createRoom|invite|join|send|typing|receipt|filter|state)\b/;
  assert.deepEqual(others.filter((r) => core.test(r.path)), [], 'no core endpoint refused the SDK');
});
