// PDU format validation: a valid event of each version, and each refusal with its reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getRoomVersion, SUPPORTED_ROOM_VERSIONS, type RoomVersion } from '../../src/events/room-versions.js';
import { parsePdu, PduValidationError, MAX_PDU_BYTES, referencedEventIds } from '../../src/events/pdu.js';
import { isStrictUserId, isValidServerName, isValidUserId } from '../../src/events/identifiers.js';

const versions = SUPPORTED_ROOM_VERSIONS.map((id) => getRoomVersion(id)!);
const HASH_ID = '$' + 'A'.repeat(43);

function ref(v: RoomVersion, n: number): unknown {
  return v.eventIdInEvent ? [`$e${n}:a.example`, { sha256: 'AAAA' }] : HASH_ID.slice(0, -1) + String.fromCharCode(65 + (n % 26));
}

function valid(v: RoomVersion): Record<string, any> {
  return {
    ...(v.eventIdInEvent ? { event_id: '$abc:a.example' } : {}),
    room_id: v.roomIdFormat === 'server' ? '!room:a.example' : '!' + 'B'.repeat(43),
    sender: '@alice:a.example',
    type: 'm.room.message',
    content: { body: 'hello' },
    prev_events: [ref(v, 1)],
    auth_events: [ref(v, 2)],
    depth: 5,
    origin_server_ts: 1_700_000_000_000,
    hashes: { sha256: 'AAAA' },
    signatures: { 'a.example': { 'ed25519:1': 'sig' } },
    unsigned: { age: 4 },
  };
}

function refusal(v: RoomVersion, ev: unknown): string {
  try {
    parsePdu(v, ev);
  } catch (e) {
    assert.ok(e instanceof PduValidationError, String(e));
    return e.reason;
  }
  assert.fail(`v${v.id}: expected a refusal`);
}

test('a well-formed event of each version is accepted', () => {
  for (const v of versions) assert.equal(parsePdu(v, valid(v)).sender, '@alice:a.example');
});

interface Mutation {
  name: string;
  when?: (v: RoomVersion) => boolean;
  mutate: (ev: Record<string, any>, v: RoomVersion) => unknown;
  /** Validate this value instead of the mutated event. */
  replace?: unknown;
  reason: string;
}

