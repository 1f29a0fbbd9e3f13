// Authorisation rules, table-driven: each case names the rule it exercises and runs in every
// room version it applies to, both where the rule allows and where it refuses.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getRoomVersion, SUPPORTED_ROOM_VERSIONS, type RoomVersion } from '../../src/events/room-versions.js';
import type { PDU } from '../../src/events/pdu.js';
import { checkAuth, type AuthOptions, type AuthStateLookup } from '../../src/events/auth/index.js';
import { eventIdOf } from '../../src/events/event-id.js';
import { defaultPowerLevels, identityServer, keyLookup, Room, standardRoom, U, type RoomOptions } from './fixtures.js';

type Expect = true | string;

interface Case {
  rule: string;
  when?: (v: RoomVersion) => boolean;
  room?: (v: RoomVersion) => Room;
  event: (r: Room) => PDU;
  options?: (r: Room) => AuthOptions;
  lookup?: (r: Room) => AuthStateLookup;
  /** true for allowed, or a substring of the refusal reason; may depend on the version. */
  expect: Expect | ((v: RoomVersion) => Expect);
}

const ALL_VERSIONS = SUPPORTED_ROOM_VERSIONS.map((id) => getRoomVersion(id)!);
const std = (o: RoomOptions = {}) => (v: RoomVersion) => standardRoom(v, o);
const member = (sender: string, target: string, membership: string, extra: Record<string, unknown> = {}) => (r: Room) =>
  r.event({ type: 'm.room.member', sender, state_key: target, content: { membership, ...extra } });
const pl = (sender: string, change: (c: Record<string, any>, v: RoomVersion) => void) => (r: Room) => {
  const content = structuredClone(r.lookup('m.room.power_levels', '')?.content ?? defaultPowerLevels(r.version)) as Record<string, any>;
  change(content, r.version);
  return r.event({ type: 'm.room.power_levels', sender, state_key: '', content });
};
const plRoom = (change: (c: Record<string, any>, v: RoomVersion) => void, o: RoomOptions = {}) => (v: RoomVersion) => {
  const c = defaultPowerLevels(v) as Record<string, any>;
  change(c, v);
  return standardRoom(v, { ...o, powerLevels: c });
};
const tpiRoom = (o: { publicKeys?: 'list' | 'url' } = {}) => {
  const ids = identityServer();
  return {
    ids,
    room: (v: RoomVersion) => {
      const r = standardRoom(v);
      const content: Record<string, unknown> = { display_name: 'g…@example.org', key_validity_url: 'https://id.example/isvalid' };
      if (o.publicKeys === 'list') {
        content.public_key = identityServer().publicKeyBase64; // some other key
        content.public_keys = [{ public_key: ids.publicKeyBase64 }];
      } else {
        content.public_key = o.publicKeys === 'url' ? ids.publicKeyBase64Url : ids.publicKeyBase64;
      }
      r.set({ type: 'm.room.third_party_invite', sender: U.alice, state_key: 'tok', content });
      return r;
    },
  };
};

const restrictedJoin = (authoriser: string | undefined, signBy: string[]) => (r: Room) =>
  r.event({
    type: 'm.room.member',
    sender: U.gina,
    state_key: U.gina,
    content: { membership: 'join', ...(authoriser ? { join_authorised_via_users_server: authoriser } : {}) },
    signBy,
  });

const restricted = (v: RoomVersion) => v.restrictedJoinRule;

