// Auth events selection, the auth-event rules of checks on receipt, and handling redactions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getRoomVersion, SUPPORTED_ROOM_VERSIONS } from '../../src/events/room-versions.js';
import {
  authEventTypes,
  checkAuthEvents,
  checkAuthWithAuthEvents,
  redactionAllowed,
} from '../../src/events/auth/index.js';
import { standardRoom, U } from './fixtures.js';

const versions = SUPPORTED_ROOM_VERSIONS.map((id) => getRoomVersion(id)!);
const v = (id: string) => getRoomVersion(id)!;

test('selection: create event has no auth events', () => {
  for (const ver of versions) assert.deepEqual(authEventTypes(ver, { type: 'm.room.create', sender: U.alice, state_key: '', content: {} }), []);
});

test('selection: a message needs create (v1–11), power levels and the sender’s membership', () => {
  const ev = { type: 'm.room.message', sender: U.bob, content: {} };
  assert.deepEqual(authEventTypes(v('11'), ev), [
    ['m.room.create', ''],
    ['m.room.power_levels', ''],
    ['m.room.member', U.bob],
  ]);
  assert.deepEqual(authEventTypes(v('12'), ev), [
    ['m.room.power_levels', ''],
    ['m.room.member', U.bob],
  ]);
});

test('selection: membership adds target, join rules, third-party invite and authoriser', () => {
  const invite = {
    type: 'm.room.member',
    sender: U.alice,
    state_key: U.gina,
    content: { membership: 'invite', third_party_invite: { signed: { mxid: U.gina, token: 'tok' } } },
  };
  assert.deepEqual(authEventTypes(v('10'), invite), [
    ['m.room.create', ''],
    ['m.room.power_levels', ''],
    ['m.room.member', U.alice],
    ['m.room.member', U.gina],
    ['m.room.join_rules', ''],
    ['m.room.third_party_invite', 'tok'],
  ]);
  const join = { type: 'm.room.member', sender: U.gina, state_key: U.gina, content: { membership: 'join', join_authorised_via_users_server: U.bob } };
  assert.deepEqual(authEventTypes(v('8'), join), [
    ['m.room.create', ''],
    ['m.room.power_levels', ''],
    ['m.room.member', U.gina],
    ['m.room.join_rules', ''],
    ['m.room.member', U.bob],
  ]);
  assert.deepEqual(authEventTypes(v('7'), join).length, 4, 'no authoriser before restricted rooms');
  const leave = { type: 'm.room.member', sender: U.alice, state_key: U.frank, content: { membership: 'leave' } };
  assert.deepEqual(authEventTypes(v('12'), leave), [
    ['m.room.power_levels', ''],
    ['m.room.member', U.alice],
    ['m.room.member', U.frank],
  ]);
});

test('auth events rule: the selected events pass', () => {
  for (const ver of versions) {
    const room = standardRoom(ver);
    const ev = room.event({ type: 'm.room.message', sender: U.frank, content: {} });
    assert.deepEqual(checkAuthEvents(ver, ev, room.authEventsFor(ev)), { allowed: true }, `v${ver.id}`);
    assert.deepEqual(checkAuthWithAuthEvents(ver, ev, room.authEventsFor(ev), { createEvent: room.create }), { allowed: true });
  }
});

test('auth events rule: duplicate (type, state_key) entries', () => {
  for (const ver of versions) {
    const room = standardRoom(ver);
    const ev = room.event({ type: 'm.room.message', sender: U.frank, content: {} });
    const pl = room.lookup('m.room.power_levels', '')!;
    const r = checkAuthEvents(ver, ev, [...room.authEventsFor(ev), { ...pl, content: { ...pl.content } }]);
    assert.equal(r.allowed, false);
    assert.match((r as { reason: string }).reason, /auth_events: duplicate entry for \(m\.room\.power_levels, ""\)/);
  }
});

