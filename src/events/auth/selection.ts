// "Auth events selection" (server-server API) and the auth-rule checks on the auth events
// themselves (rule "Considering the event's auth_events"), which belong to checks on receipt.
import type { RoomVersion } from '../room-versions.js';
import { isJsonObject, type PDU } from '../pdu.js';
import { ALLOW, deny, type AuthResult } from './types.js';

type Key = [type: string, stateKey: string];

/** The (type, state_key) pairs an event's auth events are chosen from, in this version. */
export function authEventTypes(
  version: RoomVersion,
  event: Pick<PDU, 'type' | 'sender' | 'state_key' | 'content'>,
): Key[] {
  if (event.type === 'm.room.create') return [];
  const keys: Key[] = [];
  const add = (type: string, stateKey: string): void => {
    for (const [t, s] of keys) if (t === type && s === stateKey) return;
    keys.push([type, stateKey]);
  };
  if (version.createEventInAuthEvents) add('m.room.create', '');
  add('m.room.power_levels', '');
  add('m.room.member', event.sender);
  if (event.type === 'm.room.member') {
    const content = isJsonObject(event.content) ? event.content : {};
    const membership = content.membership;
    if (event.state_key !== undefined) add('m.room.member', event.state_key);
    if (membership === 'join' || membership === 'invite' || membership === 'knock') add('m.room.join_rules', '');
    if (membership === 'invite') {
      const tpi = content.third_party_invite;
      const signed = isJsonObject(tpi) ? tpi.signed : undefined;
      if (isJsonObject(signed) && typeof signed.token === 'string') add('m.room.third_party_invite', signed.token);
    }
    if (membership === 'join' && version.restrictedJoinRule) {
      const via = content.join_authorised_via_users_server;
      if (typeof via === 'string') add('m.room.member', via);
    }
  }
  return keys;
}

export interface AuthEventsCheckOptions {
  /** Whether an auth event was itself rejected (rule: such entries make the event rejected). */
  isRejected?: (authEvent: PDU) => boolean;
}

/**
 * The auth-event rules: no duplicate (type, state_key), nothing outside the selection
 * (v12: that includes the create event), no rejected entry, a create event present (v1–11),
 * and every entry in the event's room. The create event itself is judged by its own rule.
 */
export function checkAuthEvents(
  version: RoomVersion,
  event: PDU,
  authEvents: readonly PDU[],
  options: AuthEventsCheckOptions = {},
): AuthResult {
  if (event.type === 'm.room.create') return ALLOW;
  const seen = new Set<string>();
  for (const a of authEvents) {
    if (a.state_key === undefined) return deny(`auth_events: entry of type ${a.type} is not a state event`);
    const key = `${a.type}\u0000${a.state_key}`;
    if (seen.has(key)) return deny(`auth_events: duplicate entry for (${a.type}, ${JSON.stringify(a.state_key)})`);
    seen.add(key);
  }
  const expected = authEventTypes(version, event);
  for (const a of authEvents) {
    if (!expected.some(([t, s]) => t === a.type && s === a.state_key)) {
      return deny(`auth_events: unexpected entry (${a.type}, ${JSON.stringify(a.state_key)}) not in the auth events selection`);
    }
  }
  if (options.isRejected) {
    for (const a of authEvents) {
      if (options.isRejected(a)) return deny(`auth_events: entry (${a.type}, ${JSON.stringify(a.state_key)}) was rejected`);
    }
  }
  if (version.createEventInAuthEvents && !seen.has('m.room.create\u0000')) {
    return deny('auth_events: no m.room.create event among the auth events');
  }
  for (const a of authEvents) {
    if (a.room_id !== event.room_id) return deny(`auth_events: entry (${a.type}, ${JSON.stringify(a.state_key)}) is from another room`);
  }
  return ALLOW;
}