const cases: Case[] = [
  // ---- m.room.create
  {
    rule: 'create: allowed',
    room: (v) => new Room(v),
    event: (r) => r.create,
    expect: true,
  },
  {
    rule: 'create: event has prev_events',
    room: (v) => new Room(v),
    event: (r) => ({ ...r.create, prev_events: [r.version.eventIdInEvent ? '$x:a.example' : '$x'] }),
    expect: 'create: event has prev_events',
  },
  {
    rule: "create: room_id's domain does not match the sender's domain",
    when: (v) => v.roomIdFormat === 'server',
    room: (v) => new Room(v),
    event: (r) => ({ ...r.create, room_id: '!room:b.example' }),
    expect: "create: room_id's domain does not match",
  },
  {
    rule: 'create: event has a room_id (v12)',
    when: (v) => v.roomIdFormat === 'create-event',
    room: (v) => new Room(v),
    event: (r) => ({ ...r.create, room_id: r.roomId }),
    expect: 'create: event has a room_id',
  },
  {
    rule: 'create: content.room_version is not a recognised version',
    room: (v) => new Room(v, { room_version: '999' }),
    event: (r) => r.create,
    expect: 'create: content.room_version is not a recognised version',
  },
  {
    rule: 'create: content.room_version absent is allowed',
    room: (v) => {
      const r = new Room(v);
      delete r.create.content.room_version;
      return r;
    },
    event: (r) => r.create,
    expect: true,
  },
  {
    rule: 'create: content has no creator',
    room: (v) => {
      const r = new Room(v);
      delete r.create.content.creator;
      return r;
    },
    event: (r) => r.create,
    expect: (v) => (v.creatorInContent ? 'create: content has no creator' : true),
  },
  {
    rule: 'create: additional_creators is not an array of valid user ids',
    room: (v) => new Room(v, { additional_creators: [U.bob, 'not-a-user'] }),
    event: (r) => r.create,
    expect: (v) => (v.privilegedCreators ? 'create: additional_creators is not an array of valid user ids' : true),
  },
  {
    rule: 'create: additional_creators of valid user ids',
    room: (v) => new Room(v, { additional_creators: [U.bob, U.gina] }),
    event: (r) => r.create,
    expect: true,
  },
  {
    rule: 'create: additional_creators that is not an array',
    room: (v) => new Room(v, { additional_creators: U.bob }),
    event: (r) => r.create,
    expect: (v) => (v.privilegedCreators ? 'create: additional_creators' : true),
  },

  // ---- the create event among the auth state, and v12 room ids
  {
    rule: 'auth_events: no m.room.create event',
    room: std(),
    event: (r) => r.event({ type: 'm.room.message', sender: U.frank, content: { body: 'hi' } }),
    lookup: (r) => r.lookupWithoutCreate,
    expect: (v) => (v.createEventInAuthEvents ? 'auth_events: no m.room.create event' : 'room_id: no m.room.create event'),
  },
  {
    rule: 'create event given through options.createEvent',
    room: std(),
    event: (r) => r.event({ type: 'm.room.message', sender: U.frank, content: { body: 'hi' } }),
    lookup: (r) => r.lookupWithoutCreate,
    options: (r) => ({ createEvent: r.create }),
    expect: true,
  },
  {
    rule: "room_id: not the id of the room's m.room.create event (v12)",
    when: (v) => v.roomIdFormat === 'create-event',
    room: std(),
    event: (r) => r.event({ type: 'm.room.message', sender: U.frank, content: {}, patch: { room_id: '!' + 'A'.repeat(43) } }),
    expect: "room_id: not the id of the room's m.room.create event",
  },

  // ---- m.federate
  {
    rule: 'm.federate: false refuses a remote sender',
    room: std({ joinRule: 'public', createContent: { 'm.federate': false } }),
    event: member(U.gina, U.gina, 'join'),
    expect: 'm.federate',
  },
  {
    rule: "m.federate: false allows the creator's server",
    room: std({ joinRule: 'public', createContent: { 'm.federate': false } }),
    event: member('@newbie:a.example', '@newbie:a.example', 'join'),
    expect: true,
  },

  // ---- m.room.aliases (special-cased in v1–5)
  {
    rule: "aliases: sender's domain matches state_key (not joined)",
    room: std(),
    event: (r) => r.event({ type: 'm.room.aliases', sender: U.zed, state_key: 'c.example', content: { aliases: ['#z:c.example'] } }),
    expect: (v) => (v.specialCaseAliasesAuth ? true : 'sender: not joined'),
  },
  {
    rule: "aliases: sender's domain does not match state_key",
    room: std(),
    event: (r) => r.event({ type: 'm.room.aliases', sender: U.bob, state_key: 'a.example', content: { aliases: [] } }),
    expect: (v) => (v.specialCaseAliasesAuth ? "aliases: sender's domain does not match the state_key" : true),
  },
  {
    rule: 'aliases: event has no state_key',
    room: std(),
    event: (r) => r.event({ type: 'm.room.aliases', sender: U.bob, content: { aliases: [] } }),
    expect: (v) => (v.specialCaseAliasesAuth ? 'aliases: event has no state_key' : true),
  },

  // ---- m.room.member: shape
  {
    rule: 'membership: event has no state_key',
    room: std(),
    event: (r) => r.event({ type: 'm.room.member', sender: U.frank, content: { membership: 'join' } }),
    expect: 'membership: event has no state_key',
  },
  {
    rule: 'membership: content has no membership',
    room: std(),
    event: (r) => r.event({ type: 'm.room.member', sender: U.frank, state_key: U.frank, content: { displayname: 'F' } }),
    expect: 'membership: content has no membership',
  },
  {
    rule: 'membership: unknown membership',
    room: std(),
    event: member(U.frank, U.frank, 'wander'),
    expect: 'membership: unknown membership "wander"',
  },

  // ---- join: the creator's first join
  {
    rule: "membership: join: creator's join right after the create event",
    room: (v) => new Room(v),
    event: (r) => r.event({ type: 'm.room.member', sender: U.alice, state_key: U.alice, content: { membership: 'join' }, prev: [r.create] }),
    expect: true,
  },
  {
    rule: "membership: join: non-creator's join right after the create event",
    room: (v) => new Room(v),
    event: (r) => r.event({ type: 'm.room.member', sender: U.bob, state_key: U.bob, content: { membership: 'join' }, prev: [r.create] }),
    expect: 'membership: join: join rule is invite and user is not invited',
  },
  {
    rule: "membership: join: creator's join after another event",
    room: (v) => {
      const r = new Room(v);
      r.set({ type: 'm.room.topic', sender: U.alice, state_key: '', content: { topic: 't' } });
      return r;
    },
    event: (r) => r.event({ type: 'm.room.member', sender: U.alice, state_key: U.alice, content: { membership: 'join' } }),
    expect: 'membership: join: join rule is invite and user is not invited',
  },
  {
    rule: "membership: join: additional creator's join right after the create event",
    room: (v) => new Room(v, { additional_creators: [U.bob] }),
    event: (r) => r.event({ type: 'm.room.member', sender: U.bob, state_key: U.bob, content: { membership: 'join' }, prev: [r.create] }),
    expect: 'membership: join: join rule is invite and user is not invited',
  },

  // ---- join: general
  {
    rule: 'membership: join: sender does not match state_key',
    room: std({ joinRule: 'public' }),
    event: member(U.alice, U.gina, 'join'),
    expect: 'membership: join: sender does not match state_key',
  },
  {
    rule: 'membership: join: user is banned',
    room: std({ joinRule: 'public' }),
    event: member(U.dan, U.dan, 'join'),
    expect: 'membership: join: user is banned',
  },
  {
    rule: 'membership: join: public join rule',
    room: std({ joinRule: 'public' }),
    event: member(U.gina, U.gina, 'join'),
    expect: true,
  },
  {
    rule: 'membership: join: invite join rule, invited user',
    room: std(),
    event: member(U.carol, U.carol, 'join'),
    expect: true,
  },
  {
    rule: 'membership: join: invite join rule, joined user (profile change)',
    room: std(),
    event: member(U.frank, U.frank, 'join', { displayname: 'Frank' }),
    expect: true,
  },
  {
    rule: 'membership: join: invite join rule, user not invited',
    room: std(),
    event: member(U.gina, U.gina, 'join'),
    expect: 'membership: join: join rule is invite and user is not invited or joined',
  },
  {
    rule: 'membership: join: no join rules event, invited user',
    room: std({ joinRule: null }),
    event: member(U.carol, U.carol, 'join'),
    expect: true,
  },
  {
    rule: 'membership: join: no join rules event, user not invited',
    room: std({ joinRule: null }),
    event: member(U.gina, U.gina, 'join'),
    expect: 'membership: join: join rule is invite',
  },
  {
    rule: 'membership: join: knock join rule, invited user',
    room: std({ joinRule: 'knock' }),
    event: member(U.carol, U.carol, 'join'),
    expect: (v) => (v.knocking ? true : 'membership: join: join rule "knock" does not allow joining'),
  },
  {
    rule: 'membership: join: knock join rule, user not invited',
    room: std({ joinRule: 'knock' }),
    event: member(U.gina, U.gina, 'join'),
    expect: (v) => (v.knocking ? 'membership: join: join rule is knock and user is not invited' : 'does not allow joining'),
  },
  {
    rule: 'membership: join: private join rule',
    room: std({ joinRule: 'private' }),
    event: member(U.gina, U.gina, 'join'),
    expect: 'membership: join: join rule "private" does not allow joining',
  },

  // ---- join: restricted (v8+) and knock_restricted (v10+)
  {
    rule: 'membership: join: restricted, authorised by a joined user who can invite',
    room: std({ joinRule: 'restricted' }),
    event: restrictedJoin(U.bob, ['c.example', 'b.example']),
    expect: (v) => (v.restrictedJoinRule ? true : 'membership: join: join rule "restricted" does not allow joining'),
  },
  {
    rule: 'membership: join: restricted, invited user needs no authoriser',
    room: std({ joinRule: 'restricted' }),
    event: member(U.carol, U.carol, 'join'),
    expect: (v) => (v.restrictedJoinRule ? true : 'does not allow joining'),
  },
  {
    rule: 'membership: join: restricted, no join_authorised_via_users_server',
    when: restricted,
    room: std({ joinRule: 'restricted' }),
    event: restrictedJoin(undefined, ['c.example']),
    expect: 'membership: join: restricted: no join_authorised_via_users_server',
  },
  {
    rule: 'membership: join: restricted, authorising user is not joined',
    when: restricted,
    room: std({ joinRule: 'restricted' }),
    event: restrictedJoin(U.carol, ['c.example', 'a.example']),
    expect: 'membership: join: restricted: authorising user is not joined',
  },
  {
    rule: "membership: join: restricted, authorising user's power level is below the invite level",
    when: restricted,
    room: plRoom((c) => (c.invite = 60), { joinRule: 'restricted' }),
    event: restrictedJoin(U.bob, ['c.example', 'b.example']),
    expect: "membership: join: restricted: authorising user's power level is below the invite level",
  },
  {
    rule: "membership: join_authorised_via_users_server: not signed by the authorising user's server",
    when: restricted,
    room: std({ joinRule: 'restricted' }),
    event: restrictedJoin(U.bob, ['c.example']),
    expect: "membership: join_authorised_via_users_server: event is not validly signed by the authorising user's server",
  },
  {
    rule: "membership: join_authorised_via_users_server: signature by the wrong server's key",
    when: restricted,
    room: std({ joinRule: 'restricted' }),
    event: (r) => {
      const ev = restrictedJoin(U.bob, ['c.example', 'a.example'])(r);
      // Claim a.example's signature is b.example's: the key lookup gives b.example's key.
      ev.signatures['b.example'] = ev.signatures['a.example']!;
      return ev;
    },
    expect: 'event is not validly signed',
  },
  {
    rule: 'membership: join_authorised_via_users_server: signatures skipped',
    when: restricted,
    room: std({ joinRule: 'restricted' }),
    event: restrictedJoin(U.bob, []),
    options: () => ({ skipSignatureChecks: true }),
    expect: true,
  },
  {
    rule: 'membership: join_authorised_via_users_server: not a valid user id',
    when: restricted,
    room: std({ joinRule: 'restricted' }),
    event: restrictedJoin('bob', ['c.example']),
    expect: 'membership: join_authorised_via_users_server is not a valid user id',
  },
  {
    rule: 'membership: join_authorised_via_users_server on a public join, unsigned',
    room: std({ joinRule: 'public' }),
    event: restrictedJoin(U.bob, ['c.example']),
    expect: (v) => (v.restrictedJoinRule ? 'event is not validly signed' : true),
  },
  {
    rule: 'membership: join_authorised_via_users_server on a leave, checked too',
    when: restricted,
    room: std(),
    event: member(U.frank, U.frank, 'leave', { join_authorised_via_users_server: U.bob }),
    expect: 'event is not validly signed',
  },
  {
    rule: 'membership: join: knock_restricted, authorised',
    room: std({ joinRule: 'knock_restricted' }),
    event: restrictedJoin(U.bob, ['c.example', 'b.example']),
    expect: (v) => (v.knockRestrictedJoinRule ? true : 'membership: join: join rule "knock_restricted" does not allow joining'),
  },
  {
    rule: 'membership: join: knock_restricted, no authoriser',
    when: (v) => v.knockRestrictedJoinRule,
    room: std({ joinRule: 'knock_restricted' }),
    event: restrictedJoin(undefined, []),
    expect: 'membership: join: knock_restricted: no join_authorised_via_users_server',
  },
  {
    rule: 'membership: join: restricted, authorised by the creator at the invite level',
    when: restricted,
    room: plRoom((c) => (c.invite = 100), { joinRule: 'restricted' }),
    event: restrictedJoin(U.alice, ['c.example', 'a.example']),
    expect: true,
  },

  // ---- invite
  {
    rule: 'membership: invite: allowed',
    room: std(),
    event: member(U.frank, U.gina, 'invite'),
    expect: true,
  },
  {
    rule: 'membership: invite: sender is not joined',
    room: std(),
    event: member(U.carol, U.gina, 'invite'),
    expect: 'membership: invite: sender is not joined to the room',
  },
  {
    rule: 'membership: invite: target user is already joined',
    room: std(),
    event: member(U.alice, U.frank, 'invite'),
    expect: 'membership: invite: target user is already joined',
  },
  {
    rule: 'membership: invite: target user is banned',
    room: std(),
    event: member(U.alice, U.dan, 'invite'),
    expect: 'membership: invite: target user is banned',
  },
  {
    rule: "membership: invite: sender's power level is below the invite level",
    room: plRoom((c) => (c.invite = 60)),
    event: member(U.bob, U.gina, 'invite'),
    expect: "membership: invite: sender's power level is below the invite level",
  },
  {
    rule: 'membership: invite: sender at exactly the invite level',
    room: plRoom((c) => (c.invite = 50)),
    event: member(U.bob, U.gina, 'invite'),
    expect: true,
  },
  {
    rule: 'membership: invite: re-invite of an invited user',
    room: std(),
    event: member(U.alice, U.carol, 'invite'),
    expect: true,
  },
];

