// Authorisation rule "If type is m.room.create" (changed in v11 and v12).
import type { RoomVersion } from '../room-versions.js';
import { getRoomVersion } from '../room-versions.js';
import type { PDU } from '../pdu.js';
import { isValidUserId, serverNameOf } from '../identifiers.js';
import { ALLOW, deny, type AuthResult } from './types.js';

export function checkCreate(version: RoomVersion, event: PDU): AuthResult {
  if (event.prev_events.length > 0) return deny('create: event has prev_events');
  if (version.roomIdFormat === 'create-event') {
    if (event.room_id !== undefined) return deny('create: event has a room_id');
  } else if (typeof event.room_id !== 'string' || serverNameOf(event.room_id) !== serverNameOf(event.sender)) {
    return deny("create: room_id's domain does not match the sender's domain");
  }
  const content = event.content;
  if (Object.hasOwn(content, 'room_version')) {
    const v = content.room_version;
    if (typeof v !== 'string' || !getRoomVersion(v)) return deny('create: content.room_version is not a recognised version');
  }
  if (version.creatorInContent && !Object.hasOwn(content, 'creator')) return deny('create: content has no creator');
  if (version.privilegedCreators && Object.hasOwn(content, 'additional_creators')) {
    const extra = content.additional_creators;
    if (!Array.isArray(extra) || !extra.every((u) => typeof u === 'string' && isValidUserId(u))) {
      return deny('create: additional_creators is not an array of valid user ids');
    }
  }
  return ALLOW;
}