const big = 'x'.repeat(MAX_PDU_BYTES);
const mutations: Mutation[] = [
  { name: 'not an object', mutate: () => undefined, replace: [1], reason: 'event: must be a JSON object' },
  { name: 'no type', mutate: (e) => delete e.type, reason: 'type: missing or not a string' },
  { name: 'type over 255 bytes', mutate: (e) => (e.type = 'é'.repeat(128)), reason: 'type: longer than 255 bytes' },
  { name: 'state_key not a string', mutate: (e) => (e.state_key = 5), reason: 'state_key: must be a string' },
  { name: 'state_key over 255 bytes', mutate: (e) => (e.state_key = 'k'.repeat(256)), reason: 'state_key: longer than 255 bytes' },
  { name: 'no room_id', mutate: (e) => delete e.room_id, reason: 'room_id: missing or not a string' },
  { name: 'room_id with the wrong sigil', mutate: (e) => (e.room_id = '#room:a.example'), reason: 'is not a valid room id' },
  {
    name: 'room_id without a server (v1–11)',
    when: (v) => v.roomIdFormat === 'server',
    mutate: (e) => (e.room_id = '!' + 'B'.repeat(43)),
    reason: 'is not a valid room id for room version',
  },
  {
    name: 'room_id with a server (v12)',
    when: (v) => v.roomIdFormat === 'create-event',
    mutate: (e) => (e.room_id = '!room:a.example'),
    reason: 'is not a valid room id for room version 12',
  },
  { name: 'room_id over 255 bytes', mutate: (e) => (e.room_id = '!' + 'r'.repeat(250) + ':a.example'), reason: 'room_id: longer than 255 bytes' },
  { name: 'no sender', mutate: (e) => delete e.sender, reason: 'sender: missing or not a string' },
  { name: 'sender not a user id', mutate: (e) => (e.sender = 'alice'), reason: 'sender: "alice" is not a valid user id' },
  { name: 'sender with a bad server name', mutate: (e) => (e.sender = '@alice:bad_host!'), reason: 'is not a valid user id' },
  { name: 'sender over 255 bytes', mutate: (e) => (e.sender = '@' + 'a'.repeat(250) + ':a.example'), reason: 'sender: longer than 255 bytes' },
  { name: 'content not an object', mutate: (e) => (e.content = []), reason: 'content: missing or not an object' },
  { name: 'no origin_server_ts', mutate: (e) => delete e.origin_server_ts, reason: 'origin_server_ts: must be an integer' },
  { name: 'depth not an integer', mutate: (e) => (e.depth = '5'), reason: 'depth: must be an integer' },
  { name: 'negative depth', mutate: (e) => (e.depth = -1), reason: 'depth: -1 is outside 0..' },
  { name: 'depth beyond 2^53-1', mutate: (e) => (e.depth = 2 ** 53), reason: 'depth: 9007199254740992 is outside' },
  { name: 'no hashes', mutate: (e) => delete e.hashes, reason: 'hashes: missing or not an object' },
  { name: 'hashes without sha256', mutate: (e) => (e.hashes = { sha512: 'x' }), reason: 'hashes: sha256 missing or not a string' },
  { name: 'no signatures', mutate: (e) => delete e.signatures, reason: 'signatures: missing or not an object' },
  { name: 'signature not a string', mutate: (e) => (e.signatures['a.example']['ed25519:1'] = 1), reason: 'signatures: a.example ed25519:1 must be a string' },
  { name: 'unsigned not an object', mutate: (e) => (e.unsigned = 'x'), reason: 'unsigned: must be an object' },
  { name: 'no prev_events', mutate: (e) => delete e.prev_events, reason: 'prev_events: must be an array' },
  { name: 'no auth_events', mutate: (e) => delete e.auth_events, reason: 'auth_events: must be an array' },
  {
    name: 'more than 20 prev_events',
    mutate: (e, v) => (e.prev_events = Array.from({ length: 21 }, (_, i) => ref(v, i))),
    reason: 'prev_events: has 21 entries, more than the limit of 20',
  },
  {
    name: 'more than 10 auth_events',
    mutate: (e, v) => (e.auth_events = Array.from({ length: 11 }, (_, i) => ref(v, i))),
    reason: 'auth_events: has 11 entries, more than the limit of 10',
  },
  {
    name: 'v1–2: prev_events entry is a plain id',
    when: (v) => v.eventIdInEvent,
    mutate: (e) => (e.prev_events = ['$e1:a.example']),
    reason: 'prev_events[0]: must be an [event_id, hashes] pair',
  },
  {
    name: 'v1–2: auth_events entry without hashes',
    when: (v) => v.eventIdInEvent,
    mutate: (e) => (e.auth_events = [['$e1:a.example', {}]]),
    reason: 'auth_events[0]: hashes must be an object with a sha256 string',
  },
  { name: 'v1–2: no event_id', when: (v) => v.eventIdInEvent, mutate: (e) => delete e.event_id, reason: 'event_id: missing or not a string' },
  {
    name: 'v1–2: event_id without a server',
    when: (v) => v.eventIdInEvent,
    mutate: (e) => (e.event_id = '$abc'),
    reason: 'event_id: "$abc" is not a valid event id for room version',
  },
  {
    name: 'v3+: prev_events entry is a pair',
    when: (v) => !v.eventIdInEvent,
    mutate: (e) => (e.prev_events = [[HASH_ID, { sha256: 'x' }]]),
    reason: 'prev_events[0]: event id must be a string',
  },
  {
    name: 'v3+: prev_events entry is not a hash id',
    when: (v) => !v.eventIdInEvent,
    mutate: (e) => (e.prev_events = ['$abc:a.example']),
    reason: 'prev_events[0]: "$abc:a.example" is not a valid event id',
  },
  {
    name: 'v4+: standard-alphabet event id',
    when: (v) => v.eventIdFormat === 'v4',
    mutate: (e) => (e.auth_events = ['$' + '+'.repeat(43)]),
    reason: 'auth_events[0]',
  },
  { name: 'redacts not a string (v1–10)', when: (v) => !v.redactsInContent, mutate: (e) => (e.redacts = 5), reason: 'redacts: must be a string' },
  { name: 'whole event over 65536 bytes', mutate: (e) => (e.content = { body: big }), reason: 'event: 65' },
  {
    name: 'integer outside ±(2^53−1) in content (v6+)',
    when: (v) => v.strictCanonicalJson,
    mutate: (e) => (e.content = { n: 2 ** 53 }),
    reason: 'event: not valid canonical JSON',
  },
  { name: 'lone surrogate in content', mutate: (e) => (e.content = { body: '\ud800' }), reason: 'event: not valid canonical JSON' },
];

