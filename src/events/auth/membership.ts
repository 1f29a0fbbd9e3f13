// Authorisation rules for m.room.member events (rule "If type is m.room.member" in each
// room version), including knocking (v7+), restricted joins (v8+, knock_restricted v10+) and
// third-party invites.
import { isJsonObject, referencedEventId } from '../pdu.js';
import { isValidUserId, serverNameOf } from '../identifiers.js';
import { eventIdOf } from '../event-id.js';
import { creatorOf } from './power-levels.js';
import { eventSignedByServer, verifyThirdPartyInviteSigned } from './signatures.js';
import { joinRuleOf, levelOf, levels, membershipOf, type AuthContext } from './context.js';
import { ALLOW, deny, type AuthResult } from './types.js';

export function checkMembership(ctx: AuthContext): AuthResult {
  const { event, version } = ctx;
  const target = event.state_key;
  const content = event.content;
  if (target === undefined) return deny('membership: event has no state_key');
  const membership = content.membership;
  if (membership === undefined) return deny('membership: content has no membership');

  if (version.restrictedJoinRule && Object.hasOwn(content, 'join_authorised_via_users_server')) {
    const via = content.join_authorised_via_users_server;
    if (typeof via !== 'string' || !isValidUserId(via)) {
      return deny('membership: join_authorised_via_users_server is not a valid user id');
    }
    if (!eventSignedByServer(version, event, serverNameOf(via)!, ctx.options)) {
      return deny("membership: join_authorised_via_users_server: event is not validly signed by the authorising user's server");
    }
  }

  switch (membership) {
    case 'join':
      return checkJoin(ctx, target);
    case 'invite':
      return checkInvite(ctx, target);
    case 'leave':
      return checkLeave(ctx, target);
    case 'ban':
      return checkBan(ctx, target);
    case 'knock':
      if (version.knocking) return checkKnock(ctx, target);
      break;
  }
  return deny(`membership: unknown membership ${JSON.stringify(membership)}`);
}

function checkJoin(ctx: AuthContext, target: string): AuthResult {
  const { event, version, create } = ctx;
  const sender = event.sender;
  // The creator's own first join, straight after the create event.
  if (
    event.prev_events.length === 1 &&
    target === creatorOf(version, create) &&
    referencedEventId(event.prev_events, 0) === eventIdOf(version, create)
  ) {
    return ALLOW;
  }
  if (sender !== target) return deny('membership: join: sender does not match state_key');
  const current = membershipOf(ctx, sender);
  if (current === 'ban') return deny('membership: join: user is banned');

  const rule = joinRuleOf(ctx);
  if (rule === 'invite' || (version.knocking && rule === 'knock')) {
    if (current === 'invite' || current === 'join') return ALLOW;
    return deny(`membership: join: join rule is ${rule} and user is not invited or joined`);
  }
  if ((version.restrictedJoinRule && rule === 'restricted') || (version.knockRestrictedJoinRule && rule === 'knock_restricted')) {
    if (current === 'invite' || current === 'join') return ALLOW;
    const via = event.content.join_authorised_via_users_server;
    if (typeof via !== 'string') {
      return deny(`membership: join: ${rule}: no join_authorised_via_users_server for a user not invited or joined`);
    }
    if (membershipOf(ctx, via) !== 'join') {
      return deny(`membership: join: ${rule}: authorising user is not joined to the room`);
    }
    if (levelOf(ctx, via) < levels(ctx).invite) {
      return deny(`membership: join: ${rule}: authorising user's power level is below the invite level`);
    }
    return ALLOW;
  }
  if (rule === 'public') return ALLOW;
  return deny(`membership: join: join rule ${JSON.stringify(rule)} does not allow joining`);
}

