// The properties of every stable room version (spec: content/rooms/v1.md … v12.md), in one
// table. Code consults these named properties; nothing compares version strings.

/** How event ids are formed: `$opaque:server` carried in the event (v1–2), or `$` + the
 *  reference hash in standard (v3) or URL-safe (v4+) unpadded base64. */
export type EventIdFormat = 'v1' | 'v3' | 'v4';

/** Which list of protected keys the redaction algorithm keeps (see redaction.ts). */
export type RedactionAlgorithm = 'v1' | 'v6' | 'v8' | 'v9' | 'v11';

export type StateResolutionAlgorithm = 'v1' | 'v2' | 'v2.1';

/** `!opaque:server` (v1–11), or the create event's id with the `!` sigil (v12). */
export type RoomIdFormat = 'server' | 'create-event';

export interface RoomVersion {
  readonly id: string;
  readonly eventIdFormat: EventIdFormat;
  /** v1–2: `event_id` is a field of the event, and prev/auth events are [id, hashes] pairs. */
  readonly eventIdInEvent: boolean;
  readonly redaction: RedactionAlgorithm;
  readonly stateResolution: StateResolutionAlgorithm;
  /** v6+: canonical JSON is enforced (integers within ±(2^53−1)); older versions hash laxly. */
  readonly strictCanonicalJson: boolean;
  readonly roomIdFormat: RoomIdFormat;
  /** v1–2: events must also be signed by the server named in `event_id`. */
  readonly eventIdServerSigns: boolean;
  /** v5+: signing keys must be valid at the event's origin_server_ts. */
  readonly enforceKeyValidity: boolean;

  // Authorisation-rule variants.
  /** v1–5: rule "If type is m.room.aliases" (sender's domain must match the state_key). */
  readonly specialCaseAliasesAuth: boolean;
  /** v1–2: rule "If type is m.room.redaction" (redact level or same event-id domain). */
  readonly redactionAuthRule: boolean;
  /** v6+: `notifications` is checked beside `events` in power-level changes. */
  readonly notificationsPowerLevels: boolean;
  /** v7+: `knock` membership and join rule. */
  readonly knocking: boolean;
  /** v8+: `restricted` join rule and `join_authorised_via_users_server`. */
  readonly restrictedJoinRule: boolean;
  /** v10+: `knock_restricted` join rule. */
  readonly knockRestrictedJoinRule: boolean;
  /** v10+: power-level values must be JSON integers (no strings). */
  readonly integerOnlyPowerLevels: boolean;
  /** v1–5: power-level values may be floats, truncated towards zero. */
  readonly floatPowerLevels: boolean;
  /** v1–10: the create event's `content.creator` names the creator and is required;
   *  v11+: the creator is the create event's sender. */
  readonly creatorInContent: boolean;
  /** v12: creators are the create event's sender plus `additional_creators`, with infinite
   *  power; they may not appear in `users` of m.room.power_levels. */
  readonly privilegedCreators: boolean;
  /** v1–11: the create event is one of every event's auth events; v12: it must not be. */
  readonly createEventInAuthEvents: boolean;
  /** v11+: m.room.redaction carries `redacts` in `content` rather than at the top level. */
  readonly redactsInContent: boolean;
}

const V1: RoomVersion = {
  id: '1',
  eventIdFormat: 'v1',
  eventIdInEvent: true,
  redaction: 'v1',
  stateResolution: 'v1',
  strictCanonicalJson: false,
  roomIdFormat: 'server',
  eventIdServerSigns: true,
  enforceKeyValidity: false,
  specialCaseAliasesAuth: true,
  redactionAuthRule: true,
  notificationsPowerLevels: false,
  knocking: false,
  restrictedJoinRule: false,
  knockRestrictedJoinRule: false,
  integerOnlyPowerLevels: false,
  floatPowerLevels: true,
  creatorInContent: true,
  privilegedCreators: false,
  createEventInAuthEvents: true,
  redactsInContent: false,
};

function derive(base: RoomVersion, id: string, changes: Partial<Omit<RoomVersion, 'id'>>): RoomVersion {
  return Object.freeze({ ...base, ...changes, id });
}

const V2 = derive(V1, '2', { stateResolution: 'v2' });
const V3 = derive(V2, '3', {
  eventIdFormat: 'v3',
  eventIdInEvent: false,
  eventIdServerSigns: false,
  redactionAuthRule: false,
});
const V4 = derive(V3, '4', { eventIdFormat: 'v4' });
const V5 = derive(V4, '5', { enforceKeyValidity: true });
const V6 = derive(V5, '6', {
  redaction: 'v6',
  strictCanonicalJson: true,
  specialCaseAliasesAuth: false,
  notificationsPowerLevels: true,
  floatPowerLevels: false,
});
const V7 = derive(V6, '7', { knocking: true });
const V8 = derive(V7, '8', { redaction: 'v8', restrictedJoinRule: true });
const V9 = derive(V8, '9', { redaction: 'v9' });
const V10 = derive(V9, '10', { knockRestrictedJoinRule: true, integerOnlyPowerLevels: true });
const V11 = derive(V10, '11', { redaction: 'v11', creatorInContent: false, redactsInContent: true });
const V12 = derive(V11, '12', {
  stateResolution: 'v2.1',
  roomIdFormat: 'create-event',
  privilegedCreators: true,
  createEventInAuthEvents: false,
});

const VERSIONS: ReadonlyMap<string, RoomVersion> = new Map(
  [Object.freeze(V1), V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12].map((v) => [v.id, v]),
);

/** Ids of the room versions this server supports, oldest first. */
export const SUPPORTED_ROOM_VERSIONS: readonly string[] = Object.freeze([...VERSIONS.keys()]);

/** The version the server uses for new rooms (the spec recommends 12). */
export const DEFAULT_ROOM_VERSION = '12';

export function getRoomVersion(id: string): RoomVersion | undefined {
  return VERSIONS.get(id);
}

/** Like getRoomVersion, for callers that have already been told the version is known. */
export function requireRoomVersion(id: string): RoomVersion {
  const v = VERSIONS.get(id);
  if (!v) throw new Error(`unsupported room version "${id}"`);
  return v;
}
