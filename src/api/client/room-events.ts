// Sending and reading room events: send, state, redact, event, /messages, /context, members.
import { levelsOf, userLevel } from '../../events/auth/index.js';
import { MAX_IDENTIFIER_BYTES, utf8Length } from '../../events/identifiers.js';
import { forbidden, MatrixError, notFound } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { Request } from '../../http/types.js';
import type { ServerContext } from '../../services/context.js';
import { readableEvent, readPage, stateRootAtFor, viewRoom, type RoomView } from '../../services/rooms/access.js';
import { formatEvents } from '../../services/rooms/format.js';
import { formatPageToken, parsePageToken } from '../../services/rooms/tokens.js';
import { parseFilter, type RoomEventFilter } from '../../services/sync/filter.js';
import type { StoredEvent } from '../../storage/events.js';
import { splitStateKey, stateKey } from '../../storage/state-tree.js';
import { clientRoute } from './routes.js';
import { jsonObject, optString } from './params.js';
import { z } from 'zod';
import { eventContent, eventId, eventType as eventTypeParam, hashable, params, roomId, stateKey as stateKeyParam, txnId } from './schemas.js';

const inRoom = { params: params({ roomId }) };
const stateParams = params({ roomId, eventType: eventTypeParam, stateKey: stateKeyParam });
const typeParams = params({ roomId, eventType: eventTypeParam });
const token = z.string().optional();
const pageQuery = z.looseObject({ from: token, to: token, dir: z.enum(['b', 'f']).optional(), limit: token, filter: token });

const MAX_PAGE = 1000;

function eventType(t: string): string {
  if (t === '' || utf8Length(t) > MAX_IDENTIFIER_BYTES) throw new MatrixError(400, 'M_INVALID_PARAM', 'invalid event type');
  return t;
}

function limitParam(req: Request, dflt: number): number {
  const raw = req.query.get('limit');
  if (raw === null) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new MatrixError(400, 'M_INVALID_PARAM', 'limit must be a non-negative integer');
  return Math.min(n, MAX_PAGE);
}

function roomEventFilter(req: Request): RoomEventFilter | undefined {
  const raw = req.query.get('filter');
  if (raw === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new MatrixError(400, 'M_INVALID_PARAM', 'filter is not JSON');
  }
  // A RoomEventFilter has the shape of a room timeline filter.
  return parseFilter({ room: { timeline: parsed } }).room?.timeline;
}

