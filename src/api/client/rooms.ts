// createRoom, joining, leaving and the other membership changes, joined_rooms, forget.
import { isValidUserId } from '../../events/identifiers.js';
import { forbidden, MatrixError, notFound } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { Request } from '../../http/types.js';
import type { ServerContext } from '../../services/context.js';
import { createRoom, parseCreateRoom } from '../../services/rooms/create-room.js';
import { clientRoute } from './routes.js';
import { jsonObject, optString } from './params.js';
import { z } from 'zod';
import { eventContent, eventType, hashable, membershipBody, params, roomId, roomIdOrAlias, stateKey, userId } from './schemas.js';

// Everything in a createRoom body ends up in an event, so all of it must be hashable. The user
// id grammar of `invite` is checked by parseCreateRoom (M_INVALID_PARAM).
const createRoomBody = z
  .looseObject({
    visibility: z.enum(['public', 'private']).optional(),
    room_alias_name: z.string().optional(),
    name: z.string().optional(),
    topic: z.string().optional(),
    invite: z.array(z.string()).optional(),
    room_version: z.string().optional(),
    creation_content: eventContent.optional(),
    initial_state: z.array(z.looseObject({ type: eventType, state_key: stateKey.optional(), content: eventContent })).optional(),
    preset: z.enum(['private_chat', 'public_chat', 'trusted_private_chat']).optional(),
    is_direct: z.boolean().optional(),
    power_level_content_override: eventContent.optional(),
  })
  .superRefine(hashable);

const inRoom = { params: params({ roomId }), body: membershipBody };
// user_id stays optional for invite: a third-party invite names no user (refused by the handler).
const aboutUser = (required: boolean) => ({
  params: params({ roomId }),
  body: z.looseObject({ user_id: required ? userId : userId.optional(), reason: z.string().nullish() }).superRefine(hashable),
});

function targetUser(body: Record<string, unknown>): string {
  const u = body.user_id;
  if (typeof u !== 'string') throw new MatrixError(400, 'M_MISSING_PARAM', 'user_id is required');
  if (!isValidUserId(u)) throw new MatrixError(400, 'M_INVALID_PARAM', 'user_id is not a valid user id');
  return u;
}

/** Resolves a room id or a local alias; remote aliases need federation. */
async function resolveRoom(ctx: ServerContext, idOrAlias: string): Promise<string> {
  if (idOrAlias.startsWith('#')) {
    const roomId = await ctx.rooms.aliases.resolve(idOrAlias);
    if (!roomId) throw notFound('Room alias not found');
    return roomId;
  }
  if (!idOrAlias.startsWith('!')) throw new MatrixError(400, 'M_INVALID_PARAM', 'not a room id or alias');
  return idOrAlias;
}

async function knownRoom(ctx: ServerContext, roomId: string) {
  const room = await ctx.rooms.getRoom(roomId);
  if (!room) throw notFound('Unknown room');
  return room;
}