function checkThirdPartyInvite(ctx: AuthContext, target: string, tpi: unknown): AuthResult {
  const { event, version } = ctx;
  if (membershipOf(ctx, target) === 'ban') return deny('membership: invite: third_party_invite: target user is banned');
  const signed = isJsonObject(tpi) ? tpi.signed : undefined;
  if (!isJsonObject(signed)) return deny('membership: invite: third_party_invite: has no signed object');
  const { mxid, token } = signed;
  if (typeof mxid !== 'string' || typeof token !== 'string') {
    return deny('membership: invite: third_party_invite: signed has no mxid and token');
  }
  if (mxid !== target) return deny('membership: invite: third_party_invite: signed mxid does not match state_key');
  const invite = ctx.state('m.room.third_party_invite', token);
  if (!invite) return deny('membership: invite: third_party_invite: no m.room.third_party_invite event for the token');
  if (invite.sender !== event.sender) {
    return deny('membership: invite: third_party_invite: sender does not match the sender of the m.room.third_party_invite');
  }
  if (ctx.options.skipSignatureChecks || verifyThirdPartyInviteSigned(version, signed, invite.content ?? {})) return ALLOW;
  return deny("membership: invite: third_party_invite: no signature in signed matches the invite's public keys");
}

function checkInvite(ctx: AuthContext, target: string): AuthResult {
  const { event } = ctx;
  if (Object.hasOwn(event.content, 'third_party_invite')) {
    return checkThirdPartyInvite(ctx, target, event.content.third_party_invite);
  }
  if (membershipOf(ctx, event.sender) !== 'join') return deny('membership: invite: sender is not joined to the room');
  const targetMembership = membershipOf(ctx, target);
  if (targetMembership === 'join') return deny('membership: invite: target user is already joined');
  if (targetMembership === 'ban') return deny('membership: invite: target user is banned');
  if (levelOf(ctx, event.sender) >= levels(ctx).invite) return ALLOW;
  return deny("membership: invite: sender's power level is below the invite level");
}

function checkLeave(ctx: AuthContext, target: string): AuthResult {
  const { event, version } = ctx;
  const sender = event.sender;
  if (sender === target) {
    const current = membershipOf(ctx, sender);
    if (current === 'invite' || current === 'join' || (version.knocking && current === 'knock')) return ALLOW;
    return deny(`membership: leave: user is not ${version.knocking ? 'invited, joined or knocking' : 'invited or joined'}`);
  }
  if (membershipOf(ctx, sender) !== 'join') return deny('membership: leave: sender is not joined to the room');
  const senderLevel = levelOf(ctx, sender);
  const l = levels(ctx);
  if (membershipOf(ctx, target) === 'ban' && senderLevel < l.ban) {
    return deny("membership: leave: target user is banned and sender's power level is below the ban level");
  }
  if (senderLevel < l.kick) return deny("membership: leave: sender's power level is below the kick level");
  if (levelOf(ctx, target) >= senderLevel) {
    return deny("membership: leave: target user's power level is not below the sender's");
  }
  return ALLOW;
}

function checkBan(ctx: AuthContext, target: string): AuthResult {
  const sender = ctx.event.sender;
  if (membershipOf(ctx, sender) !== 'join') return deny('membership: ban: sender is not joined to the room');
  const senderLevel = levelOf(ctx, sender);
  if (senderLevel < levels(ctx).ban) return deny("membership: ban: sender's power level is below the ban level");
  if (levelOf(ctx, target) >= senderLevel) return deny("membership: ban: target user's power level is not below the sender's");
  return ALLOW;
}

function checkKnock(ctx: AuthContext, target: string): AuthResult {
  const { event, version } = ctx;
  const rule = joinRuleOf(ctx);
  if (rule !== 'knock' && !(version.knockRestrictedJoinRule && rule === 'knock_restricted')) {
    return deny(`membership: knock: join rule ${JSON.stringify(rule)} does not allow knocking`);
  }
  if (event.sender !== target) return deny('membership: knock: sender does not match state_key');
  const current = membershipOf(ctx, event.sender);
  if (current === 'ban' || current === 'invite' || current === 'join') {
    return deny(`membership: knock: user is already ${current === 'ban' ? 'banned' : current === 'invite' ? 'invited' : 'joined'}`);
  }
  return ALLOW;
}
