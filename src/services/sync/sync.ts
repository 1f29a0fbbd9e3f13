// /sync: builds the response from in-memory room windows where it can, and long-polls on the
// notifier. A waiting sync costs nothing until one of its user's streams changes.
import { MatrixError } from '../../http/errors.js';
import type { StoredEvent } from '../../storage/events.js';
import { splitStateKey, stateKey } from '../../storage/state-tree.js';
import type { ServerContext } from '../context.js';
import type { LoadedRoom } from '../rooms/loaded-room.js';
import { formatEvents, strippedEvent } from '../rooms/format.js';
import { formatPageToken } from '../rooms/tokens.js';
import type { HistoryViewer } from '../rooms/visibility.js';
import { makeSharedPart, useSharedPart, type SharedRoomPart } from './serialize.js';
import { matchesEventFilter, roomAllowed, type Filter, type RoomEventFilter } from './filter.js';
import { formatSyncToken, parseSyncToken, type JoinedRoomSync, type SyncRequestContext, type SyncResponse, type SyncToken } from './types.js';

export interface SyncOptions {
  since?: string;
  timeoutMs: number;
  fullState: boolean;
  filter: Filter;
  setPresence?: string;
}

const DEFAULT_TIMELINE_LIMIT = 10;
const STRIPPED_STATE = ['m.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.encryption', 'm.room.topic'];

function emptyResponse(next: SyncToken): SyncResponse {
  return {
    next_batch: formatSyncToken(next),
    rooms: { join: {}, invite: {}, leave: {}, knock: {} },
    presence: { events: [] },
    account_data: { events: [] },
    to_device: { events: [] },
    device_lists: { changed: [], left: [] },
    device_one_time_keys_count: {},
    device_unused_fallback_key_types: [],
  };
}

function hasContent(r: SyncResponse): boolean {
  return (
    Object.keys(r.rooms.join).length > 0 ||
    Object.keys(r.rooms.invite).length > 0 ||
    Object.keys(r.rooms.leave).length > 0 ||
    Object.keys(r.rooms.knock).length > 0 ||
    r.presence.events.length > 0 ||
    r.account_data.events.length > 0 ||
    r.to_device.events.length > 0 ||
    r.device_lists.changed.length > 0 ||
    r.device_lists.left.length > 0
  );
}

/** How long a shared room part is reused (and so how stale `unsigned.age` can be). */
const SHARED_TTL_MS = 500;

export class SyncService {
  private readonly shared = new Map<string, Promise<SharedRoomPart>>();
  private sharedEpoch = 0;

  constructor(private readonly ctx: ServerContext) {}

