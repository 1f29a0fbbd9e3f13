// Room aliases, room directory visibility and the local published room directory.
import { userLevel, requiredLevel } from '../../events/auth/index.js';
import { serverNameOf } from '../../events/identifiers.js';
import { forbidden, MatrixError, notFound } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { Request } from '../../http/types.js';
import type { ServerContext } from '../../services/context.js';
import type { LoadedRoom } from '../../services/rooms/loaded-room.js';
import { viewRoom } from '../../services/rooms/access.js';
import { clientRoute } from './routes.js';
import { jsonObject } from './params.js';
import { z } from 'zod';
import { params, roomAlias, roomId } from './schemas.js';

const byAlias = params({ roomAlias });
const byRoom = params({ roomId });

function parseAlias(alias: string): string {
  if (!/^#[^:\s]+:.+$/.test(alias) || Buffer.byteLength(alias) > 255) throw new MatrixError(400, 'M_INVALID_PARAM', 'invalid room alias');
  return alias;
}

export function registerDirectory(router: Router, ctx: ServerContext): void {
  const rooms = ctx.rooms;

  clientRoute(router, 'PUT', '/directory/room/{roomAlias}', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const alias = parseAlias(req.params.roomAlias!);
    if (serverNameOf(alias) !== ctx.config.server_name) throw new MatrixError(400, 'M_INVALID_PARAM', 'alias must be on this server');
    const roomId = jsonObject(req).room_id;
    if (typeof roomId !== 'string') throw new MatrixError(400, 'M_INVALID_PARAM', 'room_id is required');
    const room = await rooms.getRoom(roomId);
    if (!room) throw notFound('Unknown room');
    if (room.members.get(user.userId) !== 'join' && !user.isAdmin) throw forbidden('You are not in this room');
    if (!(await rooms.aliases.create(alias, roomId, user.userId))) throw new MatrixError(409, 'M_UNKNOWN', 'Room alias already exists');
    return { body: {} };
  }, { schema: { params: byAlias, body: z.looseObject({ room_id: roomId }) } });

  clientRoute(router, 'GET', '/directory/room/{roomAlias}', async (req) => {
    const alias = parseAlias(req.params.roomAlias!);
    const roomId = await rooms.aliases.resolve(alias);
    if (!roomId) throw notFound('Room alias not found');
    return { body: { room_id: roomId, servers: [ctx.config.server_name] } };
  }, { schema: { params: byAlias } });

  clientRoute(router, 'DELETE', '/directory/room/{roomAlias}', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const alias = parseAlias(req.params.roomAlias!);
    const roomId = await rooms.aliases.resolve(alias);
    if (!roomId) throw notFound('Room alias not found');
    const creator = await rooms.aliases.creatorOf(alias);
    if (creator !== user.userId && !user.isAdmin) {
      // Room moderators who may change the canonical alias may also remove aliases.
      const room = await rooms.getRoom(roomId);
      if (!room || !(await mayChangeState(room, user.userId, 'm.room.canonical_alias'))) throw forbidden('You may not remove this alias');
    }
    await rooms.aliases.delete(alias);
    return { body: {} };
  }, { schema: { params: byAlias } });

  clientRoute(router, 'GET', '/rooms/{roomId}/aliases', async (req) => {
    const user = await ctx.auth.requireUser(req);
    await viewRoom(rooms, req.params.roomId!, user.userId);
    return { body: { aliases: await rooms.aliases.forRoom(req.params.roomId!) } };
  }, { schema: { params: byRoom } });

  async function mayChangeState(room: LoadedRoom, userId: string, type: string): Promise<boolean> {
    if (room.members.get(userId) !== 'join') return false;
    const pl = (await rooms.currentStateEvent(room, 'm.room.power_levels', ''))?.pdu;
    return userLevel(room.version, room.createEvent.pdu, pl, userId) >= requiredLevel(room.version, pl, type, true);
  }

  clientRoute(router, 'GET', '/directory/list/room/{roomId}', async (req) => {
    const [row] = await ctx.sql<{ is_public: boolean }[]>`SELECT is_public FROM rooms WHERE room_id = ${req.params.roomId!}`;
    if (!row) throw notFound('Unknown room');
    return { body: { visibility: row.is_public ? 'public' : 'private' } };
  }, { schema: { params: byRoom } });

  clientRoute(router, 'PUT', '/directory/list/room/{roomId}', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const v = jsonObject(req).visibility ?? 'public';
    if (v !== 'public' && v !== 'private') throw new MatrixError(400, 'M_INVALID_PARAM', 'visibility must be public or private');
    const room = await rooms.getRoom(req.params.roomId!);
    if (!room) throw notFound('Unknown room');
    if (!user.isAdmin && !(await mayChangeState(room, user.userId, 'm.room.canonical_alias'))) throw forbidden('You may not publish this room');
    await ctx.sql`UPDATE rooms SET is_public = ${v === 'public'} WHERE room_id = ${room.roomId}`;
    return { body: {} };
  }, { schema: { params: byRoom, body: z.looseObject({ visibility: z.string().optional() }) } });

  const publicRooms = async (req: Request, body: Record<string, unknown>) => {
    const server = req.query.get('server') ?? (typeof body.server === 'string' ? body.server : undefined);
    if (server && server !== ctx.config.server_name) throw new MatrixError(404, 'M_NOT_FOUND', 'Federated room directories are not available yet');
    const limitRaw = body.limit ?? (req.query.get('limit') !== null ? Number(req.query.get('limit')) : undefined);
    if (limitRaw !== undefined && (!Number.isInteger(limitRaw) || (limitRaw as number) < 0)) throw new MatrixError(400, 'M_INVALID_PARAM', 'limit must be a non-negative integer');
    const limit = Math.min((limitRaw as number | undefined) ?? 100, 500);
    const sinceRaw = (typeof body.since === 'string' ? body.since : undefined) ?? req.query.get('since') ?? undefined;
    const offset = sinceRaw ? Number(/^o(\d+)$/.exec(sinceRaw)?.[1]) : 0;
    if (!Number.isInteger(offset)) throw new MatrixError(400, 'M_INVALID_PARAM', 'invalid since token');
    const filter = body.filter as { generic_search_term?: unknown } | undefined;
    const term = typeof filter?.generic_search_term === 'string' ? filter.generic_search_term.toLowerCase() : undefined;

    const ids = (await ctx.sql<{ room_id: string }[]>`SELECT room_id FROM rooms WHERE is_public`).map((r) => r.room_id);
    const chunk: Array<Record<string, unknown>> = [];
    for (const id of ids) {
      const room = await rooms.getRoom(id);
      if (!room) continue;
      const content = async (type: string) => (await rooms.currentStateEvent(room, type, ''))?.pdu.content ?? {};
      const entry: Record<string, unknown> = {
        room_id: id,
        num_joined_members: room.countMembers('join'),
        world_readable: (await content('m.room.history_visibility')).history_visibility === 'world_readable',
        guest_can_join: (await content('m.room.guest_access')).guest_access === 'can_join',
        join_rule: (await content('m.room.join_rules')).join_rule ?? 'invite',
      };
      const name = (await content('m.room.name')).name;
      const topic = (await content('m.room.topic')).topic;
      const alias = (await content('m.room.canonical_alias')).alias;
      const avatar = (await content('m.room.avatar')).url;
      const roomType = room.createEvent.pdu.content.type;
      if (typeof name === 'string') entry.name = name;
      if (typeof topic === 'string') entry.topic = topic;
      if (typeof alias === 'string') entry.canonical_alias = alias;
      if (typeof avatar === 'string') entry.avatar_url = avatar;
      if (typeof roomType === 'string') entry.room_type = roomType;
      if (term && ![name, topic, alias].some((s) => typeof s === 'string' && s.toLowerCase().includes(term))) continue;
      chunk.push(entry);
    }
    chunk.sort((a, b) => (b.num_joined_members as number) - (a.num_joined_members as number) || String(a.room_id).localeCompare(String(b.room_id)));
    const page = chunk.slice(offset, offset + limit);
    const out: Record<string, unknown> = { chunk: page, total_room_count_estimate: chunk.length };
    if (offset + limit < chunk.length) out.next_batch = `o${offset + limit}`;
    if (offset > 0) out.prev_batch = `o${Math.max(0, offset - limit)}`;
    return { body: out };
  };
  const publicQuery = z.looseObject({ server: z.string().optional(), limit: z.string().optional(), since: z.string().optional() });
  clientRoute(router, 'GET', '/publicRooms', (req) => publicRooms(req, {}), { schema: { query: publicQuery } });
  clientRoute(router, 'POST', '/publicRooms', async (req) => {
    await ctx.auth.requireUser(req);
    return publicRooms(req, jsonObject(req));
  }, {
    schema: {
      query: publicQuery,
      body: z.looseObject({
        limit: z.number().int().nonnegative().optional(),
        since: z.string().optional(),
        server: z.string().optional(),
        filter: z.looseObject({ generic_search_term: z.string().optional() }).optional(),
      }),
    },
  });
}
