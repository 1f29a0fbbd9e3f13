// Test rooms: real events (ids, references, auth events, and real signatures where asked)
// built through the event core, with a state map to run the auth rules against.
import { createHash } from 'node:crypto';
import { signingKeyFromSeed, type SigningKey } from '../../src/crypto/signing-key.js';
import { encodeBase64 } from '../../src/crypto/base64.js';
import { generateKeyPair, sign } from '../../src/crypto/ed25519.js';
import { signedBytes } from '../../src/crypto/sign-json.js';
import type { RoomVersion } from '../../src/events/room-versions.js';
import type { PDU } from '../../src/events/pdu.js';
import { eventReference, roomIdFromCreateEvent } from '../../src/events/event-id.js';
import { addEventSignature, type KeyLookup } from '../../src/events/signing.js';
import { withContentHash } from '../../src/events/hashing.js';
import { authEventTypes, type AuthStateLookup } from '../../src/events/auth/index.js';

export const U = {
  alice: '@alice:a.example', // creator, power 100 (v12: infinite)
  bob: '@bob:b.example', // joined, power 50
  harry: '@harry:b.example', // joined, power 50
  frank: '@frank:a.example', // joined, power 0
  carol: '@carol:a.example', // invited
  dan: '@dan:b.example', // banned
  erin: '@erin:c.example', // knocking (v7+)
  gina: '@gina:c.example', // no membership
  zed: '@zed:c.example', // no membership
} as const;

function seedFor(name: string): Buffer {
  return createHash('sha256').update(`lattice test key ${name}`).digest();
}

export const SERVER_KEYS: Record<string, SigningKey> = Object.fromEntries(
  ['a.example', 'b.example', 'c.example'].map((s) => [s, signingKeyFromSeed('1', seedFor(s))]),
);

export const keyLookup: KeyLookup = (server, keyId) => {
  const k = SERVER_KEYS[server];
  return k && k.keyId === keyId ? k.publicKey : undefined;
};

export function serverOf(userId: string): string {
  return userId.slice(userId.indexOf(':') + 1);
}

export interface EventSpec {
  type: string;
  sender: string;
  state_key?: string;
  content?: Record<string, unknown>;
  /** Parents; defaults to the room's latest event. */
  prev?: PDU[];
  redacts?: string;
  /** Servers that sign the event (hashes are then computed too). */
  signBy?: string[];
  /** Overrides applied after building (e.g. room_id), before signing. */
  patch?: Record<string, unknown>;
}

let counter = 0;

export class Room {
  readonly state = new Map<string, PDU>();
  readonly create: PDU;
  readonly roomId: string;
  last: PDU;
  private depth = 0;

  constructor(
    readonly version: RoomVersion,
    createContent: Record<string, unknown> = {},
  ) {
    const content: Record<string, unknown> = { room_version: version.id, ...createContent };
    if (version.creatorInContent && !('creator' in createContent)) content.creator = U.alice;
    const roomId = version.roomIdFormat === 'create-event' ? undefined : '!room:a.example';
    this.create = this.make({ type: 'm.room.create', sender: U.alice, state_key: '', content, prev: [], signBy: ['a.example'] }, roomId);
    this.roomId = roomId ?? roomIdFromCreateEvent(version, this.create);
    this.last = this.create;
    this.state.set('m.room.create\u0000', this.create);
  }

  private make(spec: EventSpec, roomId: string | undefined): PDU {
    const v = this.version;
    const prev = spec.prev ?? [this.last];
    const authEvents: PDU[] = [];
    const base = { type: spec.type, sender: spec.sender, state_key: spec.state_key, content: spec.content ?? {} };
    if (spec.type !== 'm.room.create') {
      for (const [t, s] of authEventTypes(v, base)) {
        const e = this.state.get(`${t}\u0000${s}`);
        if (e) authEvents.push(e);
      }
    }
    let ev: Record<string, unknown> = {
      ...(v.eventIdInEvent ? { event_id: `$e${++counter}:${serverOf(spec.sender)}` } : {}),
      ...(roomId !== undefined ? { room_id: roomId } : {}),
      sender: spec.sender,
      type: spec.type,
      ...(spec.state_key !== undefined ? { state_key: spec.state_key } : {}),
      content: base.content,
      prev_events: prev.map((p) => eventReference(v, p)),
      auth_events: authEvents.map((a) => eventReference(v, a)),
      depth: ++this.depth,
      origin_server_ts: 1_700_000_000_000 + this.depth,
      hashes: { sha256: '' },
      signatures: {},
      ...(spec.redacts !== undefined ? { redacts: spec.redacts } : {}),
      ...(spec.patch ?? {}),
    };
    if (spec.signBy && spec.signBy.length > 0) {
      ev = withContentHash(v, ev);
      for (const server of spec.signBy) ev = addEventSignature(v, ev, server, SERVER_KEYS[server]!);
    }
    return ev as PDU;
  }