  async sync(userId: string, deviceId: string, opts: SyncOptions, signal?: AbortSignal): Promise<SyncResponse> {
    let since: SyncToken | null = null;
    if (opts.since) {
      since = parseSyncToken(opts.since) ?? null;
      if (!since) throw new MatrixError(400, 'M_INVALID_PARAM', 'invalid since token');
      // A token from before a restart may carry an ephemeral count above today's: resend those.
      if (since.ephemeral > this.ctx.notifier.ephemeralPosition) since = { ...since, ephemeral: 0 };
    }
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const seq = this.ctx.notifier.seqOf(userId);
      const upto: SyncToken = { stream: this.ctx.streams.position, ephemeral: this.ctx.notifier.ephemeralPosition };
      const res = await this.build(userId, deviceId, since, upto, opts);
      if (!since || opts.fullState || hasContent(res) || Date.now() >= deadline || signal?.aborted) return res;
      // Something for this user arrived while building: build again rather than wait.
      if (this.ctx.notifier.seqOf(userId) !== seq) continue;
      await this.ctx.notifier.wait(userId, deadline - Date.now(), signal);
      if (this.ctx.notifier.seqOf(userId) === seq) return res; // timed out or aborted
    }
  }

  private async build(userId: string, deviceId: string, since: SyncToken | null, upto: SyncToken, opts: SyncOptions): Promise<SyncResponse> {
    const { rooms } = this.ctx;
    const res = emptyResponse(upto);
    const memberships = await rooms.userMemberships(userId);
    const roomFilter = opts.filter.room;
    const joined: string[] = [];
    const work: Array<Promise<void>> = [];
    for (const [roomId, m] of memberships) {
      if (m.stream > upto.stream || !roomAllowed(roomFilter, roomId)) continue;
      const changed = !since || m.stream > since.stream;
      if (m.membership === 'join') {
        joined.push(roomId);
        // Joined now, at stream m.stream: what history visibility needs to know (no lookup).
        const viewer: HistoryViewer = { userId, joinedSince: m.stream, lastJoin: m.stream, horizon: Number.MAX_SAFE_INTEGER };
        work.push(this.joinedRoom(res, roomId, viewer, deviceId, changed || opts.fullState ? null : since, upto, opts));
      } else if (m.membership === 'invite' && changed) {
        work.push(this.strippedRoom(roomId, userId).then((events) => void (res.rooms.invite[roomId] = { invite_state: { events } })));
      } else if (m.membership === 'knock' && changed) {
        work.push(this.strippedRoom(roomId, userId).then((events) => void (res.rooms.knock[roomId] = { knock_state: { events } })));
      } else if ((m.membership === 'leave' || m.membership === 'ban') && changed && (since || roomFilter?.include_leave)) {
        work.push(this.leftRoom(res, roomId, userId, deviceId, since, upto, opts));
      }
    }
    await Promise.all(work);

    const ctxForContributors: SyncRequestContext = {
      userId,
      deviceId,
      since,
      upto,
      fullState: opts.fullState,
      joinedRoomIds: joined,
      filter: opts.filter,
      ...(opts.setPresence ? { setPresence: opts.setPresence } : {}),
    };
    const roomPart = (roomId: string): JoinedRoomSync => (res.rooms.join[roomId] ??= emptyJoined());
    for (const c of this.ctx.syncContributors) await c.contribute(ctxForContributors, res, roomPart);
    return res;
  }

  /** A joined room's part: incremental from `since`, or whole (initial sync, new join, full_state). */
  private async joinedRoom(res: SyncResponse, roomId: string, reader: HistoryViewer, deviceId: string, since: SyncToken | null, upto: SyncToken, opts: SyncOptions): Promise<void> {
    const userId = reader.userId;
    const room = await this.ctx.rooms.getRoom(roomId);
    if (!room) return;
    if (since && room.lastStream <= since.stream) return; // nothing new: the common case
    const tf = opts.filter.room?.timeline;
    const limit = tf?.limit ?? DEFAULT_TIMELINE_LIMIT;
    const from = since?.stream ?? 0;
    const { events, limited } = await this.timeline(room, from, upto.stream, limit, reader, tf);
    if (since && events.length === 0 && !limited) return;

    const rooms = this.ctx.rooms;
    const viewer = { userId, deviceId };
    let stateEvents: StoredEvent[];
    const first = events[0];
    if (since && !limited) {
      stateEvents = []; // every state change is in the timeline
    } else if (since) {
      // State changes between `since` and the start of the timeline.
      const before = await this.stateRootAt(room, since.stream);
      const diff = await rooms.tree.diff(before, first?.stateBefore ?? before);
      const nids = [...diff.values()].filter((n): n is number => n !== null);
      stateEvents = [...(await rooms.events.byNids(nids)).values()];
    } else {
      const root = first?.stateBefore ?? (await this.stateRootAt(room, upto.stream));
      stateEvents = await this.stateFor(room, root, events, userId, tf);
    }
    if (tf?.lazy_load_members && since) stateEvents = this.lazyMembers(stateEvents, events, userId);
    const sf = opts.filter.room?.state;
    stateEvents = stateEvents.filter((e) => matchesEventFilter(sf, e.pdu));

    const part = (res.rooms.join[roomId] ??= emptyJoined());
    const prevBatch = formatPageToken(first ? first.streamOrdering! - 1 : from);
    const shared = await this.sharedPart(room, events, limited, prevBatch, stateEvents, viewer);
    if (shared) {
      useSharedPart(part, shared);
    } else {
      part.timeline = { events: await formatEvents(rooms.events, room.version, events, viewer), limited, prev_batch: prevBatch };
      part.state = { events: await formatEvents(rooms.events, room.version, stateEvents, viewer) };
    }
    // Incremental syncs repeat the summary only when the membership changed.
    if (!since || room.lastMembershipStream > since.stream) part.summary = room.summaryFor(userId);
  }

  /**
   * Timeline and state formatted and serialized once for every sync that sends exactly these
   * events (see serialize.ts). The key is what is sent, not how it was chosen, so per-user
   * filtering (filters, history visibility) must happen before this. Entries live at most
   * SHARED_TTL_MS, the error this allows in `unsigned.age`. Undefined when the slice holds
   * one of the viewer's own sends, whose `transaction_id` only that device sees.
   */
  private sharedPart(room: LoadedRoom, events: StoredEvent[], limited: boolean, prevBatch: string, state: StoredEvent[], viewer: { userId: string; deviceId: string }): Promise<SharedRoomPart> | undefined {
    const mine = (e: StoredEvent) => e.txnId !== null && e.txnDevice === viewer.deviceId && e.pdu.sender === viewer.userId;
    if (events.some(mine) || state.some(mine)) return undefined;
    const now = Date.now();
    if (now - this.sharedEpoch > SHARED_TTL_MS) {
      this.shared.clear();
      this.sharedEpoch = now;
    }
    // Redaction changes an event's form: its state is part of the key.
    let key = `${room.roomId}\n${limited ? 1 : 0}${prevBatch}`;
    for (const e of events) key += e.redactedBy === null ? `,${e.nid}` : `,${e.nid}r`;
    key += ';';
    for (const e of state) key += e.redactedBy === null ? `,${e.nid}` : `,${e.nid}r`;
    let p = this.shared.get(key);
    if (!p) {
      const ev = this.ctx.rooms.events;
      p = Promise.all([formatEvents(ev, room.version, events, undefined, now), formatEvents(ev, room.version, state, undefined, now)]).then(([t, s]) =>
        makeSharedPart({ events: t, limited, prev_batch: prevBatch }, { events: s }),
      );
      this.shared.set(key, p);
      p.catch(() => this.shared.delete(key));
    }
    return p;
  }

  /** The last `limit` matching events the viewer may see with from < stream <= to, and whether there were more. */
  private async timeline(room: LoadedRoom, from: number, to: number, limit: number, viewer: HistoryViewer, filter?: RoomEventFilter): Promise<{ events: StoredEvent[]; limited: boolean }> {
    let candidates: StoredEvent[];
    let complete: boolean;
    if (room.timelineFrom <= from) {
      // The in-memory window holds every event of the range; walk back from the newest, so a
      // woken sync pays for the new events only, not for the whole window.
      const w = room.timeline;
      let end = w.length;
      while (end > 0 && w[end - 1]!.streamOrdering! > to) end--;
      let start = end;
      while (start > 0 && w[start - 1]!.streamOrdering! > from) start--;
      candidates = w.slice(start, end);
      complete = true;
    } else {
      const n = Math.max(limit * 4, 50);
      candidates = (await this.ctx.rooms.events.roomRange(room.roomId, from, to, n, true)).reverse();
      complete = candidates.length < n;
    }
    const matching = candidates.filter((e) => matchesEventFilter(filter, e.pdu));
    const visible = await this.ctx.rooms.visibility.lastVisible(viewer, matching, limit + 1);
    return { events: visible.slice(-limit), limited: visible.length > limit || !complete };
  }

  /** The room's state after the last event at or before `stream`. */
  private async stateRootAt(room: LoadedRoom, stream: number): Promise<number> {
    for (let i = room.timeline.length - 1; i >= 0; i--) {
      const e = room.timeline[i]!;
      if (e.streamOrdering! <= stream && e.stateAfter !== null) return e.stateAfter;
    }
    const [row] = await this.ctx.sql<{ state_after: string | null }[]>`
      SELECT state_after::text FROM events WHERE room_id = ${room.roomId} AND stream_ordering <= ${stream}
      ORDER BY stream_ordering DESC LIMIT 1`;
    return row?.state_after ? Number(row.state_after) : 0;
  }

  /** State at `root`, trimmed to the members the timeline needs when members are lazy-loaded. */
  private async stateFor(room: LoadedRoom, root: number, timeline: StoredEvent[], userId: string, tf?: RoomEventFilter): Promise<StoredEvent[]> {
    const rooms = this.ctx.rooms;
    const entries = root === room.root ? room.state : await rooms.tree.entries(root);
    if (!tf?.lazy_load_members) return [...(await rooms.events.byNids([...entries.values()])).values()];
    // Everything but member events, plus the members the timeline shows (and the user).
    const wanted = new Set([userId, ...timeline.map((e) => e.pdu.sender)]);
    const nids: number[] = [];
    for (const [k, nid] of entries) {
      const [type, sk] = splitStateKey(k);
      if (type !== 'm.room.member' || wanted.has(sk)) nids.push(nid);
    }
    return [...(await rooms.events.byNids(nids)).values()];
  }

  private lazyMembers(state: StoredEvent[], timeline: StoredEvent[], userId: string): StoredEvent[] {
    const wanted = new Set([userId, ...timeline.map((e) => e.pdu.sender)]);
    return state.filter((e) => e.pdu.type !== 'm.room.member' || wanted.has(e.pdu.state_key!));
  }

  private async strippedRoom(roomId: string, userId: string) {
    const room = await this.ctx.rooms.getRoom(roomId);
    if (!room) return [];
    const nids = [...STRIPPED_STATE.map((t) => room.state.get(stateKey(t, ''))), room.state.get(stateKey('m.room.member', userId))].filter(
      (n): n is number => n !== undefined,
    );
    const found = await this.ctx.rooms.events.byNids(nids);
    return nids.map((n) => found.get(n)).filter((e): e is StoredEvent => !!e).map(strippedEvent);
  }

  /** A room the user left since `since`: its timeline up to the leave, as history visibility allows. */
  private async leftRoom(res: SyncResponse, roomId: string, userId: string, deviceId: string, since: SyncToken | null, upto: SyncToken, opts: SyncOptions): Promise<void> {
    const room = await this.ctx.rooms.getRoom(roomId);
    if (!room) return;
    const { viewer } = await this.ctx.rooms.visibility.viewerFor(room, userId, false);
    const tf = opts.filter.room?.timeline;
    const from = since?.stream ?? 0;
    const { events, limited } = await this.timeline(room, from, Math.min(viewer.horizon, upto.stream), tf?.limit ?? DEFAULT_TIMELINE_LIMIT, viewer, tf);
    const first = events[0];
    res.rooms.leave[roomId] = {
      state: { events: [] },
      timeline: {
        events: await formatEvents(this.ctx.rooms.events, room.version, events, { userId, deviceId }),
        limited,
        prev_batch: formatPageToken(first ? first.streamOrdering! - 1 : from),
      },
      account_data: { events: [] },
    };
  }
}

export function emptyJoined(): JoinedRoomSync {
  return {
    timeline: { events: [], limited: false },
    state: { events: [] },
    ephemeral: { events: [] },
    account_data: { events: [] },
    unread_notifications: { highlight_count: 0, notification_count: 0 },
    summary: {},
  };
}
