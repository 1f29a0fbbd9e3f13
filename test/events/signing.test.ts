// The spec appendix's event-signing test vectors, content-hash checks and their outcome
// (redact and keep), signature checks, and building outgoing events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signingKeyFromSeed } from '../../src/crypto/signing-key.js';
import { signJson } from '../../src/crypto/sign-json.js';
import { getRoomVersion, SUPPORTED_ROOM_VERSIONS } from '../../src/events/room-versions.js';
import {
  buildEvent,
  checkEventSignatures,
  checkReceivedEvent,
  hashAndSignEvent,
  requiredSigningServers,
  addEventSignature,
} from '../../src/events/signing.js';
import { checkContentHash, contentHash } from '../../src/events/hashing.js';
import { parsePdu, type PDU } from '../../src/events/pdu.js';
import { computeEventId, roomIdFromCreateEvent } from '../../src/events/event-id.js';
import { keyLookup, SERVER_KEYS } from './fixtures.js';

// The appendix's seed has non-zero trailing bits, which the strict decoder refuses; Node's
// lenient decoder gives the intended 32 bytes.
const SEED = Buffer.from('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1', 'base64');
const KEY = signingKeyFromSeed('1', SEED);
const v = (id: string) => getRoomVersion(id)!;
const specKeys = (server: string, keyId: string) => (server === 'domain' && keyId === 'ed25519:1' ? KEY.publicKey : undefined);

const MINIMAL = {
  room_id: '!x:domain',
  sender: '@a:domain',
  origin: 'domain',
  origin_server_ts: 1000000,
  signatures: {},
  hashes: {},
  type: 'X',
  content: {},
  prev_events: [],
  auth_events: [],
  depth: 3,
  unsigned: { age_ts: 1000000 },
};

const MINIMAL_SIGNED = {
  auth_events: [],
  content: {},
  depth: 3,
  hashes: { sha256: '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos' },
  origin: 'domain',
  origin_server_ts: 1000000,
  prev_events: [],
  room_id: '!x:domain',
  sender: '@a:domain',
  signatures: {
    domain: { 'ed25519:1': 'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg' },
  },
  type: 'X',
  unsigned: { age_ts: 1000000 },
};

const MESSAGE = {
  content: { body: 'Here is the message content' },
  event_id: '$0:domain',
  origin: 'domain',
  origin_server_ts: 1000000,
  type: 'm.room.message',
  room_id: '!r:domain',
  sender: '@u:domain',
  signatures: {},
  unsigned: { age_ts: 1000000 },
};

