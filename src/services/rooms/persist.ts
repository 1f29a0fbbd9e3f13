// Writes a batch of a room's new events in one transaction: events and edges, state snapshots,
// the room's current state, extremities and memberships.
import { isStateEvent } from '../../events/pdu.js';
import { redactsOf, type EventStore, type StoredEvent } from '../../storage/events.js';
import { asSql, type Sql } from '../../storage/pool.js';
import { stateKey, type StateTree } from '../../storage/state-tree.js';
import type { LoadedRoom } from './loaded-room.js';

export interface PersistDeps {
  sql: Sql;
  events: EventStore;
  tree: StateTree;
}

/**
 * Persists `batch` (already applied to `room` in memory, in order). `room.root` is the state
 * root before the batch; on success it becomes the root after it. `createRoom` inserts the
 * rooms row first.
 */
export async function persistBatch(
  deps: PersistDeps,
  room: LoadedRoom,
  batch: StoredEvent[],
  createRoom?: { creator: string; isPublic: boolean },
): Promise<void> {
  const { sql, events, tree } = deps;
  await sql.begin(async (tx) => {
    if (createRoom) {
      await tx`INSERT INTO rooms (room_id, room_version, creator, created_ts, is_public)
        VALUES (${room.roomId}, ${room.version.id}, ${createRoom.creator}, ${Date.now()}, ${createRoom.isPublic})`;
    } else {
      // Serialises writers to this room across processes too.
      await tx`SELECT 1 FROM rooms WHERE room_id = ${room.roomId} FOR UPDATE`;
    }
    let root = room.root;
    const stateRows = new Map<string, { room_id: string; type: string; state_key: string; event_nid: number }>();
    const memberRows = new Map<string, { room_id: string; user_id: string; membership: string; event_nid: number; stream_ordering: number }>();
    const redactions: Array<[redacted: string, by: string]> = [];
    for (const e of batch) {
      e.stateBefore = root;
      if (isStateEvent(e.pdu) && !e.rejected) {
        root = await tree.update(root, new Map([[stateKey(e.pdu.type, e.pdu.state_key!), e.nid]]), asSql(tx));
        stateRows.set(`${e.pdu.type}\u0000${e.pdu.state_key}`, { room_id: room.roomId, type: e.pdu.type, state_key: e.pdu.state_key!, event_nid: e.nid });
        if (e.pdu.type === 'm.room.member') {
          memberRows.set(e.pdu.state_key!, {
            room_id: room.roomId,
            user_id: e.pdu.state_key!,
            membership: String(e.pdu.content.membership),
            event_nid: e.nid,
            stream_ordering: e.streamOrdering!,
          });
        }
      }
      e.stateAfter = root;
      const redacts = redactsOf(e.pdu);
      if (redacts) redactions.push([redacts, e.eventId]);
    }
    await events.insert(asSql(tx), batch);
    await tx`UPDATE rooms SET current_state_root = ${root}, max_depth = GREATEST(max_depth, ${room.maxDepth}) WHERE room_id = ${room.roomId}`;
    await tx`DELETE FROM forward_extremities WHERE room_id = ${room.roomId}`;
    await tx`INSERT INTO forward_extremities ${tx(room.extremities.map((x) => ({ room_id: room.roomId, event_id: x.eventId })))}`;
    if (stateRows.size) {
      await tx`INSERT INTO current_state ${tx([...stateRows.values()])}
        ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_nid = EXCLUDED.event_nid`;
    }
    if (memberRows.size) {
      await tx`INSERT INTO room_memberships ${tx([...memberRows.values()])}
        ON CONFLICT (room_id, user_id) DO UPDATE SET membership = EXCLUDED.membership, event_nid = EXCLUDED.event_nid,
          stream_ordering = EXCLUDED.stream_ordering, forgotten = false`;
    }
    for (const [redacted, by] of redactions) {
      await tx`UPDATE events SET redacted_by = ${by} WHERE event_id = ${redacted} AND room_id = ${room.roomId} AND redacted_by IS NULL`;
    }
    room.root = root;
  });
}
