// Reading power levels: value formats per room version (integers; strings up to v9; floats up
// to v5), defaults, room creators (v12: infinite power), and the levels the rules name.
import type { RoomVersion } from '../room-versions.js';
import { isJsonObject, type PDU } from '../pdu.js';

const INTEGER_STRING = /^\s*[+-]?\d+\s*$/;

/**
 * A power-level value as the room version accepts it, or undefined when it is not one:
 * JSON integers always; integer strings (leading zeros, sign, surrounding whitespace) before
 * v10; floats, truncated towards zero, before v6.
 */
export function parsePowerLevel(version: RoomVersion, value: unknown): number | undefined {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value;
    if (version.floatPowerLevels && Number.isFinite(value)) return Math.trunc(value);
    return undefined;
  }
  if (typeof value === 'string' && !version.integerOnlyPowerLevels && INTEGER_STRING.test(value)) {
    return Number.parseInt(value.trim(), 10);
  }
  return undefined;
}

/** Scalar levels of a power-levels event with defaults applied ("Definitions" in the spec). */
export interface Levels {
  usersDefault: number;
  eventsDefault: number;
  stateDefault: number;
  ban: number;
  kick: number;
  redact: number;
  invite: number;
}

const NO_EVENT_LEVELS: Levels = Object.freeze({
  usersDefault: 0,
  eventsDefault: 0,
  stateDefault: 50,
  ban: 50,
  kick: 50,
  redact: 50,
  invite: 0,
});

interface CachedLevels {
  version: RoomVersion;
  levels: Levels;
}

// Parsed once per power-levels event object: state resolution checks many events against
// the same few power-levels events.
const cache = new WeakMap<object, CachedLevels>();

export function levelsOf(version: RoomVersion, pl: PDU | undefined): Levels {
  if (!pl) return NO_EVENT_LEVELS;
  const hit = cache.get(pl);
  if (hit && hit.version === version) return hit.levels;
  const c = isJsonObject(pl.content) ? pl.content : {};
  const get = (k: string, d: number): number => parsePowerLevel(version, c[k]) ?? d;
  const levels: Levels = {
    usersDefault: get('users_default', 0),
    eventsDefault: get('events_default', 0),
    stateDefault: get('state_default', 50),
    ban: get('ban', 50),
    kick: get('kick', 50),
    redact: get('redact', 50),
    invite: get('invite', 0),
  };
  cache.set(pl, { version, levels });
  return levels;
}

/** The user id the rules call "the creator" (v1–10: content.creator; v11+: the sender). */
export function creatorOf(version: RoomVersion, create: PDU): unknown {
  return version.creatorInContent ? create.content?.creator : create.sender;
}

/** v12: the sender of the create event or one of its `additional_creators`. */
export function isRoomCreator(create: PDU, userId: string): boolean {
  if (create.sender === userId) return true;
  const extra = create.content?.additional_creators;
  return Array.isArray(extra) && extra.includes(userId);
}

/** A user's power level; Infinity for v12 room creators. */
export function userLevel(version: RoomVersion, create: PDU, pl: PDU | undefined, userId: string): number {
  if (version.privilegedCreators && isRoomCreator(create, userId)) return Infinity;
  if (pl) {
    const users = pl.content?.users;
    if (isJsonObject(users) && Object.hasOwn(users, userId)) {
      const v = parsePowerLevel(version, users[userId]);
      if (v !== undefined) return v;
    }
    return levelsOf(version, pl).usersDefault;
  }
  // No power-levels event: the creator has 100 and everyone else 0 (v12 creators handled above).
  if (!version.privilegedCreators && creatorOf(version, create) === userId) return 100;
  return 0;
}

/** The level needed to send an event of `type` (state or not) — the "required power level". */
export function requiredLevel(version: RoomVersion, pl: PDU | undefined, type: string, isState: boolean): number {
  const levels = levelsOf(version, pl);
  if (pl) {
    const events = pl.content?.events;
    if (isJsonObject(events) && Object.hasOwn(events, type)) {
      const v = parsePowerLevel(version, events[type]);
      if (v !== undefined) return v;
    }
  }
  return isState ? levels.stateDefault : levels.eventsDefault;
}
