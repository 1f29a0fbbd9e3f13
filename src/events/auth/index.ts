// The authorisation rules of every room version (content/rooms/v*.md "Authorisation rules").
// checkAuth runs them against a given auth state; checkAuthEvents (selection.ts) holds the
// rules about the auth events themselves, which belong to the checks on receipt.
import type { RoomVersion } from '../room-versions.js';
import type { PDU } from '../pdu.js';
import { serverNameOf } from '../identifiers.js';
import { eventIdOf } from '../event-id.js';
import { checkCreate } from './create.js';
import { checkMembership } from './membership.js';
import { checkPowerLevels } from './power-levels-rule.js';
import { levelOf, levels, membershipOf, type AuthContext } from './context.js';
import { requiredLevel } from './power-levels.js';
import { checkAuthEvents, type AuthEventsCheckOptions } from './selection.js';
import { ALLOW, deny, type AuthOptions, type AuthResult, type AuthStateLookup } from './types.js';

export type { AuthOptions, AuthResult, AuthStateLookup } from './types.js';
export { authEventTypes, checkAuthEvents, type AuthEventsCheckOptions } from './selection.js';
export { parsePowerLevel, userLevel, requiredLevel, levelsOf, isRoomCreator, creatorOf, type Levels } from './power-levels.js';
export { redactionAllowed } from './redaction.js';

const NO_OPTIONS: AuthOptions = Object.freeze({});

/**
 * Whether `event` is allowed by the auth rules of `version` given `authState` — the state
 * events for the (type, state_key) pairs the rules consult. For v12 the create event is
 * taken from authState or options.createEvent.
 */
export function checkAuth(
  version: RoomVersion,
  event: PDU,
  authState: AuthStateLookup,
  options: AuthOptions = NO_OPTIONS,
): AuthResult {
  const type = event.type;
  if (type === 'm.room.create') return checkCreate(version, event);

  const create = authState('m.room.create', '') ?? options.createEvent;
  if (!create) {
    return deny(
      version.createEventInAuthEvents
        ? 'auth_events: no m.room.create event among the auth events'
        : 'room_id: no m.room.create event for the room',
    );
  }
  if (version.roomIdFormat === 'create-event') {
    const roomId = event.room_id;
    if (typeof roomId !== 'string' || roomId !== '!' + eventIdOf(version, create).slice(1)) {
      return deny("room_id: not the id of the room's m.room.create event");
    }
  }

  const sender = event.sender;
  if (create.content?.['m.federate'] === false && serverNameOf(sender) !== serverNameOf(create.sender)) {
    return deny("m.federate: room is not federated and the sender's server is not the creator's");
  }

  if (version.specialCaseAliasesAuth && type === 'm.room.aliases') {
    if (event.state_key === undefined) return deny('aliases: event has no state_key');
    if (serverNameOf(sender) !== event.state_key) return deny("aliases: sender's domain does not match the state_key");
    return ALLOW;
  }

  const ctx: AuthContext = {
    version,
    event,
    state: authState,
    options,
    create,
    powerLevels: authState('m.room.power_levels', ''),
  };

  if (type === 'm.room.member') return checkMembership(ctx);

  if (membershipOf(ctx, sender) !== 'join') return deny('sender: not joined to the room');

  const senderLevel = levelOf(ctx, sender);
  if (type === 'm.room.third_party_invite') {
    if (senderLevel >= levels(ctx).invite) return ALLOW;
    return deny("third_party_invite: sender's power level is below the invite level");
  }

  const isState = event.state_key !== undefined;
  const required = requiredLevel(version, ctx.powerLevels, type, isState);
  if (required > senderLevel) {
    return deny(`power_levels: sender's power level ${senderLevel} is below the ${required} required for ${type}`);
  }

  if (isState && event.state_key!.charCodeAt(0) === 0x40 /* @ */ && event.state_key !== sender) {
    return deny('state_key: starts with @ and does not match the sender');
  }

  if (type === 'm.room.power_levels') return checkPowerLevels(ctx);

  if (version.redactionAuthRule && type === 'm.room.redaction') {
    if (senderLevel >= levels(ctx).redact) return ALLOW;
    const redacts = event.redacts;
    const ownId = eventIdOf(version, event);
    if (typeof redacts === 'string' && serverNameOf(redacts) === serverNameOf(ownId)) return ALLOW;
    return deny("redaction: sender's power level is below the redact level and the redacted event is from another server");
  }

  return ALLOW;
}

/**
 * The auth rules against the event's own auth events: the auth-event rules first, then
 * checkAuth over the state they form (checks on receipt, step 4).
 */
export function checkAuthWithAuthEvents(
  version: RoomVersion,
  event: PDU,
  authEvents: readonly PDU[],
  options: AuthOptions & AuthEventsCheckOptions = NO_OPTIONS,
): AuthResult {
  const structural = checkAuthEvents(version, event, authEvents, options);
  if (!structural.allowed) return structural;
  const byKey = new Map<string, PDU>();
  for (const a of authEvents) if (a.state_key !== undefined) byKey.set(`${a.type}\u0000${a.state_key}`, a);
  return checkAuth(version, event, (t, s) => byKey.get(`${t}\u0000${s}`), options);
}