test('auth events rule: entries outside the selection', () => {
  for (const ver of versions) {
    const room = standardRoom(ver);
    const ev = room.event({ type: 'm.room.message', sender: U.frank, content: {} });
    const extra = room.lookup('m.room.join_rules', '')!;
    const r = checkAuthEvents(ver, ev, [...room.authEventsFor(ev), extra]);
    assert.equal(r.allowed, false);
    assert.match((r as { reason: string }).reason, /auth_events: unexpected entry \(m\.room\.join_rules, ""\)/);
  }
});

test('auth events rule: v12 must not cite the create event; v1–11 must', () => {
  for (const ver of versions) {
    const room = standardRoom(ver);
    const ev = room.event({ type: 'm.room.message', sender: U.frank, content: {} });
    const selected = room.authEventsFor(ev);
    if (ver.createEventInAuthEvents) {
      const r = checkAuthEvents(ver, ev, selected.filter((a) => a.type !== 'm.room.create'));
      assert.match((r as { reason: string }).reason, /no m\.room\.create event among the auth events/);
    } else {
      const r = checkAuthEvents(ver, ev, [...selected, room.create]);
      assert.match((r as { reason: string }).reason, /unexpected entry \(m\.room\.create/);
    }
  }
});

test('auth events rule: rejected entries, entries from another room, non-state entries', () => {
  const ver = v('10');
  const room = standardRoom(ver);
  const ev = room.event({ type: 'm.room.message', sender: U.frank, content: {} });
  const selected = room.authEventsFor(ev);
  const pl = room.lookup('m.room.power_levels', '')!;
  const rejected = checkAuthEvents(ver, ev, selected, { isRejected: (a) => a === pl });
  assert.match((rejected as { reason: string }).reason, /auth_events: entry \(m\.room\.power_levels, ""\) was rejected/);
  const other = checkAuthEvents(ver, ev, selected.map((a) => (a === pl ? { ...pl, room_id: '!elsewhere:a.example' } : a)));
  assert.match((other as { reason: string }).reason, /is from another room/);
  const msg = room.event({ type: 'm.room.message', sender: U.frank, content: {} });
  const nonState = checkAuthEvents(ver, ev, [...selected, msg]);
  assert.match((nonState as { reason: string }).reason, /is not a state event/);
});

test('checkAuthWithAuthEvents applies the rules over the auth events only', () => {
  const ver = v('9');
  const room = standardRoom(ver);
  // dan is banned in the room, but an auth set that shows his earlier join lets him speak.
  const ev = room.event({ type: 'm.room.message', sender: U.dan, content: {} });
  const banned = checkAuthWithAuthEvents(ver, ev, room.authEventsFor(ev));
  assert.equal(banned.allowed, false);
  const join = room.event({ type: 'm.room.member', sender: U.dan, state_key: U.dan, content: { membership: 'join' } });
  const earlier = room.authEventsFor(ev).map((a) => (a.type === 'm.room.member' ? join : a));
  assert.deepEqual(checkAuthWithAuthEvents(ver, ev, earlier), { allowed: true });
});

test('handling redactions: same server, or the redact level', () => {
  for (const ver of versions) {
    const room = standardRoom(ver);
    const original = room.set({ type: 'm.room.message', sender: U.bob, content: { body: 'x' } });
    const bySameServer = room.event({ type: 'm.room.redaction', sender: U.harry, content: {} });
    const byAdmin = room.event({ type: 'm.room.redaction', sender: U.alice, content: {} });
    const byOther = room.event({ type: 'm.room.redaction', sender: U.frank, content: {} });
    assert.equal(redactionAllowed(ver, bySameServer, original, room.lookup), true, `v${ver.id} same server`);
    assert.equal(redactionAllowed(ver, byAdmin, original, room.lookup), true, `v${ver.id} redact level`);
    assert.equal(redactionAllowed(ver, byOther, original, room.lookup), false, `v${ver.id} neither`);
  }
});
