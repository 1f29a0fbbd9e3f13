// History visibility: THE rule for "may this user / this server see this event". Every read path
// (/messages, /event, /context, /members?at, /sync, and federation later) asks here.
//
// The rule is the client-server spec's ("Room History Visibility", server behaviour), decided
// on the state of the room *at the event*, i.e. the state the event was sent into (its
// state_before root): a setting applies to the events sent while it is in force, and cannot be
// changed retrospectively.
//   1. history_visibility world_readable → allow;
//   2. the user's membership was join → allow;
//   3. shared, and the user joined at some point after the event → allow;
//   4. the user's membership was invite, and invited → allow;
//   5. otherwise deny.
// An m.room.history_visibility event is visible if the setting before *or* after it allows it;
// the user's own m.room.member event is visible if their membership before *or* after it does.
// Missing or unknown settings count as shared. Outside world_readable, a user must have joined
// the room to see anything, and after leaving sees nothing sent after the leave. One addition,
// as in Synapse: a user always sees their own invite end (rejected, withdrawn, banned).
//
// Cost: a user joined now reading events after their join (every incremental sync) is allowed
// by one comparison of stream positions, with no state lookup. Otherwise the setting and the
// user's membership are looked up once per state root (roots are immutable, so the caches never
// go stale) and shared by the runs of messages that reuse one root.
import { serverNameOf } from '../../events/identifiers.js';
import type { EventStore, StoredEvent } from '../../storage/events.js';
import { splitStateKey, stateKey, type StateTree } from '../../storage/state-tree.js';
import { Lru } from '../../util/lru.js';
import type { LoadedRoom } from './loaded-room.js';

export type HistoryVisibility = 'world_readable' | 'shared' | 'invited' | 'joined';

const HV_KEY = stateKey('m.room.history_visibility', '');

/** The setting an m.room.history_visibility content selects: unset or unknown means shared. */
export function historyVisibilityOf(content: unknown): HistoryVisibility {
  const v = (content as { history_visibility?: unknown } | undefined)?.history_visibility;
  return v === 'world_readable' || v === 'invited' || v === 'joined' ? v : 'shared';
}

function membershipOf(content: unknown): string | undefined {
  const m = (content as { membership?: unknown } | undefined)?.membership;
  return typeof m === 'string' ? m : undefined;
}

/** What the rule needs to know about the user beyond the state at each event. */
export interface HistoryViewer {
  userId: string;
  /** Stream position of the user's current member event when they are joined now, else null. */
  joinedSince: number | null;
  /** Stream position of the user's latest join (a member event with membership join); -1 if never. */
  lastJoin: number;
  /** Nothing after this stream position is visible (the leave of a former member). */
  horizon: number;
}

/**
 * The spec's steps 1–5 for a user, given the setting and the user's membership at an event.
 * `joinedLater`: the user joined after the event; `everJoined`: the user has joined at all.
 */
export function userAllowedAt(hv: HistoryVisibility, membership: string | undefined, joinedLater: boolean, everJoined: boolean): boolean {
  if (hv === 'world_readable') return true;
  // "In all cases except world_readable, a user needs to join a room to view events."
  if (!everJoined) return false;
  if (membership === 'join') return true;
  if (hv === 'shared' && joinedLater) return true;
  return hv === 'invited' && membership === 'invite';
}

/** What a server's users' memberships were at an event. */
export interface ServerPresence {
  joined: boolean;
  invited: boolean;
}

/**
 * Whether a server may be sent an event (backfill, /event, get_missing_events), given the
 * setting and its users' memberships at the event. The server-server API defers to the
 * client-server rule; lifted to a server, as Synapse does: world_readable and shared history is
 * what any of its users who are in the room may read, so it may have it (the federation
 * endpoint checks the server is in the room at all); otherwise one of its users must have been
 * joined, or invited under `invited`. Callers that must keep the DAG whole send a denied event
 * redacted rather than omit it.
 */