export function registerRooms(router: Router, ctx: ServerContext): void {
  clientRoute(router, 'POST', '/createRoom', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const body = parseCreateRoom(jsonObject(req));
    const profile = await ctx.rooms.profileOf(user.userId);
    const { roomId, alias } = await createRoom(ctx.rooms, user.userId, body, profile);
    return { body: { room_id: roomId, ...(alias ? { room_alias: alias } : {}) } };
  }, { schema: { body: createRoomBody } });

  // join and knock: the user's own member event, in a room named by id or local alias.
  const own = (membership: 'join' | 'knock') => async (req: Request, idOrAlias: string) => {
    const user = await ctx.auth.requireUser(req);
    const reason = optString(jsonObject(req), 'reason');
    const room = await knownRoom(ctx, await resolveRoom(ctx, idOrAlias));
    const profile = await ctx.rooms.profileOf(user.userId);
    await ctx.rooms.send(room.roomId, {
      type: 'm.room.member',
      sender: user.userId,
      state_key: user.userId,
      content: { membership, ...profile, ...(reason ? { reason } : {}) },
    });
    return { body: { room_id: room.roomId } };
  };
  const join = own('join');
  const byIdOrAlias = { params: params({ roomIdOrAlias }), body: membershipBody };
  clientRoute(router, 'POST', '/join/{roomIdOrAlias}', (req) => join(req, req.params.roomIdOrAlias!), { schema: byIdOrAlias });
  clientRoute(router, 'POST', '/rooms/{roomId}/join', (req) => join(req, req.params.roomId!), { schema: inRoom });
  const knock = own('knock');
  clientRoute(router, 'POST', '/knock/{roomIdOrAlias}', (req) => knock(req, req.params.roomIdOrAlias!), { schema: byIdOrAlias });

  // invite, kick, ban, unban: a member event about another user.
  const about = (membership: 'invite' | 'leave' | 'ban', check?: (current: string | undefined) => void) => async (req: Request) => {
    const user = await ctx.auth.requireUser(req);
    const body = jsonObject(req);
    const target = targetUser(body);
    const reason = optString(body, 'reason');
    const room = await knownRoom(ctx, req.params.roomId!);
    check?.(room.members.get(target));
    const profile = membership === 'invite' && ctx.rooms.isLocalUser(target) ? await ctx.rooms.profileOf(target) : {};
    await ctx.rooms.send(room.roomId, {
      type: 'm.room.member',
      sender: user.userId,
      state_key: target,
      content: { membership, ...profile, ...(reason ? { reason } : {}) },
    });
    return { body: {} };
  };
  clientRoute(router, 'POST', '/rooms/{roomId}/invite', async (req) => {
    const body = jsonObject(req);
    if (body.user_id === undefined && (body.id_server !== undefined || body.medium !== undefined)) {
      throw new MatrixError(400, 'M_UNRECOGNIZED', 'third-party invites are not supported by this server');
    }
    return about('invite')(req);
  }, { schema: aboutUser(false) });
  clientRoute(router, 'POST', '/rooms/{roomId}/kick', about('leave', (m) => {
    if (m !== 'join' && m !== 'invite' && m !== 'knock') throw forbidden('The user is not in the room');
  }), { schema: aboutUser(true) });
  clientRoute(router, 'POST', '/rooms/{roomId}/ban', about('ban'), { schema: aboutUser(true) });
  clientRoute(router, 'POST', '/rooms/{roomId}/unban', about('leave', (m) => {
    if (m !== 'ban') throw forbidden('The user is not banned');
  }), { schema: aboutUser(true) });

  clientRoute(router, 'POST', '/rooms/{roomId}/leave', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const reason = optString(jsonObject(req), 'reason');
    const room = await knownRoom(ctx, req.params.roomId!);
    const m = room.members.get(user.userId);
    if (m === undefined || m === 'leave') {
      if (m === undefined) throw forbidden('You are not in this room');
      return { body: {} };
    }
    await ctx.rooms.send(room.roomId, {
      type: 'm.room.member',
      sender: user.userId,
      state_key: user.userId,
      content: { membership: 'leave', ...(reason ? { reason } : {}) },
    });
    return { body: {} };
  }, { schema: inRoom });

  clientRoute(router, 'POST', '/rooms/{roomId}/forget', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const roomId = req.params.roomId!;
    const m = await ctx.rooms.getMembership(roomId, user.userId);
    if (m === 'join' || m === 'invite' || m === 'knock') throw new MatrixError(400, 'M_UNKNOWN', 'Leave the room before forgetting it');
    if (m === undefined) throw notFound('You have never been in this room');
    await ctx.rooms.forget(roomId, user.userId);
    return { body: {} };
  }, { schema: { params: params({ roomId }), body: z.looseObject({}) } });

  clientRoute(router, 'GET', '/joined_rooms', async (req) => {
    const user = await ctx.auth.requireUser(req);
    return { body: { joined_rooms: await ctx.rooms.joinedRoomsOf(user.userId) } };
  }, { schema: {} });
}
