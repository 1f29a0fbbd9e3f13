// The redaction algorithm of each room version, against the keys-kept lists of the spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getRoomVersion, SUPPORTED_ROOM_VERSIONS } from '../../src/events/room-versions.js';
import { redact } from '../../src/events/redaction.js';

const versions = SUPPORTED_ROOM_VERSIONS.map((id) => getRoomVersion(id)!);
const n = (id: string) => Number(id);

const TOP_LEVEL_ALL = [
  'event_id', 'type', 'room_id', 'sender', 'state_key', 'content', 'hashes', 'signatures', 'depth',
  'prev_events', 'prev_state', 'auth_events', 'origin', 'origin_server_ts', 'membership',
];

function fullEvent(type: string, content: Record<string, unknown>): Record<string, unknown> {
  return {
    event_id: '$e:a.example', type, room_id: '!r:a.example', sender: '@a:a.example', state_key: '',
    content, hashes: { sha256: 'h' }, signatures: { 'a.example': { 'ed25519:1': 's' } }, depth: 4,
    prev_events: ['$p'], prev_state: [], auth_events: ['$a'], origin: 'a.example', origin_server_ts: 5,
    membership: 'join', unsigned: { age: 1 }, redacts: '$x', extra_key: true,
  };
}

test('top-level keys kept: v1–10 list, v11+ without origin, membership, prev_state', () => {
  for (const v of versions) {
    const out = redact(v, fullEvent('m.room.message', { body: 'x' }));
    const expected = n(v.id) >= 11 ? TOP_LEVEL_ALL.filter((k) => !['origin', 'membership', 'prev_state'].includes(k)) : TOP_LEVEL_ALL;
    assert.deepEqual(Object.keys(out).sort(), [...expected].sort(), `v${v.id}`);
    assert.deepEqual(out.content, {}, `v${v.id} message content`);
    assert.equal('unsigned' in out, false);
    assert.equal('redacts' in out, false, 'top-level redacts is not protected');
  }
});

const tpi = { display_name: 'x', signed: { mxid: '@b:b.example', token: 't', signatures: {} } };
const PL = {
  ban: 50, events: { 'm.room.name': 50 }, events_default: 0, kick: 50, redact: 50, state_default: 50,
  users: { '@a:a.example': 100 }, users_default: 0, invite: 0, notifications: { room: 50 },
};
const PL_V1 = Object.fromEntries(Object.entries(PL).filter(([k]) => k !== 'invite' && k !== 'notifications'));
const PL_V11 = Object.fromEntries(Object.entries(PL).filter(([k]) => k !== 'notifications'));

interface Row {
  type: string;
  content: Record<string, unknown>;
  expected: (v: number) => Record<string, unknown>;
}

const rows: Row[] = [
  {
    type: 'm.room.member',
    content: { membership: 'join', displayname: 'A', join_authorised_via_users_server: '@b:b.example', third_party_invite: tpi },
    expected: (v) =>
      v >= 11
        ? { membership: 'join', join_authorised_via_users_server: '@b:b.example', third_party_invite: { signed: tpi.signed } }
        : v >= 9
          ? { membership: 'join', join_authorised_via_users_server: '@b:b.example' }
          : { membership: 'join' },
  },
  {
    type: 'm.room.create',
    content: { creator: '@a:a.example', room_version: '1', 'm.federate': false, predecessor: { room_id: '!o:a.example' } },
    expected: (v) =>
      v >= 11
        ? { creator: '@a:a.example', room_version: '1', 'm.federate': false, predecessor: { room_id: '!o:a.example' } }
        : { creator: '@a:a.example' },
  },
  {
    type: 'm.room.join_rules',
    content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!s:a.example' }], other: 1 },
    expected: (v) =>
      v >= 8 ? { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!s:a.example' }] } : { join_rule: 'restricted' },
  },
  { type: 'm.room.power_levels', content: PL, expected: (v) => (v >= 11 ? PL_V11 : PL_V1) },
  { type: 'm.room.aliases', content: { aliases: ['#a:a.example'] }, expected: (v) => (v <= 5 ? { aliases: ['#a:a.example'] } : {}) },
  {
    type: 'm.room.history_visibility',
    content: { history_visibility: 'shared', other: 1 },
    expected: () => ({ history_visibility: 'shared' }),
  },
  { type: 'm.room.redaction', content: { redacts: '$x', reason: 'spam' }, expected: (v) => (v >= 11 ? { redacts: '$x' } : {}) },
  { type: 'm.room.topic', content: { topic: 't' }, expected: () => ({}) },
  { type: 'm.room.name', content: { name: 'n' }, expected: () => ({}) },
];

for (const row of rows) {
  test(`redaction of ${row.type} content in each version`, () => {
    for (const v of versions) {
      assert.deepEqual(redact(v, fullEvent(row.type, structuredClone(row.content))).content, row.expected(n(v.id)), `v${v.id}`);
    }
  });
}

test('v11: a third_party_invite without signed is kept as an empty object; a non-object is dropped', () => {
  const v11 = getRoomVersion('11')!;
  assert.deepEqual(redact(v11, fullEvent('m.room.member', { membership: 'invite', third_party_invite: { display_name: 'x' } })).content, {
    membership: 'invite',
    third_party_invite: {},
  });
  assert.deepEqual(redact(v11, fullEvent('m.room.member', { membership: 'invite', third_party_invite: 'x' })).content, {
    membership: 'invite',
  });
});

test('redaction leaves the input untouched and is idempotent', () => {
  for (const v of versions) {
    const ev = fullEvent('m.room.member', { membership: 'join', displayname: 'A' });
    const copy = structuredClone(ev);
    const once = redact(v, ev);
    assert.deepEqual(ev, copy);
    assert.deepEqual(redact(v, once), once);
  }
});