export function serverAllowedAt(hv: HistoryVisibility, presence: ServerPresence): boolean {
  if (hv === 'world_readable' || hv === 'shared') return true;
  if (presence.joined) return true;
  return hv === 'invited' && presence.invited;
}

const NONE = ''; // cached "no membership" (the caches cannot store undefined)

export class RoomVisibility {
  /** state root → the setting in force. */
  private readonly hvByRoot = new Lru<number, HistoryVisibility>(50_000);
  /** `${root}\0${userId}` → the user's membership at that root, NONE when absent. */
  private readonly memberByRoot = new Lru<string, string>(200_000);
  /** `${root}\0${server}` → that server's users' memberships at that root. */
  private readonly serverByRoot = new Lru<string, ServerPresence>(20_000);

  constructor(
    private readonly events: EventStore,
    private readonly tree: StateTree,
  ) {}

  /** The setting in force in the state snapshot `root`. */
  async visibilityAt(root: number): Promise<HistoryVisibility> {
    const hit = this.hvByRoot.get(root);
    if (hit) return hit;
    const nid = await this.tree.get(root, HV_KEY);
    const ev = nid === undefined ? undefined : (await this.events.byNids([nid])).get(nid);
    const hv = historyVisibilityOf(ev?.pdu.content);
    this.hvByRoot.set(root, hv);
    return hv;
  }

  /** The user's membership in the state snapshot `root`. */
  async membershipAt(root: number, userId: string): Promise<string | undefined> {
    const key = `${root}\u0000${userId}`;
    const hit = this.memberByRoot.get(key);
    if (hit !== undefined) return hit === NONE ? undefined : hit;
    const nid = await this.tree.get(root, stateKey('m.room.member', userId));
    const ev = nid === undefined ? undefined : (await this.events.byNids([nid])).get(nid);
    const m = membershipOf(ev?.pdu.content);
    this.memberByRoot.set(key, m ?? NONE);
    return m;
  }

  /**
   * What the rule needs about `userId` in `room`: from the in-memory room when they are joined
   * now (no query), otherwise from their member events. `worldReadableNow` lifts the leave
   * horizon: anyone may read what is world_readable, member or not.
   */
  async viewerFor(room: LoadedRoom, userId: string, worldReadableNow: boolean): Promise<{ viewer: HistoryViewer; leave?: StoredEvent }> {
    if (room.members.get(userId) === 'join') {
      const nid = room.state.get(stateKey('m.room.member', userId));
      const ev = nid === undefined ? undefined : (await this.events.byNids([nid])).get(nid);
      const s = ev?.streamOrdering ?? null;
      if (s !== null) return { viewer: { userId, joinedSince: s, lastJoin: s, horizon: Number.MAX_SAFE_INTEGER } };
    }
    const history = await this.events.memberHistory(room.roomId, userId);
    let last = -1; // index of the latest join
    for (let i = 0; i < history.length; i++) if (history[i]!.membership === 'join') last = i;
    const lastJoin = last >= 0 ? history[last]!.stream : -1;
    // The member event that ended that join: the user sees nothing after it.
    const leaveRow = last >= 0 ? history[last + 1] : undefined;
    const leave = leaveRow ? (await this.events.byNids([leaveRow.nid])).get(leaveRow.nid) : undefined;
    // Never joined: nothing but world_readable events and their own member events are visible
    // anyway; stop at their latest member event.
    const horizon = worldReadableNow ? Number.MAX_SAFE_INTEGER : last < 0 ? (history[history.length - 1]?.stream ?? -1) : (leaveRow?.stream ?? Number.MAX_SAFE_INTEGER);
    return { viewer: { userId, joinedSince: null, lastJoin, horizon }, ...(leave ? { leave } : {}) };
  }

  /**
   * The answer without any lookup, when there is one: the common case of a user joined now
   * reading events sent after that join. The state at such an event has the user joined: one
   * writer per room appends events in stream order, so the state before it includes the join.
   */
  private quick(viewer: HistoryViewer, e: StoredEvent): boolean | undefined {
    const s = e.streamOrdering;
    if (s === null || s > viewer.horizon) return false; // outliers are not in the room's timeline
    if (viewer.joinedSince !== null && s > viewer.joinedSince) return true;
    return undefined;
  }

