// What of a room a user may read: members see everything; former members see the room up to
// the moment they left (events and state as of their leave); anyone sees a world_readable room.
import { forbidden } from '../../http/errors.js';
import { stateKey } from '../../storage/state-tree.js';
import type { LoadedRoom } from './loaded-room.js';
import type { RoomService } from './service.js';

export interface RoomView {
  room: LoadedRoom;
  membership: string | undefined;
  /** Highest stream position the user may read. */
  upto: number;
  /** State snapshot the user sees; undefined = the current state. */
  stateRoot?: number;
}

export async function viewRoom(rooms: RoomService, roomId: string, userId: string): Promise<RoomView> {
  const room = await rooms.getRoom(roomId);
  if (!room) throw forbidden('You are not a member of this room');
  const membership = room.members.get(userId);
  if (membership === 'join') return { room, membership, upto: Number.MAX_SAFE_INTEGER };
  const hv = await rooms.currentStateEvent(room, 'm.room.history_visibility', '');
  if (hv?.pdu.content.history_visibility === 'world_readable') return { room, membership, upto: Number.MAX_SAFE_INTEGER };
  if (membership === 'leave' || membership === 'ban') {
    const nid = room.state.get(stateKey('m.room.member', userId));
    const ev = nid !== undefined ? (await rooms.events.byNids([nid])).get(nid) : undefined;
    // Only a user who was joined before leaving saw the room; a rejected invite saw nothing.
    const wasJoined = ev?.replacesStateNid != null && (await rooms.events.byNids([ev.replacesStateNid])).get(ev.replacesStateNid)?.pdu.content.membership === 'join';
    if (ev && wasJoined && ev.streamOrdering !== null) return { room, membership, upto: ev.streamOrdering, stateRoot: ev.stateAfter ?? 0 };
  }
  throw forbidden('You are not a member of this room');
}
