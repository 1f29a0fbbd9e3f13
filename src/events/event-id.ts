// Event ids per room version (fragments v1-event-ids, v3 "Event IDs", v4-event-ids) and the
// v12 room id, which is the create event's id with the `!` sigil.
import { randomBytes } from 'node:crypto';
import { encodeBase64, encodeBase64Url } from '../crypto/base64.js';
import type { RoomVersion } from './room-versions.js';
import type { EventReferencePair, PDU } from './pdu.js';
import { referenceHash, referenceHashes } from './hashing.js';

export class EventIdError extends Error {
  override name = 'EventIdError';
}

/**
 * The event id as the room version defines it: the `event_id` field for v1–2, otherwise `$`
 * plus the reference hash in standard (v3) or URL-safe (v4+) unpadded base64. For v3+ an
 * `event_id` the object may carry is ignored: the id is always recomputed.
 */
export function computeEventId(version: RoomVersion, event: Record<string, unknown>): string {
  switch (version.eventIdFormat) {
    case 'v1': {
      const id = event.event_id;
      if (typeof id !== 'string') throw new EventIdError('event has no event_id (required in room versions 1 and 2)');
      return id;
    }
    case 'v3':
      return '$' + encodeBase64(referenceHash(version, event));
    case 'v4':
      return '$' + encodeBase64Url(referenceHash(version, event));
  }
}

// Computed ids by event object: auth checks ask for the same few events' ids repeatedly.
const idCache = new WeakMap<object, string>();

/**
 * The id of an event as the server tracks it: an explicit `event_id` on the object is trusted
 * (the server put it there), otherwise it is computed once and remembered per object.
 */
export function eventIdOf(version: RoomVersion, event: Record<string, unknown>): string {
  const explicit = event.event_id;
  if (typeof explicit === 'string') return explicit;
  let id = idCache.get(event);
  if (id === undefined) {
    id = computeEventId(version, event);
    idCache.set(event, id);
  }
  return id;
}

/** The room id of a v12 room, from its create event. */
export function roomIdFromCreateEvent(version: RoomVersion, createEvent: Record<string, unknown>): string {
  if (version.roomIdFormat !== 'create-event') {
    throw new EventIdError(`room version ${version.id} room ids are not derived from the create event`);
  }
  return '!' + eventIdOf(version, createEvent).slice(1);
}

/** A fresh v1–2 event id, `$opaque:server`. */
export function generateEventId(serverName: string): string {
  return `$${randomBytes(12).toString('base64url')}:${serverName}`;
}

/** How `event` is cited in prev_events/auth_events of another event of this version. */
export function eventReference(version: RoomVersion, event: PDU): string | EventReferencePair {
  const id = eventIdOf(version, event);
  return version.eventIdInEvent ? [id, referenceHashes(version, event)] : id;
}