export function registerRoomEvents(router: Router, ctx: ServerContext): void {
  const rooms = ctx.rooms;

  clientRoute(router, 'PUT', '/rooms/{roomId}/send/{eventType}/{txnId}', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const content = jsonObject(req);
    const ev = await rooms.send(
      req.params.roomId!,
      { type: eventType(req.params.eventType!), sender: user.userId, content },
      { deviceId: user.deviceId, txnId: req.params.txnId! },
    );
    return { body: { event_id: ev.eventId } };
  }, { schema: { params: params({ roomId, eventType: eventTypeParam, txnId }), body: eventContent } });

  const putState = async (req: Request, sk: string) => {
    const user = await ctx.auth.requireUser(req);
    const content = jsonObject(req);
    const type = eventType(req.params.eventType!);
    if (utf8Length(sk) > MAX_IDENTIFIER_BYTES) throw new MatrixError(400, 'M_INVALID_PARAM', 'state_key too long');
    if (type === 'm.room.member') throw new MatrixError(400, 'M_BAD_JSON', 'use the membership endpoints to change memberships');
    if (type === 'm.room.create') throw forbidden('the create event cannot be replaced');
    const ev = await rooms.send(req.params.roomId!, { type, sender: user.userId, state_key: sk, content });
    return { body: { event_id: ev.eventId } };
  };
  clientRoute(router, 'PUT', '/rooms/{roomId}/state/{eventType}/{stateKey}', (req) => putState(req, req.params.stateKey!), { schema: { params: stateParams, body: eventContent } });
  clientRoute(router, 'PUT', '/rooms/{roomId}/state/{eventType}', (req) => putState(req, ''), { schema: { params: typeParams, body: eventContent } });
  clientRoute(router, 'PUT', '/rooms/{roomId}/state/{eventType}/', (req) => putState(req, ''), { schema: { params: typeParams, body: eventContent } });

  /** The state the viewer may see: current for members, as of leaving for former members. */
  const visibleState = async (view: RoomView): Promise<Map<string, number>> =>
    view.stateRoot === undefined ? view.room.state : rooms.tree.entries(view.stateRoot);

  const getState = async (req: Request, sk: string) => {
    const user = await ctx.auth.requireUser(req);
    const view = await viewRoom(rooms, req.params.roomId!, user.userId);
    const state = await visibleState(view);
    const nid = state.get(stateKey(req.params.eventType!, sk));
    const ev = nid !== undefined ? (await rooms.events.byNids([nid])).get(nid) : undefined;
    if (!ev) throw notFound('Event not found');
    const [formatted] = await formatEvents(rooms.events, view.room.version, [ev]);
    return { body: req.query.get('format') === 'event' ? formatted : formatted!.content };
  };
  const formatQuery = z.looseObject({ format: z.enum(['content', 'event']).optional() });
  clientRoute(router, 'GET', '/rooms/{roomId}/state/{eventType}/{stateKey}', (req) => getState(req, req.params.stateKey!), { schema: { params: stateParams, query: formatQuery } });
  clientRoute(router, 'GET', '/rooms/{roomId}/state/{eventType}', (req) => getState(req, ''), { schema: { params: typeParams, query: formatQuery } });
  clientRoute(router, 'GET', '/rooms/{roomId}/state/{eventType}/', (req) => getState(req, ''), { schema: { params: typeParams, query: formatQuery } });

  clientRoute(router, 'GET', '/rooms/{roomId}/state', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const view = await viewRoom(rooms, req.params.roomId!, user.userId);
    const nids = [...(await visibleState(view)).values()];
    const found = await rooms.events.byNids(nids);
    return { body: await formatEvents(rooms.events, view.room.version, nids.map((n) => found.get(n)!).filter(Boolean)) };
  }, { schema: inRoom });

  clientRoute(router, 'PUT', '/rooms/{roomId}/redact/{eventId}/{txnId}', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const reason = optString(jsonObject(req), 'reason');
    const room = await rooms.requireRoom(req.params.roomId!);
    const target = await rooms.events.byId(req.params.eventId!);
    if (!target || target.roomId !== room.roomId) throw notFound('Event not found');
    if (target.pdu.sender !== user.userId) {
      // Redacting someone else's event needs the `redact` power level.
      const create = room.createEvent.pdu;
      const pl = (await rooms.currentStateEvent(room, 'm.room.power_levels', ''))?.pdu;
      if (userLevel(room.version, create, pl, user.userId) < levelsOf(room.version, pl).redact) {
        throw forbidden("You may not redact other users' events");
      }
    }
    const ev = await rooms.send(
      room.roomId,
      { type: 'm.room.redaction', sender: user.userId, content: reason ? { reason } : {}, redacts: target.eventId },
      { deviceId: user.deviceId, txnId: req.params.txnId! },
    );
    return { body: { event_id: ev.eventId } };
  }, { schema: { params: params({ roomId, eventId, txnId }), body: z.looseObject({ reason: z.string().nullish() }).superRefine(hashable) } });

  clientRoute(router, 'GET', '/rooms/{roomId}/event/{eventId}', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const view = await viewRoom(rooms, req.params.roomId!, user.userId).catch(() => {
      throw notFound('Event not found');
    });
    const ev = await readableEvent(rooms, view, req.params.eventId!);
    const [formatted] = await formatEvents(rooms.events, view.room.version, [ev], user);
    return { body: formatted };
  }, { schema: { params: params({ roomId, eventId }) } });

  clientRoute(router, 'GET', '/rooms/{roomId}/messages', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const view = await viewRoom(rooms, req.params.roomId!, user.userId);
    const dir = req.query.get('dir') ?? 'b';
    if (dir !== 'b' && dir !== 'f') throw new MatrixError(400, 'M_INVALID_PARAM', 'dir must be b or f');
    const limit = limitParam(req, 10);
    const filter = roomEventFilter(req);
    const fromRaw = req.query.get('from');
    const toRaw = req.query.get('to');
    const now = Math.min(ctx.streams.position, view.upto);
    const from = fromRaw ? parsePageToken(fromRaw) : dir === 'b' ? now : 0;
    const to = toRaw ? parsePageToken(toRaw) : undefined;
    if (from === undefined || (toRaw && to === undefined)) throw new MatrixError(400, 'M_INVALID_PARAM', 'invalid pagination token');
    const { chunk, end } = await page(view, dir === 'b', Math.min(from, now), to, limit, filter);
    const events = await formatEvents(rooms.events, view.room.version, chunk, user);
    const body: Record<string, unknown> = { start: formatPageToken(Math.min(from, now)), chunk: events };
    if (end !== undefined) body.end = formatPageToken(end);
    if (filter?.lazy_load_members) body.state = await memberEventsOf(view, chunk);
    return { body };
  }, { schema: { ...inRoom, query: pageQuery } });

  const page = (view: RoomView, backwards: boolean, from: number, to: number | undefined, limit: number, filter?: RoomEventFilter) =>
    readPage(rooms, view, backwards, from, to, limit, ctx.streams.position, filter);

  async function memberEventsOf(view: RoomView, events: StoredEvent[]) {
    const state = await visibleState(view);
    const nids = [...new Set(events.map((e) => e.pdu.sender))].map((u) => state.get(stateKey('m.room.member', u))).filter((n): n is number => n !== undefined);
    const found = await rooms.events.byNids(nids);
    return formatEvents(rooms.events, view.room.version, nids.map((n) => found.get(n)!).filter(Boolean));
  }

  clientRoute(router, 'GET', '/rooms/{roomId}/context/{eventId}', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const view = await viewRoom(rooms, req.params.roomId!, user.userId);
    const limit = limitParam(req, 10);
    const filter = roomEventFilter(req);
    const ev = await readableEvent(rooms, view, req.params.eventId!);
    const pos = ev.streamOrdering!; // visible events are timeline events
    const half = Math.floor(limit / 2);
    const before = await page(view, true, pos - 1, undefined, half, filter);
    const after = await page(view, false, pos, undefined, limit - half, filter);
    const state = await rooms.stateEvents(view.room, ev.stateAfter ?? undefined);
    const fmt = (l: StoredEvent[]) => formatEvents(rooms.events, view.room.version, l, user);
    return {
      body: {
        event: (await fmt([ev]))[0],
        events_before: await fmt(before.chunk),
        events_after: await fmt(after.chunk),
        start: formatPageToken(before.end ?? 0),
        end: formatPageToken(after.end ?? pos),
        state: filter?.lazy_load_members ? await memberEventsOf(view, [...before.chunk, ev, ...after.chunk]) : await fmt(state),
      },
    };
  }, { schema: { params: params({ roomId, eventId }), query: pageQuery } });

  clientRoute(router, 'GET', '/rooms/{roomId}/members', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const view = await viewRoom(rooms, req.params.roomId!, user.userId);
    const at = req.query.get('at');
    let state = await visibleState(view);
    if (at !== null) {
      const pos = parsePageToken(at);
      if (pos === undefined) throw new MatrixError(400, 'M_INVALID_PARAM', 'invalid at token');
      state = await rooms.tree.entries(await stateRootAtFor(rooms, view, pos));
    }
    const membership = req.query.get('membership');
    const notMembership = req.query.get('not_membership');
    const nids: number[] = [];
    for (const [k, nid] of state) if (splitStateKey(k)[0] === 'm.room.member') nids.push(nid);
    const found = await rooms.events.byNids(nids);
    const list = nids
      .map((n) => found.get(n)!)
      .filter((e) => e && (!membership || e.pdu.content.membership === membership) && (!notMembership || e.pdu.content.membership !== notMembership));
    return { body: { chunk: await formatEvents(rooms.events, view.room.version, list) } };
  }, { schema: { ...inRoom, query: z.looseObject({ at: token, membership: token, not_membership: token }) } });

  clientRoute(router, 'GET', '/rooms/{roomId}/joined_members', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const view = await viewRoom(rooms, req.params.roomId!, user.userId);
    if (view.membership !== 'join') throw forbidden('You are not joined to this room');
    const nids: number[] = [];
    for (const [u, m] of view.room.members) {
      if (m !== 'join') continue;
      const nid = view.room.state.get(stateKey('m.room.member', u));
      if (nid !== undefined) nids.push(nid);
    }
    const found = await rooms.events.byNids(nids);
    const joined: Record<string, { display_name?: unknown; avatar_url?: unknown }> = {};
    for (const n of nids) {
      const e = found.get(n);
      if (!e) continue;
      joined[e.pdu.state_key!] = {
        ...(typeof e.pdu.content.displayname === 'string' ? { display_name: e.pdu.content.displayname } : {}),
        ...(typeof e.pdu.content.avatar_url === 'string' ? { avatar_url: e.pdu.content.avatar_url } : {}),
      };
    }
    return { body: { joined } };
  }, { schema: inRoom });

}
