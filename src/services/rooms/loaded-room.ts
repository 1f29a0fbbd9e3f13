// A room as the server keeps it in memory while it is in use: current state (key → event nid),
// forward extremities, memberships and a window of recent events for sync. Only the event
// service mutates it, inside the room's serialised persistence queue.
import type { RoomVersion } from '../../events/room-versions.js';
import { requireRoomVersion } from '../../events/room-versions.js';
import type { EventStore, StoredEvent } from '../../storage/events.js';
import type { Sql } from '../../storage/pool.js';

/** How many recent events each loaded room keeps for sync. */
export const TIMELINE_WINDOW = 200;
/** Transaction ids remembered per room. */
const MAX_TXNS = 5_000;

/** A transaction's key within its room. Unambiguous: device and txn ids never hold NUL (storableText). */
export const txnKey = (sender: string, deviceId: string, txnId: string) => `${sender}\u0000${deviceId}\u0000${txnId}`;

export class LoadedRoom {
  /** Recent events in stream order; `timelineFrom` is the stream position they start after. */
  timeline: StoredEvent[] = [];
  timelineFrom = 0;
  /**
   * Recent transaction ids (txnKey) → the event they sent, so a client's retry resolves to the
   * same event. A bounded cache, warmed from the recent events window on load; the room service
   * asks the database (events_txn) for the ids it misses, so retries work at any age.
   */
  readonly txns = new Map<string, StoredEvent>();

  constructor(
    /** Whether a user id belongs to this server. */
    private readonly isLocal: (userId: string) => boolean,
    readonly roomId: string,
    readonly version: RoomVersion,
    readonly createEvent: StoredEvent,
    public root: number,
    public maxDepth: number,
    public extremities: StoredEvent[],
    /** Current state: `${type}\0${state_key}` → event nid. */
    readonly state: Map<string, number>,
    /** Current membership of every user with a member event. */
    readonly members: Map<string, string>,
  ) {
    for (const [u, m] of members) if (m === 'join' && isLocal(u)) this.localJoined.add(u);
  }

  /** Stream position of the newest event, or of the window's start when there is none. */
  get lastStream(): number {
    const last = this.timeline[this.timeline.length - 1];
    return last?.streamOrdering ?? this.timelineFrom;
  }

  rememberTxn(key: string, e: StoredEvent): void {
    this.txns.set(key, e);
    if (this.txns.size > MAX_TXNS) this.txns.delete(this.txns.keys().next().value as string);
  }

  pushTimeline(e: StoredEvent): void {
    this.timeline.push(e);
    if (this.timeline.length > TIMELINE_WINDOW) {
      const dropped = this.timeline.splice(0, this.timeline.length - TIMELINE_WINDOW);
      this.timelineFrom = dropped[dropped.length - 1]!.streamOrdering!;
    }
  }

  /** Stream position of the latest member event (sync sends the summary only after one). */
  lastMembershipStream = 0;
  private summaryCache?: { joined: number; invited: number; heroCandidates: string[] };

  /** Local users joined now: whom a new event wakes. Kept with `members` by setMembership. */
  readonly localJoined = new Set<string>();

  setMembership(userId: string, membership: string, stream: number | null): void {
    this.members.set(userId, membership);
    if (membership === 'join' && this.isLocal(userId)) this.localJoined.add(userId);
    else this.localJoined.delete(userId);
    if (stream !== null) this.lastMembershipStream = Math.max(this.lastMembershipStream, stream);
    this.summaryCache = undefined;
  }

  countMembers(membership: string): number {
    const s = this.summaryBase();
    return membership === 'join' ? s.joined : membership === 'invite' ? s.invited : [...this.members.values()].filter((m) => m === membership).length;
  }

  /** The m.room summary as `userId` sees it; counts and hero candidates are computed once per membership change. */
  summaryFor(userId: string): Record<string, unknown> {
    const s = this.summaryBase();
    return {
      'm.heroes': s.heroCandidates.filter((u) => u !== userId).slice(0, 5),
      'm.joined_member_count': s.joined,
      'm.invited_member_count': s.invited,
    };
  }

  private summaryBase() {
    if (!this.summaryCache) {
      let joined = 0;
      let invited = 0;
      const present: string[] = [];
      for (const [u, m] of this.members) {
        if (m === 'join') joined++;
        else if (m === 'invite') invited++;
        else continue;
        present.push(u);
      }
      present.sort();
      this.summaryCache = { joined, invited, heroCandidates: present.slice(0, 6) };
    }
    return this.summaryCache;
  }
}

export async function loadRoom(sql: Sql, events: EventStore, roomId: string, isLocal: (userId: string) => boolean): Promise<LoadedRoom | undefined> {
  const [room] = await sql<{ room_version: string; current_state_root: string; max_depth: string; forward_extremities: string[] }[]>`
    SELECT room_version, current_state_root::text, max_depth::text, forward_extremities FROM rooms WHERE room_id = ${roomId}`;
  if (!room) return undefined;
  const version = requireRoomVersion(room.room_version);
  const stateRows = await sql<{ type: string; state_key: string; event_nid: string }[]>`
    SELECT type, state_key, event_nid::text FROM current_state WHERE room_id = ${roomId}`;
  const state = new Map<string, number>();
  for (const r of stateRows) state.set(`${r.type}\u0000${r.state_key}`, Number(r.event_nid));
  const createNid = state.get('m.room.create\u0000');
  if (createNid === undefined) throw new Error(`room ${roomId} has no create event in its current state`);
  const memberRows = await sql<{ user_id: string; membership: string; stream_ordering: string }[]>`
    SELECT user_id, membership, stream_ordering::text FROM room_memberships WHERE room_id = ${roomId}`;
  const members = new Map(memberRows.map((r) => [r.user_id, r.membership]));
  const extIds = room.forward_extremities;
  const ext = await events.byIds(extIds);
  const create = (await events.byNids([createNid])).get(createNid)!;
  const loaded = new LoadedRoom(
    isLocal,
    roomId,
    version,
    create,
    Number(room.current_state_root),
    Number(room.max_depth),
    extIds.map((id) => ext.get(id)!).filter(Boolean),
    state,
    members,
  );
  for (const r of memberRows) loaded.lastMembershipStream = Math.max(loaded.lastMembershipStream, Number(r.stream_ordering));
  // Fill the recent-events window so that syncs are served from memory.
  const recent = await events.roomRange(roomId, 0, Number.MAX_SAFE_INTEGER, TIMELINE_WINDOW, true);
  recent.reverse();
  loaded.timeline = recent;
  for (const e of recent) if (e.txnId && e.txnDevice) loaded.rememberTxn(txnKey(e.pdu.sender, e.txnDevice, e.txnId), e);
  const [before] = await sql<{ s: string | null }[]>`
    SELECT max(stream_ordering)::text AS s FROM events WHERE room_id = ${roomId}
      AND stream_ordering < ${recent[0]?.streamOrdering ?? Number.MAX_SAFE_INTEGER}`;
  loaded.timelineFrom = before?.s ? Number(before.s) : 0;
  return loaded;
}