  /** Whether the viewer may see `e`. */
  async userMaySee(viewer: HistoryViewer, e: StoredEvent): Promise<boolean> {
    return this.quick(viewer, e) ?? this.decide(viewer, e);
  }

  private async decide(viewer: HistoryViewer, e: StoredEvent): Promise<boolean> {
    const s = e.streamOrdering!;
    const root = e.stateBefore ?? 0;
    const hv = await this.visibilityAt(root);
    const later = viewer.lastJoin > s;
    const ever = viewer.lastJoin >= 0;
    // Decided by the setting alone when it can be, before looking the membership up.
    if (hv === 'world_readable' || (hv === 'shared' && later && ever)) return true;
    const m = await this.membershipAt(root, viewer.userId);
    if (userAllowedAt(hv, m, later, ever)) return true;
    if (e.pdu.type === 'm.room.history_visibility' && e.pdu.state_key === '') return userAllowedAt(historyVisibilityOf(e.pdu.content), m, later, ever);
    if (e.pdu.type === 'm.room.member' && e.pdu.state_key === viewer.userId) {
      const after = membershipOf(e.pdu.content);
      // Beyond the spec, as Synapse: the end of an invite the user was shown (rejected,
      // withdrawn, banned) is theirs to see, or their client would show the invite forever.
      if (m === 'invite' && (after === 'leave' || after === 'ban')) return true;
      return userAllowedAt(hv, after, later, ever);
    }
    return false;
  }

  /** The last `n` events of `list` the viewer may see (checked newest first, stopping at n). */
  async lastVisible(viewer: HistoryViewer, list: readonly StoredEvent[], n: number): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for (let i = list.length - 1; i >= 0 && out.length < n; i--) {
      const e = list[i]!;
      if (this.quick(viewer, e) ?? (await this.decide(viewer, e))) out.push(e);
    }
    return out.reverse();
  }

  /** The memberships of `server`'s users in the snapshot `root`. */
  async serverPresenceAt(root: number, server: string): Promise<ServerPresence> {
    const key = `${root}\u0000${server}`;
    const hit = this.serverByRoot.get(key);
    if (hit) return hit;
    const nids: number[] = [];
    for (const [k, nid] of await this.tree.entries(root)) {
      const [type, sk] = splitStateKey(k);
      if (type === 'm.room.member' && serverNameOf(sk) === server) nids.push(nid);
    }
    const found = await this.events.byNids(nids);
    const p: ServerPresence = { joined: false, invited: false };
    for (const ev of found.values()) {
      const m = membershipOf(ev.pdu.content);
      if (m === 'join') p.joined = true;
      else if (m === 'invite') p.invited = true;
    }
    this.serverByRoot.set(key, p);
    return p;
  }

  /** Whether `server` may see `e` (the entry point for federation). */
  async serverMaySee(server: string, e: StoredEvent): Promise<boolean> {
    const root = e.stateBefore ?? 0;
    const hv = await this.visibilityAt(root);
    if (hv === 'world_readable' || hv === 'shared') return true;
    const p = await this.serverPresenceAt(root, server);
    if (serverAllowedAt(hv, p)) return true;
    // As for users: the setting after a history_visibility event, and the membership after a
    // member event of one of the server's users, count too.
    if (e.pdu.type === 'm.room.history_visibility' && e.pdu.state_key === '') return serverAllowedAt(historyVisibilityOf(e.pdu.content), p);
    if (e.pdu.type === 'm.room.member' && e.pdu.state_key !== undefined && serverNameOf(e.pdu.state_key) === server) {
      const m = membershipOf(e.pdu.content);
      return serverAllowedAt(hv, { joined: p.joined || m === 'join', invited: p.invited || m === 'invite' });
    }
    return false;
  }
}
