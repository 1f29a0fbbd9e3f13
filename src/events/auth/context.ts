// What every rule consults: the event, the auth state, the create and power-levels events.
import type { RoomVersion } from '../room-versions.js';
import type { PDU } from '../pdu.js';
import type { AuthOptions, AuthStateLookup } from './types.js';
import { levelsOf, userLevel, type Levels } from './power-levels.js';

export interface AuthContext {
  version: RoomVersion;
  event: PDU;
  state: AuthStateLookup;
  options: AuthOptions;
  create: PDU;
  /** The current m.room.power_levels event, if any. */
  powerLevels: PDU | undefined;
}

/** A user's current membership, or undefined when they have no member event. */
export function membershipOf(ctx: AuthContext, userId: string): unknown {
  return ctx.state('m.room.member', userId)?.content?.membership;
}

export function levelOf(ctx: AuthContext, userId: string): number {
  return userLevel(ctx.version, ctx.create, ctx.powerLevels, userId);
}

export function levels(ctx: AuthContext): Levels {
  return levelsOf(ctx.version, ctx.powerLevels);
}

/**
 * The current join rule. Without an m.room.join_rules event the room is treated as
 * invite-only: the spec gives no default, and this is the one under which invites still work.
 */
export function joinRuleOf(ctx: AuthContext): unknown {
  const ev = ctx.state('m.room.join_rules', '');
  return ev ? ev.content?.join_rule : 'invite';
}
