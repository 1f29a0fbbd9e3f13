// The PDU (federation event) format of each room version (data/api/server-server/definitions/
// pdu_v*.yaml) and a validator that refuses malformed events with a precise reason.
import { canonicalJson, CanonicalJsonError } from '../crypto/canonical.js';
import type { RoomVersion } from './room-versions.js';
import { MAX_IDENTIFIER_BYTES, isValidEventId, isValidRoomId, isValidUserId, utf8Length } from './identifiers.js';

export interface EventHashes {
  sha256: string;
  [algorithm: string]: string;
}

/** v1–2 reference to another event: its id and its reference hash. */
export type EventReferencePair = [eventId: string, hashes: EventHashes];

export type Signatures = Record<string, Record<string, string>>;

export interface PDU {
  /** Carried in the event in v1–2; in v3+ computed from the reference hash (a copy held
   *  here by the server is trusted by the auth rules and left out of hashing). */
  event_id?: string;
  /** Absent only on the m.room.create event of a v12 room. */
  room_id?: string;
  sender: string;
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
  /** Plain event ids (v3+) or [id, hashes] pairs (v1–2). */
  prev_events: string[] | EventReferencePair[];
  auth_events: string[] | EventReferencePair[];
  depth: number;
  origin_server_ts: number;
  hashes: EventHashes;
  signatures: Signatures;
  unsigned?: Record<string, unknown>;
  /** Top-level in v1–10; under `content` from v11. */
  redacts?: string;
  /** Legacy field of older events; covered by hashes, kept by redaction up to v10. */
  origin?: string;
  [key: string]: unknown;
}

/** The whole event, as canonical JSON with signatures, may not exceed this many bytes. */
export const MAX_PDU_BYTES = 65536;
export const MAX_PREV_EVENTS = 20;
export const MAX_AUTH_EVENTS = 10;
export const MAX_DEPTH = Number.MAX_SAFE_INTEGER;

export class PduValidationError extends Error {
  override name = 'PduValidationError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** The event ids in a prev_events or auth_events list, whatever the version's form. */
export function referencedEventIds(refs: PDU['prev_events']): string[] {
  const out: string[] = new Array(refs.length);
  for (let i = 0; i < refs.length; i++) {
    const r = refs[i]!;
    out[i] = typeof r === 'string' ? r : r[0];
  }
  return out;
}

/** The id of the i-th reference, without allocating a list. */
export function referencedEventId(refs: PDU['prev_events'], i: number): string | undefined {
  const r = refs[i];
  return r === undefined ? undefined : typeof r === 'string' ? r : r[0];
}

export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(reason: string): never {
  throw new PduValidationError(reason);
}

function checkEventRefs(version: RoomVersion, value: unknown, field: string, max: number): void {
  if (!Array.isArray(value)) fail(`${field}: must be an array`);
  if (value.length > max) fail(`${field}: has ${value.length} entries, more than the limit of ${max}`);
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    let id: unknown = item;
    if (version.eventIdInEvent) {
      if (!Array.isArray(item) || item.length !== 2) fail(`${field}[${i}]: must be an [event_id, hashes] pair`);
      id = item[0];
      const hashes: unknown = item[1];
      if (!isJsonObject(hashes) || typeof hashes.sha256 !== 'string') {
        fail(`${field}[${i}]: hashes must be an object with a sha256 string`);
      }
    }
    if (typeof id !== 'string') fail(`${field}[${i}]: event id must be a string`);
    if (!isValidEventId(version, id)) fail(`${field}[${i}]: "${id}" is not a valid event id for room version ${version.id}`);
  }
}

function checkInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(`${field}: must be an integer`);
  return value;
}

/**
 * Validates `value` as a PDU of `version` and returns it typed (the same object). Throws
 * PduValidationError naming the first problem found.
 */