const MESSAGE_SIGNED = {
  content: { body: 'Here is the message content' },
  event_id: '$0:domain',
  hashes: { sha256: 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g' },
  origin: 'domain',
  origin_server_ts: 1000000,
  type: 'm.room.message',
  room_id: '!r:domain',
  sender: '@u:domain',
  signatures: {
    domain: { 'ed25519:1': 'Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA' },
  },
  unsigned: { age_ts: 1000000 },
};

test('appendix JSON signing vectors (the test key is right)', () => {
  assert.deepEqual(signJson({} as Record<string, unknown>, 'domain', KEY).signatures, {
    domain: { 'ed25519:1': 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ' },
  });
});

test('appendix event signing vector: minimally-sized event', () => {
  assert.deepEqual(hashAndSignEvent(v('1'), MINIMAL, 'domain', KEY), MINIMAL_SIGNED);
});

test('appendix event signing vector: event with redactable content', () => {
  assert.deepEqual(hashAndSignEvent(v('1'), MESSAGE, 'domain', KEY), MESSAGE_SIGNED);
});

test('the vector signature holds in every version whose redaction keeps origin (1–10), not after', () => {
  for (const id of SUPPORTED_ROOM_VERSIONS) {
    const signed = hashAndSignEvent(v(id), MINIMAL, 'domain', KEY);
    assert.equal(signed.hashes.sha256, MINIMAL_SIGNED.hashes.sha256, `v${id} hash`);
    const same = signed.signatures.domain!['ed25519:1'] === MINIMAL_SIGNED.signatures.domain['ed25519:1'];
    assert.equal(same, Number(id) <= 10, `v${id} signature`);
  }
});

test('received vector events check out: signatures ok, content hash ok', () => {
  // The minimal event carries no event_id, so it is read as a v3 event (same redaction as v1).
  for (const [ev, ver] of [[MINIMAL_SIGNED, v('3')], [MESSAGE_SIGNED, v('1')]] as const) {
    const r = checkReceivedEvent(ver, ev as unknown as PDU, specKeys);
    assert.deepEqual(r.signatures, { domain: 'ok' });
    assert.equal(r.signaturesValid, true);
    assert.equal(r.contentHash, 'ok');
    assert.equal(r.event, ev);
  }
});

test('content hash mismatch: signatures still ok, the event is kept redacted', () => {
  const tampered = { ...MESSAGE_SIGNED, content: { body: 'Something else' } } as unknown as PDU;
  const r = checkReceivedEvent(v('1'), tampered, specKeys);
  assert.equal(r.signaturesValid, true);
  assert.equal(r.contentHash, 'mismatch');
  assert.deepEqual(r.event.content, {});
  assert.equal('unsigned' in r.event, false);
  assert.equal(r.event.hashes.sha256, MESSAGE_SIGNED.hashes.sha256);
  assert.equal(r.eventId, '$0:domain');
  // The redacted copy is what a server that redacted the event would send: it still verifies.
  assert.equal(checkReceivedEvent(v('1'), r.event, specKeys).signaturesValid, true);
});

test('content hash: malformed or missing hashes do not match', () => {
  assert.equal(checkContentHash(v('1'), MESSAGE_SIGNED), true);
  assert.equal(checkContentHash(v('1'), { ...MESSAGE_SIGNED, hashes: { sha256: '!!' } }), false);
  assert.equal(checkContentHash(v('1'), { ...MESSAGE_SIGNED, hashes: {} }), false);
  assert.equal(checkContentHash(v('1'), { ...MESSAGE_SIGNED, hashes: { sha256: 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/h' } }), false);
});

test('content hash ignores unsigned, signatures and hashes but covers everything else', () => {
  const base = contentHash(v('6'), MESSAGE);
  assert.deepEqual(contentHash(v('6'), { ...MESSAGE, unsigned: { x: 1 }, signatures: { a: {} }, hashes: { sha256: 'z' } }), base);
  assert.notDeepEqual(contentHash(v('6'), { ...MESSAGE, depth: 1 }), base);
});

test('a change to a protected field breaks the signature', () => {
  const r = checkEventSignatures(v('1'), { ...MESSAGE_SIGNED, origin_server_ts: 1000001 }, specKeys);
  assert.deepEqual(r, { domain: 'bad' });
});

test('signature statuses: missing server, unknown key, undecodable signature', () => {
  assert.deepEqual(checkEventSignatures(v('1'), { ...MESSAGE_SIGNED, signatures: {} }, specKeys), { domain: 'missing' });
  assert.deepEqual(checkEventSignatures(v('1'), MESSAGE_SIGNED, () => undefined), { domain: 'missing' });
  assert.deepEqual(
    checkEventSignatures(v('1'), { ...MESSAGE_SIGNED, signatures: { domain: { 'ed25519:1': 'not base64!' } } }, specKeys),
    { domain: 'bad' },
  );
});

test('which servers must sign: sender; v1–2 event_id server; restricted-join authoriser', () => {
  const ev = { ...MESSAGE_SIGNED, event_id: '$0:other.example' };
  assert.deepEqual(requiredSigningServers(v('1'), ev), ['domain', 'other.example']);
  assert.deepEqual(requiredSigningServers(v('3'), ev), ['domain']);
  const join = { type: 'm.room.member', sender: '@g:c.example', content: { membership: 'join', join_authorised_via_users_server: '@b:b.example' } };
  assert.deepEqual(requiredSigningServers(v('8'), join), ['c.example', 'b.example']);
  assert.deepEqual(requiredSigningServers(v('7'), join), ['c.example']);
});

test('v1–2: a missing signature from the event_id server fails the event', () => {
  const ev = hashAndSignEvent(v('1'), { ...MESSAGE, event_id: '$0:b.example', sender: '@u:a.example' }, 'a.example', SERVER_KEYS['a.example']!);
  const r = checkReceivedEvent(v('1'), ev as unknown as PDU, keyLookup);
  assert.deepEqual(r.signatures, { 'a.example': 'ok', 'b.example': 'missing' });
  assert.equal(r.signaturesValid, false);
  const both = addEventSignature(v('1'), ev, 'b.example', SERVER_KEYS['b.example']!);
  assert.equal(checkReceivedEvent(v('1'), both as unknown as PDU, keyLookup).signaturesValid, true);
});

test('built events are valid PDUs with good hashes and signatures in every version', () => {
  for (const id of SUPPORTED_ROOM_VERSIONS) {
    const ver = v(id);
    const create = buildEvent(
      ver,
      {
        ...(ver.roomIdFormat === 'server' ? { room_id: '!r:a.example' } : {}),
        sender: '@alice:a.example',
        type: 'm.room.create',
        state_key: '',
        content: { room_version: id, ...(ver.creatorInContent ? { creator: '@alice:a.example' } : {}) },
        prev_events: [],
        auth_events: [],
        depth: 1,
        origin_server_ts: 1_700_000_000_000,
      },
      'a.example',
      SERVER_KEYS['a.example']!,
    );
    parsePdu(ver, create.event);
    const roomId = ver.roomIdFormat === 'server' ? '!r:a.example' : roomIdFromCreateEvent(ver, create.event);
    const msg = buildEvent(
      ver,
      {
        room_id: roomId,
        sender: '@alice:a.example',
        type: 'm.room.message',
        content: { body: 'hello' },
        prev_events: ver.eventIdInEvent ? [[create.eventId, { sha256: 'x' }]] : [create.eventId],
        auth_events: [],
        depth: 2,
        redacts: create.eventId,
      },
      'a.example',
      SERVER_KEYS['a.example']!,
    );
    const parsed = parsePdu(ver, msg.event);
    const r = checkReceivedEvent(ver, parsed, keyLookup);
    assert.equal(r.signaturesValid, true, `v${id}`);
    assert.equal(r.contentHash, 'ok', `v${id}`);
    assert.equal(r.eventId, msg.eventId);
    assert.equal(computeEventId(ver, msg.event), msg.eventId);
    assert.equal('redacts' in msg.event, !ver.redactsInContent, `v${id} top-level redacts`);
    if (ver.eventIdInEvent) assert.match(msg.eventId, /^\$[A-Za-z0-9_-]+:a\.example$/);
  }
});