// ---- third-party invites
{
  const t = tpiRoom();
  const tpiMember = (sender: string, target: string, signed: Record<string, unknown> | undefined) => (r: Room) =>
    r.event({
      type: 'm.room.member',
      sender,
      state_key: target,
      content: { membership: 'invite', third_party_invite: { display_name: 'g…', ...(signed ? { signed } : {}) } },
    });
  cases.push(
    {
      rule: 'membership: invite: third_party_invite: valid signed token',
      room: t.room,
      event: tpiMember(U.alice, U.gina, t.ids.signToken(U.gina, 'tok')),
      expect: true,
    },
    {
      rule: 'membership: invite: third_party_invite: target user is banned',
      room: t.room,
      event: tpiMember(U.alice, U.dan, t.ids.signToken(U.dan, 'tok')),
      expect: 'membership: invite: third_party_invite: target user is banned',
    },
    {
      rule: 'membership: invite: third_party_invite: has no signed object',
      room: t.room,
      event: tpiMember(U.alice, U.gina, undefined),
      expect: 'membership: invite: third_party_invite: has no signed object',
    },
    {
      rule: 'membership: invite: third_party_invite: signed has no mxid and token',
      room: t.room,
      event: tpiMember(U.alice, U.gina, { mxid: U.gina, signatures: {} }),
      expect: 'membership: invite: third_party_invite: signed has no mxid and token',
    },
    {
      rule: 'membership: invite: third_party_invite: mxid does not match state_key',
      room: t.room,
      event: tpiMember(U.alice, U.zed, t.ids.signToken(U.gina, 'tok')),
      expect: 'membership: invite: third_party_invite: signed mxid does not match state_key',
    },
    {
      rule: 'membership: invite: third_party_invite: no m.room.third_party_invite for the token',
      room: t.room,
      event: tpiMember(U.alice, U.gina, t.ids.signToken(U.gina, 'other')),
      expect: 'membership: invite: third_party_invite: no m.room.third_party_invite event for the token',
    },
    {
      rule: 'membership: invite: third_party_invite: sender does not match the invite event sender',
      room: t.room,
      event: tpiMember(U.bob, U.gina, t.ids.signToken(U.gina, 'tok')),
      expect: 'membership: invite: third_party_invite: sender does not match the sender of the m.room.third_party_invite',
    },
    {
      rule: 'membership: invite: third_party_invite: signature by another key',
      room: t.room,
      event: tpiMember(U.alice, U.gina, identityServer().signToken(U.gina, 'tok')),
      expect: "membership: invite: third_party_invite: no signature in signed matches the invite's public keys",
    },
    {
      rule: 'membership: invite: third_party_invite: tampered signed block',
      room: t.room,
      event: tpiMember(U.alice, U.gina, { ...t.ids.signToken(U.gina, 'tok'), extra: 1 }),
      expect: 'no signature in signed matches',
    },
    {
      rule: 'membership: invite: third_party_invite: signatures skipped',
      room: t.room,
      event: tpiMember(U.alice, U.gina, identityServer().signToken(U.gina, 'tok')),
      options: () => ({ skipSignatureChecks: true }),
      expect: true,
    },
  );
  const l = tpiRoom({ publicKeys: 'list' });
  const u = tpiRoom({ publicKeys: 'url' });
  cases.push(
    {
      rule: 'membership: invite: third_party_invite: signature matches a key in public_keys',
      room: l.room,
      event: tpiMember(U.alice, U.gina, l.ids.signToken(U.gina, 'tok')),
      expect: true,
    },
    {
      rule: 'membership: invite: third_party_invite: public key in URL-safe base64',
      room: u.room,
      event: tpiMember(U.alice, U.gina, u.ids.signToken(U.gina, 'tok')),
      expect: true,
    },
  );
}

