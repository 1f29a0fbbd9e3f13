// Event ids per room version and the v12 room id, checked against hashes computed here from
// hand-written canonical JSON (not through the code under test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { getRoomVersion } from '../../src/events/room-versions.js';
import { computeEventId, eventIdOf, roomIdFromCreateEvent, eventReference, EventIdError, generateEventId } from '../../src/events/event-id.js';
import { referenceHash } from '../../src/events/hashing.js';
import { redact } from '../../src/events/redaction.js';
import { isValidEventId, isValidRoomId } from '../../src/events/identifiers.js';
import type { PDU } from '../../src/events/pdu.js';

const v = (id: string) => getRoomVersion(id)!;

function message(): PDU {
  return {
    room_id: '!r:domain',
    sender: '@u:domain',
    type: 'm.room.message',
    content: { body: 'x' },
    prev_events: [],
    auth_events: [],
    depth: 1,
    origin_server_ts: 1,
    hashes: { sha256: 'abc' },
    signatures: { domain: { 'ed25519:1': 'sig' } },
    unsigned: { age: 1 },
  };
}

// The redacted event without signatures and unsigned, as canonical JSON, written by hand.
const REDACTED_CANONICAL =
  '{"auth_events":[],"content":{},"depth":1,"hashes":{"sha256":"abc"},"origin_server_ts":1,' +
  '"prev_events":[],"room_id":"!r:domain","sender":"@u:domain","type":"m.room.message"}';
const digest = createHash('sha256').update(REDACTED_CANONICAL).digest();

test('v3 event id: $ + standard unpadded base64 of the reference hash', () => {
  const id = computeEventId(v('3'), message());
  assert.equal(id, '$' + digest.toString('base64').replace(/=+$/, ''));
  assert.ok(isValidEventId(v('3'), id));
});

test('v4+ event id: $ + URL-safe unpadded base64 of the reference hash', () => {
  for (const ver of ['4', '5', '6', '7', '8', '9', '10', '11', '12']) {
    const id = computeEventId(v(ver), message());
    assert.equal(id, '$' + digest.toString('base64url'), `v${ver}`);
    assert.ok(isValidEventId(v(ver), id));
  }
});

test('v1–2 event id is the event_id field', () => {
  const ev = { ...message(), event_id: '$abc:domain' };
  assert.equal(computeEventId(v('1'), ev), '$abc:domain');
  assert.equal(computeEventId(v('2'), ev), '$abc:domain');
  assert.throws(() => computeEventId(v('1'), message()), EventIdError);
});

test('the event id survives redaction, unsigned and new signatures, but not a changed hash', () => {
  const ver = v('10');
  const ev = message();
  const id = computeEventId(ver, ev);
  assert.equal(computeEventId(ver, redact(ver, ev)), id);
  assert.equal(computeEventId(ver, { ...ev, unsigned: { age: 99 }, signatures: {} }), id);
  assert.notEqual(computeEventId(ver, { ...ev, hashes: { sha256: 'abd' } }), id);
  assert.notEqual(computeEventId(ver, { ...ev, depth: 2 }), id);
});

test('a v3+ event_id held on the object is not part of the hash', () => {
  const ev = message();
  assert.equal(computeEventId(v('11'), { ...ev, event_id: '$whatever' }), computeEventId(v('11'), ev));
  assert.deepEqual(referenceHash(v('11'), { ...ev, event_id: '$whatever' }), digest);
});

test('eventIdOf trusts an explicit event_id and caches computed ones per object', () => {
  const ev = message();
  assert.equal(eventIdOf(v('11'), { ...ev, event_id: '$given' }), '$given');
  const first = eventIdOf(v('11'), ev);
  assert.equal(eventIdOf(v('11'), ev), first);
});

test('v12 room id is the create event id with the ! sigil', () => {
  const create: PDU = {
    sender: '@u:domain',
    type: 'm.room.create',
    state_key: '',
    content: { room_version: '12' },
    prev_events: [],
    auth_events: [],
    depth: 1,
    origin_server_ts: 1,
    hashes: { sha256: 'abc' },
    signatures: {},
  };
  const canonical =
    '{"auth_events":[],"content":{"room_version":"12"},"depth":1,"hashes":{"sha256":"abc"},"origin_server_ts":1,' +
    '"prev_events":[],"sender":"@u:domain","state_key":"","type":"m.room.create"}';
  const roomId = roomIdFromCreateEvent(v('12'), create);
  assert.equal(roomId, '!' + createHash('sha256').update(canonical).digest().toString('base64url'));
  assert.ok(isValidRoomId(v('12'), roomId));
  assert.ok(!isValidRoomId(v('11'), roomId));
  assert.throws(() => roomIdFromCreateEvent(v('11'), create), EventIdError);
});

test('event references: [id, {sha256}] pairs in v1–2, plain ids after', () => {
  const ev = { ...message(), event_id: '$abc:domain' };
  const ref1 = eventReference(v('1'), ev);
  assert.ok(Array.isArray(ref1));
  assert.equal(ref1[0], '$abc:domain');
  const canonical =
    '{"auth_events":[],"content":{},"depth":1,"event_id":"$abc:domain","hashes":{"sha256":"abc"},"origin_server_ts":1,' +
    '"prev_events":[],"room_id":"!r:domain","sender":"@u:domain","type":"m.room.message"}';
  assert.deepEqual(ref1[1], { sha256: createHash('sha256').update(canonical).digest().toString('base64').replace(/=+$/, '') });
  assert.equal(eventReference(v('4'), message()), computeEventId(v('4'), message()));
});

test('generated v1–2 event ids are valid and distinct', () => {
  const a = generateEventId('example.org:8448');
  assert.ok(isValidEventId(v('1'), a));
  assert.notEqual(a, generateEventId('example.org:8448'));
});