for (const m of mutations) {
  test(`refused: ${m.name}`, () => {
    let ran = 0;
    for (const v of versions) {
      if (m.when && !m.when(v)) continue;
      const ev = valid(v);
      m.mutate(ev, v);
      const reason = refusal(v, 'replace' in m ? m.replace : ev);
      assert.ok(reason.includes(m.reason), `v${v.id}: "${reason}" lacks "${m.reason}"`);
      ran++;
    }
    assert.ok(ran > 0);
  });
}

test('accepted at the limits: 20 prev_events, 10 auth_events, depth 2^53−1, 255-byte state_key', () => {
  for (const v of versions) {
    const ev = valid(v);
    ev.prev_events = Array.from({ length: 20 }, (_, i) => ref(v, i));
    ev.auth_events = Array.from({ length: 10 }, (_, i) => ref(v, i));
    ev.depth = Number.MAX_SAFE_INTEGER;
    ev.state_key = 'k'.repeat(255);
    parsePdu(v, ev);
  }
});

test('integers beyond ±(2^53−1) pass in lax versions (1–5)', () => {
  for (const v of versions.filter((x) => !x.strictCanonicalJson)) {
    const ev = valid(v);
    ev.content = { n: 2 ** 60 };
    parsePdu(v, ev);
  }
});

test('v12 create event has no room_id; other v12 events need one', () => {
  const v12 = getRoomVersion('12')!;
  const create = valid(v12);
  delete create.room_id;
  create.type = 'm.room.create';
  create.state_key = '';
  parsePdu(v12, create);
  const msg = valid(v12);
  delete msg.room_id;
  assert.match(refusal(v12, msg), /room_id: missing/);
});

test('referenced event ids of either form', () => {
  assert.deepEqual(referencedEventIds([['$a:x', { sha256: 'h' }]]), ['$a:x']);
  assert.deepEqual(referencedEventIds(['$b']), ['$b']);
});

test('identifier grammar: server names and user ids', () => {
  for (const ok of ['matrix.org', 'matrix.org:8888', '1.2.3.4', '1.2.3.4:1234', '[1234:5678::abcd]', '[1234:5678::abcd]:5678', 'localhost']) {
    assert.ok(isValidServerName(ok), ok);
  }
  for (const bad of ['', 'a_b.org', 'matrix.org:', 'matrix.org:123456', '[1234', '[xyz::1]', '1.2.3.400', 'a b']) {
    assert.ok(!isValidServerName(bad), bad);
  }
  assert.ok(isValidUserId('@alice:example.org'));
  assert.ok(isValidUserId('@Historical User!:example.org'), 'historical localparts are accepted in events');
  assert.ok(isValidUserId('@:example.org'), 'even an empty one');
  assert.ok(!isValidUserId('@a\u0000b:example.org'));
  assert.ok(!isValidUserId('alice:example.org'));
  assert.ok(!isValidUserId('@alice'));
  assert.ok(isStrictUserId('@alice.b_c=d-e/f+g:example.org'));
  assert.ok(!isStrictUserId('@Alice:example.org'));
});