cases.push(
  // ---- leave
  { rule: 'membership: leave: joined user leaves', room: std(), event: member(U.frank, U.frank, 'leave'), expect: true },
  { rule: 'membership: leave: invited user rejects', room: std(), event: member(U.carol, U.carol, 'leave'), expect: true },
  {
    rule: 'membership: leave: knocking user retracts',
    when: (v) => v.knocking,
    room: std(),
    event: member(U.erin, U.erin, 'leave'),
    expect: true,
  },
  {
    rule: 'membership: leave: user with no membership',
    room: std(),
    event: member(U.gina, U.gina, 'leave'),
    expect: 'membership: leave: user is not invited',
  },
  {
    rule: 'membership: leave: banned user cannot leave',
    room: std(),
    event: member(U.dan, U.dan, 'leave'),
    expect: 'membership: leave: user is not invited',
  },
  {
    rule: 'membership: leave: kick by a higher-power sender',
    room: std(),
    event: member(U.bob, U.frank, 'leave'),
    expect: true,
  },
  {
    rule: 'membership: leave: sender is not joined',
    room: std(),
    event: member(U.carol, U.frank, 'leave'),
    expect: 'membership: leave: sender is not joined to the room',
  },
  {
    rule: "membership: leave: sender's power level is below the kick level",
    room: std(),
    event: member(U.frank, U.bob, 'leave'),
    expect: "membership: leave: sender's power level is below the kick level",
  },
  {
    rule: "membership: leave: target user's power level is not below the sender's (equal)",
    room: std(),
    event: member(U.bob, U.harry, 'leave'),
    expect: "membership: leave: target user's power level is not below the sender's",
  },
  {
    rule: "membership: leave: target user's power level is not below the sender's (creator)",
    room: std(),
    event: member(U.bob, U.alice, 'leave'),
    expect: "membership: leave: target user's power level is not below the sender's",
  },
  {
    rule: 'membership: leave: revoke an invite',
    room: std(),
    event: member(U.bob, U.carol, 'leave'),
    expect: true,
  },
  {
    rule: 'membership: leave: unban by a sender at the ban level',
    room: std(),
    event: member(U.alice, U.dan, 'leave'),
    expect: true,
  },
  {
    rule: "membership: leave: unban when the sender's power level is below the ban level",
    room: plRoom((c) => (c.ban = 75)),
    event: member(U.bob, U.dan, 'leave'),
    expect: "membership: leave: target user is banned and sender's power level is below the ban level",
  },
  {
    rule: 'membership: leave: unban also needs the kick level',
    room: plRoom((c) => (c.kick = 75)),
    event: member(U.bob, U.dan, 'leave'),
    expect: "membership: leave: sender's power level is below the kick level",
  },

  // ---- ban
  { rule: 'membership: ban: allowed', room: std(), event: member(U.bob, U.frank, 'ban'), expect: true },
  { rule: 'membership: ban: a user with no membership', room: std(), event: member(U.bob, U.gina, 'ban'), expect: true },
  {
    rule: 'membership: ban: sender is not joined',
    room: std(),
    event: member(U.carol, U.frank, 'ban'),
    expect: 'membership: ban: sender is not joined to the room',
  },
  {
    rule: "membership: ban: sender's power level is below the ban level",
    room: std(),
    event: member(U.frank, U.gina, 'ban'),
    expect: "membership: ban: sender's power level is below the ban level",
  },
  {
    rule: "membership: ban: target user's power level is not below the sender's",
    room: std(),
    event: member(U.bob, U.harry, 'ban'),
    expect: "membership: ban: target user's power level is not below the sender's",
  },
  {
    rule: 'membership: ban: the creator (infinite power in v12)',
    room: plRoom((c, v) => {
      if (!v.privilegedCreators) c.users[U.alice] = 50;
    }),
    event: member(U.bob, U.alice, 'ban'),
    expect: "membership: ban: target user's power level is not below the sender's",
  },
  {
    rule: 'membership: ban: by a creator whose power-level entry is low (v12 ignores it)',
    room: plRoom((c) => (c.users[U.alice] = 0)),
    event: member(U.alice, U.bob, 'ban'),
    expect: (v) => (v.privilegedCreators ? true : "membership: ban: sender's power level is below the ban level"),
  },

  // ---- knock (v7+)
  {
    rule: 'membership: knock: allowed on a knock room',
    room: std({ joinRule: 'knock' }),
    event: member(U.gina, U.gina, 'knock'),
    expect: (v) => (v.knocking ? true : 'membership: unknown membership "knock"'),
  },
  {
    rule: 'membership: knock: allowed on a knock_restricted room',
    when: (v) => v.knocking,
    room: std({ joinRule: 'knock_restricted' }),
    event: member(U.gina, U.gina, 'knock'),
    expect: (v) => (v.knockRestrictedJoinRule ? true : 'membership: knock: join rule "knock_restricted" does not allow knocking'),
  },
  {
    rule: 'membership: knock: join rule does not allow knocking',
    when: (v) => v.knocking,
    room: std({ joinRule: 'public' }),
    event: member(U.gina, U.gina, 'knock'),
    expect: 'membership: knock: join rule "public" does not allow knocking',
  },
  {
    rule: 'membership: knock: sender does not match state_key',
    when: (v) => v.knocking,
    room: std({ joinRule: 'knock' }),
    event: member(U.zed, U.gina, 'knock'),
    expect: 'membership: knock: sender does not match state_key',
  },
  {
    rule: 'membership: knock: user is already invited',
    when: (v) => v.knocking,
    room: std({ joinRule: 'knock' }),
    event: member(U.carol, U.carol, 'knock'),
    expect: 'membership: knock: user is already invited',
  },
  {
    rule: 'membership: knock: user is already joined',
    when: (v) => v.knocking,
    room: std({ joinRule: 'knock' }),
    event: member(U.frank, U.frank, 'knock'),
    expect: 'membership: knock: user is already joined',
  },
  {
    rule: 'membership: knock: user is banned',
    when: (v) => v.knocking,
    room: std({ joinRule: 'knock' }),
    event: member(U.dan, U.dan, 'knock'),
    expect: 'membership: knock: user is already banned',
  },
  {
    rule: 'membership: knock: re-knock',
    when: (v) => v.knocking,
    room: std({ joinRule: 'knock' }),
    event: member(U.erin, U.erin, 'knock'),
    expect: true,
  },

  // ---- the sender must be joined
  {
    rule: 'sender: not joined to the room (invited)',
    room: std(),
    event: (r) => r.event({ type: 'm.room.message', sender: U.carol, content: { body: 'hi' } }),
    expect: 'sender: not joined to the room',
  },
  {
    rule: 'sender: not joined to the room (banned)',
    room: std(),
    event: (r) => r.event({ type: 'm.room.message', sender: U.dan, content: { body: 'hi' } }),
    expect: 'sender: not joined to the room',
  },
  {
    rule: 'sender: joined user sends a message',
    room: std(),
    event: (r) => r.event({ type: 'm.room.message', sender: U.frank, content: { body: 'hi' } }),
    expect: true,
  },

  // ---- m.room.third_party_invite
  {
    rule: 'third_party_invite: sender at the invite level',
    room: std(),
    event: (r) => r.event({ type: 'm.room.third_party_invite', sender: U.frank, state_key: 'tok2', content: { display_name: 'x' } }),
    expect: true,
  },
  {
    rule: "third_party_invite: sender's power level is below the invite level",
    room: plRoom((c) => (c.invite = 10)),
    event: (r) => r.event({ type: 'm.room.third_party_invite', sender: U.frank, state_key: 'tok2', content: { display_name: 'x' } }),
    expect: "third_party_invite: sender's power level is below the invite level",
  },
  {
    rule: 'third_party_invite: ignores state_default',
    room: plRoom((c) => (c.state_default = 100)),
    event: (r) => r.event({ type: 'm.room.third_party_invite', sender: U.frank, state_key: '@frank:a.example', content: {} }),
    expect: true,
  },

  // ---- required power level
  {
    rule: "power_levels: sender's power level is below state_default",
    room: std(),
    event: (r) => r.event({ type: 'm.room.topic', sender: U.frank, state_key: '', content: { topic: 't' } }),
    expect: "power_levels: sender's power level 0 is below the 50 required for m.room.topic",
  },
  {
    rule: 'power_levels: sender at state_default',
    room: std(),
    event: (r) => r.event({ type: 'm.room.topic', sender: U.bob, state_key: '', content: { topic: 't' } }),
    expect: true,
  },
  {
    rule: 'power_levels: events entry raises a message type',
    room: plRoom((c) => (c.events['m.room.message'] = 10)),
    event: (r) => r.event({ type: 'm.room.message', sender: U.frank, content: { body: 'x' } }),
    expect: "power_levels: sender's power level 0 is below the 10 required for m.room.message",
  },
  {
    rule: 'power_levels: events entry lowers a state type',
    room: plRoom((c) => (c.events['m.room.topic'] = 0)),
    event: (r) => r.event({ type: 'm.room.topic', sender: U.frank, state_key: '', content: { topic: 't' } }),
    expect: true,
  },
  {
    rule: 'power_levels: events_default',
    room: plRoom((c) => (c.events_default = 1)),
    event: (r) => r.event({ type: 'm.room.message', sender: U.frank, content: { body: 'x' } }),
    expect: "power_levels: sender's power level 0 is below the 1 required",
  },
  {
    rule: 'power_levels: tombstone needs 100',
    room: std(),
    event: (r) => r.event({ type: 'm.room.tombstone', sender: U.bob, state_key: '', content: {} }),
    expect: "power_levels: sender's power level 50 is below the 100 required for m.room.tombstone",
  },
  {
    rule: 'power_levels: no power levels event, creator has 100',
    room: std({ powerLevels: null }),
    event: (r) => r.event({ type: 'm.room.topic', sender: U.alice, state_key: '', content: { topic: 't' } }),
    expect: true,
  },
  {
    rule: 'power_levels: no power levels event, others have 0',
    room: std({ powerLevels: null }),
    event: (r) => r.event({ type: 'm.room.topic', sender: U.bob, state_key: '', content: { topic: 't' } }),
    expect: "power_levels: sender's power level 0 is below the 50 required",
  },
  {
    rule: 'power_levels: no power levels event, additional creator (v12: infinite)',
    room: (v) => {
      const r = standardRoom(v, { powerLevels: null, createContent: { additional_creators: [U.bob] } });
      return r;
    },
    event: (r) => r.event({ type: 'm.room.topic', sender: U.bob, state_key: '', content: { topic: 't' } }),
    expect: (v) => (v.privilegedCreators ? true : "power_levels: sender's power level 0 is below the 50 required"),
  },
  {
    rule: 'power_levels: string levels are read before v10',
    room: plRoom((c) => (c.users[U.frank] = '60')),
    event: (r) => r.event({ type: 'm.room.topic', sender: U.frank, state_key: '', content: { topic: 't' } }),
    expect: (v) => (v.integerOnlyPowerLevels ? "power_levels: sender's power level 0 is below" : true),
  },

  // ---- state keys starting with @
  {
    rule: 'state_key: starts with @ and does not match the sender',
    room: std(),
    event: (r) => r.event({ type: 'com.example.state', sender: U.bob, state_key: U.frank, content: {} }),
    expect: 'state_key: starts with @ and does not match the sender',
  },
  {
    rule: "state_key: the sender's own user id",
    room: std(),
    event: (r) => r.event({ type: 'com.example.state', sender: U.bob, state_key: U.bob, content: {} }),
    expect: true,
  },

  // ---- m.room.power_levels: format
  {
    rule: 'power_levels: first power levels event is allowed',
    room: std({ powerLevels: null }),
    event: (r) => r.event({ type: 'm.room.power_levels', sender: U.alice, state_key: '', content: defaultPowerLevels(r.version) }),
    expect: true,
  },
  {
    rule: 'power_levels: users key is not a valid user id',
    room: std(),
    event: pl(U.alice, (c) => (c.users['not-a-user'] = 10)),
    expect: 'power_levels: users: "not-a-user" is not a valid user id',
  },
  {
    rule: 'power_levels: users value is not an integer',
    room: std(),
    event: pl(U.alice, (c) => (c.users[U.frank] = 'ten')),
    expect: 'power_levels: users: value for "@frank:a.example" is not',
  },
  {
    rule: 'power_levels: users is not an object',
    room: std(),
    event: pl(U.alice, (c) => (c.users = [U.bob])),
    expect: 'power_levels: users is not an object',
  },
  {
    rule: 'power_levels: integer string value',
    room: std(),
    event: pl(U.alice, (c) => (c.ban = ' +050 ')),
    expect: (v) => (v.integerOnlyPowerLevels ? 'power_levels: ban is not an integer' : true),
  },
  {
    rule: 'power_levels: users value as a string',
    room: std(),
    event: pl(U.alice, (c) => (c.users[U.frank] = '10')),
    expect: (v) => (v.integerOnlyPowerLevels ? 'power_levels: users: value for "@frank:a.example" is not an integer' : true),
  },
  {
    rule: 'power_levels: events value as a string',
    room: std(),
    event: pl(U.alice, (c) => (c.events['m.room.name'] = '50')),
    expect: (v) => (v.integerOnlyPowerLevels ? 'power_levels: events: value for "m.room.name" is not an integer' : true),
  },
  {
    rule: 'power_levels: notifications is not an object',
    room: std(),
    event: pl(U.alice, (c) => (c.notifications = 5)),
    expect: (v) => (v.notificationsPowerLevels ? 'power_levels: notifications is not an object' : true),
  },
  {
    rule: 'power_levels: float value (accepted, truncated, before v6)',
    room: std(),
    event: pl(U.alice, (c) => (c.users[U.frank] = 50.57)),
    expect: (v) => (v.floatPowerLevels ? true : 'power_levels: users: value for "@frank:a.example" is not'),
  },
  {
    rule: 'power_levels: decimal string is not an integer string',
    when: (v) => !v.integerOnlyPowerLevels,
    room: std(),
    event: pl(U.alice, (c) => (c.kick = '50.5')),
    expect: 'power_levels: kick is not an integer or integer string',
  },
  {
    rule: 'power_levels: users contains a room creator (v12)',
    room: std(),
    event: pl(U.alice, (c) => (c.users[U.alice] = 100)),
    expect: (v) => (v.privilegedCreators ? 'power_levels: users contains room creator @alice:a.example' : true),
  },
  {
    rule: 'power_levels: users contains an additional creator (v12)',
    room: std({ createContent: { additional_creators: [U.gina] } }),
    event: pl(U.alice, (c) => (c.users[U.gina] = 10)),
    expect: (v) => (v.privilegedCreators ? 'power_levels: users contains room creator @gina:c.example' : true),
  },

  // ---- m.room.power_levels: changes
  {
    rule: 'power_levels: lower a level to the sender’s own',
    room: std(),
    event: pl(U.bob, (c) => (c.kick = 40)),
    expect: true,
  },
  {
    rule: 'power_levels: new value above the sender’s level',
    room: std(),
    event: pl(U.bob, (c) => (c.ban = 60)),
    expect: "power_levels: cannot change ban: new level 60 is above the sender's level 50",
  },
  {
    rule: 'power_levels: current value above the sender’s level',
    room: plRoom((c) => (c.redact = 75)),
    event: pl(U.bob, (c) => (c.redact = 50)),
    expect: "power_levels: cannot change redact: current level 75 is above the sender's level 50",
  },
  {
    rule: 'power_levels: removing a level above the sender’s',
    room: plRoom((c) => (c.invite = 75)),
    event: pl(U.bob, (c) => delete c.invite),
    expect: 'power_levels: cannot change invite: current level 75',
  },
  {
    rule: 'power_levels: adding users_default above the sender’s level',
    room: plRoom((c) => delete c.users_default),
    event: pl(U.bob, (c) => (c.users_default = 51)),
    expect: 'power_levels: cannot change users_default: new level 51',
  },
  {
    rule: 'power_levels: same value written as a string is not a change',
    when: (v) => !v.integerOnlyPowerLevels,
    room: plRoom((c) => (c.redact = 75)),
    event: pl(U.bob, (c) => (c.redact = '75')),
    expect: true,
  },
  {
    rule: 'power_levels: events: add an entry at the sender’s level',
    room: std(),
    event: pl(U.bob, (c) => (c.events['m.room.name'] = 50)),
    expect: true,
  },
  {
    rule: 'power_levels: events: add an entry above the sender’s level',
    room: std(),
    event: pl(U.bob, (c) => (c.events['m.room.name'] = 60)),
    expect: 'power_levels: events: cannot set "m.room.name" to 60',
  },
  {
    rule: 'power_levels: events: remove an entry above the sender’s level',
    room: std(),
    event: pl(U.bob, (c) => delete c.events['m.room.tombstone']),
    expect: 'power_levels: events: cannot change or remove "m.room.tombstone"',
  },
  {
    rule: 'power_levels: notifications: raise above the sender’s level',
    room: std(),
    event: pl(U.bob, (c) => (c.notifications.room = 60)),
    expect: (v) => (v.notificationsPowerLevels ? 'power_levels: notifications: cannot set "room" to 60' : true),
  },
  {
    rule: 'power_levels: notifications: change an entry above the sender’s level',
    room: plRoom((c) => (c.notifications.room = 80)),
    event: pl(U.bob, (c) => (c.notifications.room = 40)),
    expect: (v) => (v.notificationsPowerLevels ? 'power_levels: notifications: cannot change or remove "room"' : true),
  },
  {
    rule: 'power_levels: users: add a user below the sender’s level',
    room: std(),
    event: pl(U.bob, (c) => (c.users[U.frank] = 40)),
    expect: true,
  },
  {
    rule: 'power_levels: users: add a user at the sender’s level',
    room: std(),
    event: pl(U.bob, (c) => (c.users[U.frank] = 50)),
    expect: true,
  },
  {
    rule: 'power_levels: users: add a user above the sender’s level',
    room: std(),
    event: pl(U.bob, (c) => (c.users[U.frank] = 51)),
    expect: 'power_levels: users: cannot set @frank:a.example to 51',
  },
  {
    rule: 'power_levels: users: change a user at the sender’s level',
    room: std(),
    event: pl(U.bob, (c) => (c.users[U.harry] = 10)),
    expect: 'power_levels: users: cannot change or remove @harry:b.example',
  },
  {
    rule: 'power_levels: users: remove a user at the sender’s level',
    room: std(),
    event: pl(U.bob, (c) => delete c.users[U.harry]),
    expect: 'power_levels: users: cannot change or remove @harry:b.example',
  },
  {
    rule: 'power_levels: users: demote oneself',
    room: std(),
    event: pl(U.bob, (c) => (c.users[U.bob] = 10)),
    expect: true,
  },
  {
    rule: 'power_levels: users: promote oneself',
    room: std(),
    event: pl(U.bob, (c) => (c.users[U.bob] = 60)),
    expect: 'power_levels: users: cannot set @bob:b.example to 60',
  },
  {
    rule: 'power_levels: creator may set any level',
    room: std(),
    event: pl(U.alice, (c) => {
      c.users[U.bob] = 100;
      c.ban = 100;
      c.events['m.room.tombstone'] = 150;
    }),
    expect: (v) => (v.privilegedCreators ? true : 'power_levels: events: cannot set "m.room.tombstone" to 150'),
  },
  {
    rule: 'power_levels: sender below the level to send m.room.power_levels',
    room: plRoom((c) => (c.events['m.room.power_levels'] = 100)),
    event: pl(U.bob, (c) => (c.users[U.frank] = 10)),
    expect: "power_levels: sender's power level 50 is below the 100 required for m.room.power_levels",
  },

  // ---- m.room.redaction (auth rule only in v1–2)
  {
    rule: 'redaction: sender at the redact level',
    room: std(),
    event: (r) => r.event({ type: 'm.room.redaction', sender: U.bob, content: {}, redacts: r.create.event_id ?? eventIdOf(r.version, r.create) }),
    expect: true,
  },
  {
    rule: "redaction: below the redact level, redacted event from the redaction's own server",
    room: std(),
    event: (r) => r.event({ type: 'm.room.redaction', sender: U.frank, content: {}, redacts: '$other:a.example' }),
    expect: true,
  },
  {
    rule: 'redaction: below the redact level, redacted event from another server',
    room: std(),
    event: (r) => r.event({ type: 'm.room.redaction', sender: U.frank, content: {}, redacts: '$other:b.example' }),
    expect: (v) => (v.redactionAuthRule ? "redaction: sender's power level is below the redact level" : true),
  },
  {
    rule: 'redaction: power level required for m.room.redaction events',
    room: plRoom((c) => (c.events['m.room.redaction'] = 10)),
    event: (r) => r.event({ type: 'm.room.redaction', sender: U.frank, content: {}, redacts: '$other:a.example' }),
    expect: "power_levels: sender's power level 0 is below the 10 required for m.room.redaction",
  },
);

