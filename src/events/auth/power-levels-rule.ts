// Authorisation rule "If type is m.room.power_levels": value formats (v10+ integer-only),
// creators kept out of `users` (v12), and which changes the sender's level permits.
import { isJsonObject, type PDU } from '../pdu.js';
import { isValidUserId } from '../identifiers.js';
import { isRoomCreator, parsePowerLevel } from './power-levels.js';
import { levelOf, type AuthContext } from './context.js';
import { ALLOW, deny, type AuthResult } from './types.js';
import type { RoomVersion } from '../room-versions.js';

const SCALAR_KEYS = ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite'] as const;

/** Parsed `key -> level` map, or a refusal reason. */
function parseLevelMap(version: RoomVersion, value: unknown, field: string, userKeys: boolean): Map<string, number> | string {
  const out = new Map<string, number>();
  if (value === undefined) return out;
  if (!isJsonObject(value)) return `power_levels: ${field} is not an object`;
  for (const k of Object.keys(value)) {
    if (userKeys && !isValidUserId(k)) return `power_levels: ${field}: ${JSON.stringify(k)} is not a valid user id`;
    const level = parsePowerLevel(version, value[k]);
    if (level === undefined) return `power_levels: ${field}: value for ${JSON.stringify(k)} is not ${version.integerOnlyPowerLevels ? 'an integer' : 'an integer or integer string'}`;
    out.set(k, level);
  }
  return out;
}

/** Lenient reading of an already-accepted event's map (bad entries are skipped). */
function readLevelMap(version: RoomVersion, value: unknown): Map<string, number> {
  const out = new Map<string, number>();
  if (!isJsonObject(value)) return out;
  for (const k of Object.keys(value)) {
    const level = parsePowerLevel(version, value[k]);
    if (level !== undefined) out.set(k, level);
  }
  return out;
}

/** For each key added, changed or removed: the current and new levels must not exceed `limit`. */
function checkMapChanges(
  before: Map<string, number>,
  after: Map<string, number>,
  limit: number,
  field: string,
): string | undefined {
  for (const [k, old] of before) {
    if (after.get(k) !== old && old > limit) {
      return `power_levels: ${field}: cannot change or remove ${JSON.stringify(k)}, whose current level ${old} is above the sender's ${limit}`;
    }
  }
  for (const [k, level] of after) {
    if (before.get(k) !== level && level > limit) {
      return `power_levels: ${field}: cannot set ${JSON.stringify(k)} to ${level}, above the sender's level ${limit}`;
    }
  }
  return undefined;
}

export function checkPowerLevels(ctx: AuthContext): AuthResult {
  const { version, event } = ctx;
  const content = event.content;

  // Format of the new event. Versions before 10 only specify `users`; their other values are
  // held to the same "integer (or integer string)" form, since they cannot be compared otherwise.
  const scalars = new Map<string, number>();
  for (const k of SCALAR_KEYS) {
    if (!Object.hasOwn(content, k)) continue;
    const level = parsePowerLevel(version, content[k]);
    if (level === undefined) return deny(`power_levels: ${k} is not ${version.integerOnlyPowerLevels ? 'an integer' : 'an integer or integer string'}`);
    scalars.set(k, level);
  }
  const events = parseLevelMap(version, content.events, 'events', false);
  if (typeof events === 'string') return deny(events);
  // `notifications` only takes part in the rules from v6.
  const notifications = version.notificationsPowerLevels
    ? parseLevelMap(version, content.notifications, 'notifications', false)
    : new Map<string, number>();
  if (typeof notifications === 'string') return deny(notifications);
  const users = parseLevelMap(version, content.users, 'users', true);
  if (typeof users === 'string') return deny(users);

  if (version.privilegedCreators) {
    for (const u of users.keys()) {
      if (isRoomCreator(ctx.create, u)) return deny(`power_levels: users contains room creator ${u}`);
    }
  }

  const previous: PDU | undefined = ctx.powerLevels;
  if (!previous) return ALLOW;
  const old = isJsonObject(previous.content) ? previous.content : {};
  const senderLevel = levelOf(ctx, event.sender);

  for (const k of SCALAR_KEYS) {
    const before = parsePowerLevel(version, old[k]);
    const after = scalars.get(k);
    if (before === after) continue;
    if (before !== undefined && before > senderLevel) {
      return deny(`power_levels: cannot change ${k}: current level ${before} is above the sender's level ${senderLevel}`);
    }
    if (after !== undefined && after > senderLevel) {
      return deny(`power_levels: cannot change ${k}: new level ${after} is above the sender's level ${senderLevel}`);
    }
  }

  const eventsReason = checkMapChanges(readLevelMap(version, old.events), events, senderLevel, 'events');
  if (eventsReason) return deny(eventsReason);
  if (version.notificationsPowerLevels) {
    const r = checkMapChanges(readLevelMap(version, old.notifications), notifications, senderLevel, 'notifications');
    if (r) return deny(r);
  }

  const oldUsers = readLevelMap(version, old.users);
  for (const [u, level] of oldUsers) {
    if (u === event.sender || users.get(u) === level) continue;
    if (level >= senderLevel) {
      return deny(`power_levels: users: cannot change or remove ${u}, whose level ${level} is not below the sender's ${senderLevel}`);
    }
  }
  for (const [u, level] of users) {
    if (oldUsers.get(u) !== level && level > senderLevel) {
      return deny(`power_levels: users: cannot set ${u} to ${level}, above the sender's level ${senderLevel}`);
    }
  }
  return ALLOW;
}
