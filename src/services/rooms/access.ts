// What of a room a user may read. Members and former members may open the room, and anyone may
// open a world_readable one; which of its events they then see is history visibility's answer
// (./visibility.ts) per event. Former members see the state as of their leave.
import { forbidden, notFound } from '../../http/errors.js';
import type { StoredEvent } from '../../storage/events.js';
import { matchesEventFilter, type RoomEventFilter } from '../sync/filter.js';
import type { LoadedRoom } from './loaded-room.js';
import type { RoomService } from './service.js';
import { historyVisibilityOf, type HistoryViewer } from './visibility.js';

export interface RoomView {
  room: LoadedRoom;
  membership: string | undefined;
  /** Who reads, for the visibility rule. */
  viewer: HistoryViewer;
  /** Highest stream position the user may read. */
  upto: number;
  /** State snapshot the user sees; undefined = the current state. */
  stateRoot?: number;
}

export async function viewRoom(rooms: RoomService, roomId: string, userId: string): Promise<RoomView> {
  const room = await rooms.getRoom(roomId);
  if (!room) throw forbidden('You are not a member of this room');
  const membership = room.members.get(userId);
  const worldReadable =
    membership !== 'join' && historyVisibilityOf((await rooms.currentStateEvent(room, 'm.room.history_visibility', ''))?.pdu.content) === 'world_readable';
  const { viewer, leave } = await rooms.visibility.viewerFor(room, userId, worldReadable);
  if (membership === 'join' || worldReadable) return { room, membership, viewer, upto: viewer.horizon };
  // Outside world_readable rooms, only those who joined at some point may read.
  if (viewer.lastJoin < 0) throw forbidden('You are not a member of this room');
  return { room, membership, viewer, upto: viewer.horizon, ...(leave ? { stateRoot: leave.stateAfter ?? 0 } : {}) };
}

/** The event, if it is in this room's timeline and the viewer may see it; 404 otherwise (the spec's answer to both). */
export async function readableEvent(rooms: RoomService, view: RoomView, eventId: string): Promise<StoredEvent> {
  const ev = await rooms.events.byId(eventId);
  if (!ev || ev.roomId !== view.room.roomId || !(await rooms.visibility.userMaySee(view.viewer, ev))) throw notFound('Event not found');
  return ev;
}

/** How many events one page may look at: hidden history must not make a request scan a room. */
const MAX_SCAN = 1000;

/**
 * Up to `limit` visible events from position `from` (exclusive going forwards, inclusive going
 * backwards), not past `to` nor `now`, matching `filter`. `end` is where to continue, or
 * undefined when the room has no more in that direction. A page may hold fewer than `limit`
 * events (with an `end`) when it stopped after looking at MAX_SCAN events.
 */
export async function readPage(
  rooms: RoomService,
  view: RoomView,
  backwards: boolean,
  from: number,
  to: number | undefined,
  limit: number,
  now: number,
  filter?: RoomEventFilter,
): Promise<{ chunk: StoredEvent[]; end: number | undefined }> {
  const chunk: StoredEvent[] = [];
  let cursor = from;
  let more = true;
  let scanned = 0;
  const bound = backwards ? (to ?? 0) : Math.min(to ?? Number.MAX_SAFE_INTEGER, view.upto, now);
  while (chunk.length < limit && more && scanned < MAX_SCAN) {
    const want = Math.max(limit - chunk.length, 20);
    const batch = backwards
      ? await rooms.events.roomRange(view.room.roomId, bound, cursor, want, true)
      : await rooms.events.roomRange(view.room.roomId, cursor, bound, want, false);
    scanned += batch.length;
    let i = 0;
    for (; i < batch.length && chunk.length < limit; i++) {
      const e = batch[i]!;
      cursor = backwards ? e.streamOrdering! - 1 : e.streamOrdering!;
      if (matchesEventFilter(filter, e.pdu) && (await rooms.visibility.userMaySee(view.viewer, e))) chunk.push(e);
    }
    if (i < batch.length) break; // stopped inside the batch: there is more
    if (batch.length < want) more = false;
  }
  return { chunk, end: more ? cursor : undefined };
}

/** The room state after the last event at or before `stream`, if the viewer may see that point. */
export async function stateRootAtFor(rooms: RoomService, view: RoomView, stream: number): Promise<number> {
  const [last] = await rooms.events.roomRange(view.room.roomId, -1, Math.min(stream, view.upto), 1, true);
  if (last && !(await rooms.visibility.userMaySee(view.viewer, last))) throw forbidden('You may not see the room at that point');
  return last?.stateAfter ?? 0;
}