let total = 0;
for (const c of cases) {
  describe(c.rule, () => {
    for (const version of ALL_VERSIONS) {
      if (c.when && !c.when(version)) continue;
      const expected = typeof c.expect === 'function' ? c.expect(version) : c.expect;
      total++;
      test(`v${version.id} → ${expected === true ? 'allowed' : 'refused'}`, () => {
        const room = (c.room ?? std())(version);
        const event = c.event(room);
        const lookup = c.lookup ? c.lookup(room) : room.lookup;
        const options: AuthOptions = { keys: keyLookup, ...(c.options ? c.options(room) : {}) };
        const result = checkAuth(version, event, lookup, options);
        if (expected === true) {
          assert.deepEqual(result, { allowed: true });
        } else {
          assert.equal(result.allowed, false, `expected refusal "${expected}"`);
          assert.ok(!result.allowed && result.reason.includes(expected), `reason "${!result.allowed && result.reason}" lacks "${expected}"`);
        }
      });
    }
  });
}

test('the table holds at least 200 cases across versions', () => {
  assert.ok(total >= 200, `only ${total} cases`);
});

test('checkAuth returns the same answer for repeated calls (caches are per event)', () => {
  const v = getRoomVersion('10')!;
  const room = standardRoom(v);
  const ev = room.event({ type: 'm.room.topic', sender: U.frank, state_key: '', content: {} });
  const a = checkAuth(v, ev, room.lookup);
  const b = checkAuth(v, ev, room.lookup);
  assert.deepEqual(a, b);
  assert.equal(a.allowed, false);
});