export function parsePdu(version: RoomVersion, value: unknown): PDU {
  if (!isJsonObject(value)) fail('event: must be a JSON object');
  const ev = value;

  const type = ev.type;
  if (typeof type !== 'string') fail('type: missing or not a string');
  if (utf8Length(type) > MAX_IDENTIFIER_BYTES) fail(`type: longer than ${MAX_IDENTIFIER_BYTES} bytes`);

  if ('state_key' in ev) {
    if (typeof ev.state_key !== 'string') fail('state_key: must be a string');
    if (utf8Length(ev.state_key) > MAX_IDENTIFIER_BYTES) fail(`state_key: longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  }

  const roomId = ev.room_id;
  if (version.roomIdFormat === 'create-event' && type === 'm.room.create') {
    // The create event defines the room id; carrying one is refused by the auth rules.
    if (roomId !== undefined && typeof roomId !== 'string') fail('room_id: must be a string');
  } else {
    if (typeof roomId !== 'string') fail('room_id: missing or not a string');
    if (utf8Length(roomId) > MAX_IDENTIFIER_BYTES) fail(`room_id: longer than ${MAX_IDENTIFIER_BYTES} bytes`);
    if (!isValidRoomId(version, roomId)) fail(`room_id: "${roomId}" is not a valid room id for room version ${version.id}`);
  }

  const sender = ev.sender;
  if (typeof sender !== 'string') fail('sender: missing or not a string');
  if (utf8Length(sender) > MAX_IDENTIFIER_BYTES) fail(`sender: longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  if (!isValidUserId(sender)) fail(`sender: "${sender}" is not a valid user id`);

  if (!isJsonObject(ev.content)) fail('content: missing or not an object');

  checkInteger(ev.origin_server_ts, 'origin_server_ts');
  const depth = checkInteger(ev.depth, 'depth');
  if (depth < 0 || depth > MAX_DEPTH) fail(`depth: ${depth} is outside 0..${MAX_DEPTH}`);

  if (!isJsonObject(ev.hashes)) fail('hashes: missing or not an object');
  if (typeof ev.hashes.sha256 !== 'string') fail('hashes: sha256 missing or not a string');
  for (const alg in ev.hashes) {
    if (typeof ev.hashes[alg] !== 'string') fail(`hashes: ${alg} must be a string`);
  }

  if (!isJsonObject(ev.signatures)) fail('signatures: missing or not an object');
  for (const server in ev.signatures) {
    const byKey = ev.signatures[server];
    if (!isJsonObject(byKey)) fail(`signatures: entry for "${server}" must be an object`);
    for (const keyId in byKey) {
      if (typeof byKey[keyId] !== 'string') fail(`signatures: ${server} ${keyId} must be a string`);
    }
  }

  if ('unsigned' in ev && !isJsonObject(ev.unsigned)) fail('unsigned: must be an object');

  if (version.eventIdInEvent) {
    const id = ev.event_id;
    if (typeof id !== 'string') fail('event_id: missing or not a string');
    if (!isValidEventId(version, id)) fail(`event_id: "${id}" is not a valid event id for room version ${version.id}`);
  }
  checkEventRefs(version, ev.prev_events, 'prev_events', MAX_PREV_EVENTS);
  checkEventRefs(version, ev.auth_events, 'auth_events', MAX_AUTH_EVENTS);

  if (!version.redactsInContent && 'redacts' in ev) {
    if (typeof ev.redacts !== 'string') fail('redacts: must be a string');
    if (!isValidEventId(version, ev.redacts)) fail(`redacts: "${ev.redacts}" is not a valid event id for room version ${version.id}`);
  }

  // Size last: it is the one check that costs an encoding, and the encoding itself enforces
  // canonical JSON (integer range for strict versions, no lone surrogates, no floats).
  let size: number;
  try {
    size = canonicalJson(ev, { lax: !version.strictCanonicalJson }).length;
  } catch (e) {
    if (e instanceof CanonicalJsonError) fail(`event: not valid canonical JSON: ${e.message}`);
    throw e;
  }
  if (size > MAX_PDU_BYTES) fail(`event: ${size} bytes as canonical JSON, more than the limit of ${MAX_PDU_BYTES}`);

  return ev as PDU;
}

/** True when the event is a state event (has a state_key, even an empty one). */
export function isStateEvent(ev: Pick<PDU, 'state_key'>): boolean {
  return ev.state_key !== undefined;
}