  /** A new event in this room (not added to the state). */
  event(spec: EventSpec): PDU {
    return this.make(spec, this.roomId);
  }

  /** A new event that becomes part of the room's state and its latest event. */
  set(spec: EventSpec): PDU {
    const ev = this.event(spec);
    if (ev.state_key !== undefined) this.state.set(`${ev.type}\u0000${ev.state_key}`, ev);
    this.last = ev;
    return ev;
  }

  member(userId: string, membership: string, sender: string = userId, extra: Record<string, unknown> = {}): PDU {
    return this.set({ type: 'm.room.member', sender, state_key: userId, content: { membership, ...extra } });
  }

  remove(type: string, stateKey: string): void {
    this.state.delete(`${type}\u0000${stateKey}`);
  }

  readonly lookup: AuthStateLookup = (type, stateKey) => this.state.get(`${type}\u0000${stateKey}`);

  /** The lookup without the create event (as v12 auth events are). */
  readonly lookupWithoutCreate: AuthStateLookup = (type, stateKey) =>
    type === 'm.room.create' ? undefined : this.state.get(`${type}\u0000${stateKey}`);

  /** The event's auth events as the selection algorithm picks them from the state. */
  authEventsFor(ev: PDU): PDU[] {
    const out: PDU[] = [];
    for (const [t, s] of authEventTypes(this.version, ev)) {
      const e = this.state.get(`${t}\u0000${s}`);
      if (e) out.push(e);
    }
    return out;
  }
}

export interface RoomOptions {
  joinRule?: string | null;
  powerLevels?: Record<string, unknown> | null;
  createContent?: Record<string, unknown>;
}

export function defaultPowerLevels(version: RoomVersion): Record<string, unknown> {
  const users: Record<string, number> = { [U.bob]: 50, [U.harry]: 50 };
  if (!version.privilegedCreators) users[U.alice] = 100;
  return {
    users,
    users_default: 0,
    events: { 'm.room.tombstone': 100 },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: 0,
    notifications: { room: 50 },
  };
}

/**
 * The standard room: alice created it and joined; power levels; join rule (invite unless
 * told); bob, harry and frank joined; carol invited; dan joined then banned; erin knocking.
 */
export function standardRoom(version: RoomVersion, options: RoomOptions = {}): Room {
  const room = new Room(version, options.createContent);
  room.member(U.alice, 'join');
  if (options.powerLevels !== null) {
    room.set({ type: 'm.room.power_levels', sender: U.alice, state_key: '', content: options.powerLevels ?? defaultPowerLevels(version) });
  }
  if (options.joinRule !== null) {
    room.set({ type: 'm.room.join_rules', sender: U.alice, state_key: '', content: { join_rule: options.joinRule ?? 'invite' } });
  }
  for (const u of [U.bob, U.harry, U.frank, U.dan]) {
    room.member(u, 'invite', U.alice);
    room.member(u, 'join');
  }
  room.member(U.carol, 'invite', U.alice);
  room.member(U.dan, 'ban', U.alice);
  if (version.knocking) room.member(U.erin, 'knock');
  return room;
}

/** An identity server's key and the signed block of a third-party invite. */
export interface IdentityServer {
  publicKeyBase64: string;
  publicKeyBase64Url: string;
  signToken(mxid: string, token: string): Record<string, unknown>;
}

export function identityServer(): IdentityServer {
  const kp = generateKeyPair();
  return {
    publicKeyBase64: encodeBase64(kp.publicKey),
    publicKeyBase64Url: kp.publicKey.toString('base64url'),
    signToken(mxid, token) {
      const signed: Record<string, unknown> = { mxid, token };
      const sig = encodeBase64(sign(signedBytes(signed), kp.secretKey));
      return { ...signed, signatures: { 'id.example': { 'ed25519:0': sig } } };
    },
  };
}
