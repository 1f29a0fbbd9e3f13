// Unread notification counts (spec: "Receiving notifications", "Marking notifications as read",
// "Threaded read receipts"): the push rules of each local joined member, other than the sender,
// are evaluated for every committed event; read receipts (m.read, m.read.private; unthreaded,
// main or per thread), the user's own events and joining move the user's read marks; /sync
// shows, per room and per thread, the notifications after the marks.
//
// Kept per room in memory, with the database as durable backing loaded on first use:
//   log    the notifying events in stream order, each with the outcome of most members and the
//          members that differ (push_events), so a message costs O(1) storage in a huge room;
//   marks  user → thread ('' = whole room) → stream ordering read up to (push_read_marks);
//   counts per user, computed from the log on first need and then kept current.
// Every change to a room goes through the room's queue, after the commit and off the send
// path: the send returns without waiting for evaluation. The queue is entered synchronously
// from the room service's and the receipt service's listeners, before they wake syncs, and the
// sync contributor waits for the queues of the rooms it reports, so the counts for an event
// are in the same response as the event.
import { isStateEvent, type PDU } from '../events/pdu.js';
import { userLevel } from '../events/auth/power-levels.js';
import { PushActionStore, type PushEventRow, type ReadMarkRow } from '../storage/push-actions.js';
import type { StoredEvent } from '../storage/events.js';
import { stateKey } from '../storage/state-tree.js';
import type { Logger } from '../util/logger.js';
import type { Sql } from '../storage/pool.js';
import type { LoadedRoom } from './rooms/loaded-room.js';
import type { RoomService } from './rooms/service.js';
import type { PushRulesService } from './push-rules.js';
import type { ReceiptsService, ReadReceipt } from './receipts.js';
import { EventScope, RuleTemplate, type Outcome } from './push-rules/compiled.js';
import { roomAllowed } from './sync/filter.js';
import type { JoinedRoomSync, SyncContributor, SyncRequestContext } from './sync/types.js';

interface LogEntry {
  stream: number;
  thread: string;
  sender: string;
  base: Outcome;
  exceptions: Map<string, Outcome> | null;
}

interface Counts {
  notification_count: number;
  highlight_count: number;
}

class RoomUnread {
  log: LogEntry[] = [];
  readonly marks = new Map<string, Map<string, number>>();
  /** Users whose counts are computed: thread → counts (threads with none are absent). */
  readonly counts = new Map<string, Map<string, Counts>>();
  queue: Promise<void> = Promise.resolve();
  /** Database writes, chained apart from `queue`: syncs wait for the counts, not the disk. */
  writes: Promise<void> = Promise.resolve();
  pending = 0;
  failed = false;

  mark(userId: string, thread: string): number {
    return this.marks.get(userId)?.get(thread) ?? 0;
  }

  /** Moves a mark forward; false when it was already there or beyond. */
  setMark(userId: string, thread: string, stream: number): boolean {
    let m = this.marks.get(userId);
    if (!m) this.marks.set(userId, (m = new Map()));
    if ((m.get(thread) ?? 0) >= stream) return false;
    m.set(thread, stream);
    return true;
  }

  /** Everything after the user's marks, from the newest entry back to the whole-room mark. */
  recount(userId: string): Map<string, Counts> {
    const out = new Map<string, Counts>();
    const floor = this.mark(userId, '');
    const marks = this.marks.get(userId);
    for (let i = this.log.length - 1; i >= 0; i--) {
      const e = this.log[i]!;
      if (e.stream <= floor) break;
      if ((marks?.get(e.thread) ?? 0) >= e.stream) continue;
      add(out, e.thread, outcomeFor(e, userId));
    }
    this.counts.set(userId, out);
    return out;
  }

  /** After a mark moved: a thread's mark needs only that thread recounted, back to the mark
   *  (recent, usually), not the whole log back to the whole-room mark. */
  markMoved(userId: string, thread: string): void {
    const counts = this.counts.get(userId);
    if (!counts) return; // computed on first need
    if (thread === '') {
      this.recount(userId);
      return;
    }
    const floor = Math.max(this.mark(userId, ''), this.mark(userId, thread));
    counts.delete(thread);
    for (let i = this.log.length - 1; i >= 0; i--) {
      const e = this.log[i]!;
      if (e.stream <= floor) break;
      if (e.thread === thread) add(counts, thread, outcomeFor(e, userId));
    }
  }

  countsOf(userId: string): Map<string, Counts> {
    return this.counts.get(userId) ?? this.recount(userId);
  }
}

function outcomeFor(e: LogEntry, userId: string): Outcome {
  if (e.sender === userId) return 0;
  return e.exceptions?.get(userId) ?? e.base;
}

function add(m: Map<string, Counts>, thread: string, o: Outcome): void {
  if (o === 0) return;
  let c = m.get(thread);
  if (!c) m.set(thread, (c = { notification_count: 0, highlight_count: 0 }));
  c.notification_count++;
  if (o === 2) c.highlight_count++;
}

/** The thread an event is in: its m.thread relation, or one found through up to 3 relations
 *  to events still in the event cache (a reaction to a threaded reply); else 'main'. */
function threadOf(pdu: PDU, rooms: RoomService): string {
  let rel = relatesTo(pdu);
  for (let hop = 0; hop < 3 && rel; hop++) {
    if (typeof rel.event_id !== 'string') break;
    if (rel.rel_type === 'm.thread') return rel.event_id;
    const parent = rooms.events.cached(rel.event_id);
    rel = parent ? relatesTo(parent.pdu) : undefined;
  }
  return 'main';
}

function relatesTo(pdu: PDU): { rel_type?: unknown; event_id?: unknown } | undefined {
  const r = (pdu.content as Record<string, unknown> | undefined)?.['m.relates_to'];
  return r && typeof r === 'object' && !Array.isArray(r) ? (r as { rel_type?: unknown; event_id?: unknown }) : undefined;
}

/** What evaluating a batch needs from the room as it was when the batch committed. */
interface BatchSnapshot {
  events: StoredEvent[];
  members: string[];
  memberCount: number;
  powerLevelsNid: number | undefined;
  createPdu: PDU;
  room: LoadedRoom;
}

export interface UnreadDeps {
  sql: Sql;
  log: Logger;
  rooms: RoomService;
  receipts: ReceiptsService;
  pushRules: PushRulesService;
}

export class UnreadService {
  readonly store: PushActionStore;
  private readonly rooms = new Map<string, RoomUnread>();
  /** user → template of their push rules, loaded in bulk; dropped when their rules change. */
  private readonly templateOf = new Map<string, RuleTemplate>();
  private readonly templates = new Map<string, RuleTemplate>();
  /** user → room → stream position at which their counts last changed (loaded per user). */
  private readonly changedAt = new Map<string, Map<string, number>>();
  private readonly changedLoading = new Map<string, { promise: Promise<Map<string, number>>; changes: Array<[string, number]> }>();

  constructor(private readonly deps: UnreadDeps) {
    this.store = new PushActionStore(deps.sql);
    deps.rooms.onEvents((room, events) => this.eventsCommitted(room, events));
    deps.receipts.onReceipt((r) => this.receiptStored(r));
    deps.pushRules.onChange((userId) => this.templateOf.delete(userId));
  }

  readonly contributor: SyncContributor = {
    name: 'unread',
    contribute: (req, res, roomPart) => this.contribute(req, res.rooms.join, roomPart),
  };

  // ---- Changes ----------------------------------------------------------------------------

  private eventsCommitted(room: LoadedRoom, events: StoredEvent[]): void {
    const snap: BatchSnapshot = {
      events,
      members: [...room.localJoined],
      memberCount: room.countMembers('join'),
      powerLevelsNid: room.state.get(stateKey('m.room.power_levels', '')),
      createPdu: room.createEvent.pdu,
      room,
    };
    this.enqueue(room.roomId, (st) => this.applyBatch(st, snap));
  }

  private receiptStored(r: ReadReceipt): void {
    // Marked now, before the receipt wakes the user's syncs: they include the room and wait for
    // its queue. (A receipt that turns out to read nothing new includes it once for nothing.)
    this.changed(r.userId, r.roomId, r.pos);
    this.enqueue(r.roomId, async (st) => {
      if (!st.setMark(r.userId, r.threadId, r.eventStream)) return;
      this.persist(st, r.roomId, [], [{ userId: r.userId, thread: r.threadId, stream: r.eventStream, changedPos: r.pos }]);
      st.markMoved(r.userId, r.threadId);
    });
  }

  private async applyBatch(st: RoomUnread, snap: BatchSnapshot): Promise<void> {
    const { rooms } = this.deps;
    const roomId = snap.room.roomId;
    const marks = new Map<string, ReadMarkRow>();
    const moveMark = (userId: string, thread: string, stream: number) => {
      if (!st.setMark(userId, thread, stream)) return;
      marks.set(`${userId}\u0000${thread}`, { userId, thread, stream, changedPos: stream });
    };
    // Joins: what came before never counts for the joiner. Profile changes are joins too, so
    // only a change into "join" moves the mark.
    const memberEvents = snap.events.filter((e) => e.pdu.type === 'm.room.member' && rooms.isLocalUser(e.pdu.state_key ?? ''));
    const previous = await rooms.events.byNids(memberEvents.map((e) => e.replacesStateNid).filter((n): n is number => n !== null));
    for (const e of memberEvents) {
      const before = e.replacesStateNid === null ? undefined : previous.get(e.replacesStateNid)?.pdu.content.membership;
      if (e.pdu.content.membership === 'join' && before !== 'join') moveMark(e.pdu.state_key!, '', e.streamOrdering!);
    }

    const templates = await this.templatesFor(snap.members);
    const pl = snap.powerLevelsNid === undefined ? undefined : (await rooms.events.byNids([snap.powerLevelsNid])).get(snap.powerLevelsNid)?.pdu;
    const notifications = pl && typeof pl.content.notifications === 'object' && pl.content.notifications !== null ? (pl.content.notifications as Record<string, unknown>) : undefined;
    let displayNames: Map<string, string> | undefined;
    const rows: PushEventRow[] = [];
    const outcomes = new Uint8Array(snap.members.length);
    for (const e of snap.events) {
      if (e.streamOrdering === null) continue;
      const stream = e.streamOrdering;
      const sender = e.pdu.sender;
      const thread = threadOf(e.pdu, rooms);
      // Sending an event reads its thread up to it.
      if (rooms.isLocalUser(sender)) moveMark(sender, thread, stream);
      const scope = new EventScope(e.pdu as unknown as Record<string, unknown>, {
        memberCount: snap.memberCount,
        senderPowerLevel: userLevel(snap.room.version, snap.createPdu, pl, sender),
        ...(notifications ? { notificationPowerLevels: notifications } : {}),
      });
      const tally = [0, 0, 0];
      for (let i = 0; i < snap.members.length; i++) {
        const u = snap.members[i]!;
        const t = templates.get(u)!;
        if (t.usesDisplayName && !displayNames && scope.program(t).usesDisplayName) displayNames = await this.displayNames(snap.room, snap.members);
        const o = scope.outcome(t, u, displayNames?.get(u));
        outcomes[i] = o;
        if (u !== sender) tally[o]!++;
      }
      const base: Outcome = tally[1]! >= tally[0]! && tally[1]! >= tally[2]! ? 1 : tally[2]! > tally[0]! ? 2 : 0;
      let exceptions: Map<string, Outcome> | null = null;
      for (let i = 0; i < snap.members.length; i++) {
        const u = snap.members[i]!;
        if (u === sender || outcomes[i] === base) continue;
        (exceptions ??= new Map()).set(u, outcomes[i] as Outcome);
      }
      if (base === 0 && !exceptions) continue;
      const entry: LogEntry = { stream, thread, sender, base, exceptions };
      st.log.push(entry);
      rows.push({ stream, thread, sender, base, exceptions: exceptions ? Object.fromEntries(exceptions) : null });
      for (const u of snap.members) {
        const o = outcomeFor(entry, u);
        if (o === 0 || stream <= st.mark(u, '') || stream <= st.mark(u, thread)) continue;
        const c = st.counts.get(u);
        if (c) add(c, thread, o);
        this.changed(u, roomId, stream);
      }
    }
    this.persist(st, roomId, rows, [...marks.values()]);
    for (const m of marks.values()) {
      st.markMoved(m.userId, m.thread);
      this.changed(m.userId, roomId, m.changedPos);
    }
  }

  /**
   * Writes behind the in-memory counts, in order per room. The rows are idempotent (events
   * insert once, marks only move forward), so a sync may report counts a moment before they are
   * durable; `close` waits for what is still being written.
   */
  private persist(st: RoomUnread, roomId: string, rows: PushEventRow[], marks: ReadMarkRow[]): void {
    if (rows.length === 0 && marks.length === 0) return;
    st.writes = st.writes
      .then(() => this.store.write(roomId, rows, marks))
      .catch((err: unknown) => this.deps.log.error({ err, room: roomId }, 'unread counts: writing failed'));
  }

  /** Waits for queued changes and their writes (before the database closes). */
  async close(): Promise<void> {
    for (const st of this.rooms.values()) {
      await st.queue;
      await st.writes;
    }
  }

  private async templatesFor(users: readonly string[]): Promise<Map<string, RuleTemplate>> {
    const missing = users.filter((u) => !this.templateOf.has(u));
    if (missing.length) {
      const found = await this.deps.pushRules.templates(missing);
      for (const [u, { key, build }] of found) {
        let t = this.templates.get(key);
        if (!t) this.templates.set(key, (t = new RuleTemplate(build())));
        this.templateOf.set(u, t);
      }
    }
    return new Map(users.map((u) => [u, this.templateOf.get(u)!]));
  }

  /** Members' display names in the room, only for rules with contains_display_name. */
  private async displayNames(room: LoadedRoom, members: readonly string[]): Promise<Map<string, string>> {
    const nids = members.map((u) => room.state.get(stateKey('m.room.member', u))).filter((n): n is number => n !== undefined);
    const out = new Map<string, string>();
    for (const e of (await this.deps.rooms.events.byNids(nids)).values()) {
      const dn = e.pdu.content.displayname;
      if (isStateEvent(e.pdu) && typeof dn === 'string' && dn !== '') out.set(e.pdu.state_key!, dn);
    }
    return out;
  }

  private changed(userId: string, roomId: string, pos: number): void {
    const m = this.changedAt.get(userId);
    if (m) {
      if ((m.get(roomId) ?? 0) < pos) m.set(roomId, pos);
    } else {
      // Being loaded: the query may or may not see this change, so apply it again after.
      this.changedLoading.get(userId)?.changes.push([roomId, pos]);
    }
  }

  // ---- The room queues ----------------------------------------------------------------------

  private state(roomId: string): RoomUnread {
    let st = this.rooms.get(roomId);
    if (!st) {
      const fresh = new RoomUnread();
      this.rooms.set(roomId, (st = fresh));
      void this.run(fresh, async () => {
        let loaded;
        try {
          loaded = await this.store.loadRoom(roomId);
        } catch (err) {
          // Retried on next use; changes queued meanwhile are lost with it (logged).
          fresh.failed = true;
          if (this.rooms.get(roomId) === fresh) this.rooms.delete(roomId);
          throw err;
        }
        const { events, marks } = loaded;
        fresh.log = events.map((e) => ({
          stream: e.stream,
          thread: e.thread,
          sender: e.sender,
          base: e.base as Outcome,
          exceptions: e.exceptions ? new Map(Object.entries(e.exceptions) as Array<[string, Outcome]>) : null,
        }));
        for (const m of marks) fresh.setMark(m.userId, m.thread, m.stream);
      }).catch(() => {});
    }
    return st;
  }

  private run(st: RoomUnread, op: () => Promise<void>): Promise<void> {
    st.pending++;
    const p = st.queue.then(op);
    st.queue = p
      .catch((err: unknown) => this.deps.log.error({ err }, 'unread counts: a change failed'))
      .finally(() => void st.pending--);
    return p;
  }

  private enqueue(roomId: string, op: (st: RoomUnread) => Promise<void>): void {
    const st = this.state(roomId);
    void this.run(st, async () => {
      if (!st.failed) await op(st);
    }).catch(() => {});
  }

  /** The room's state once every change queued so far is applied (not later ones: a busy
   *  room must not keep a sync waiting). */
  private async settled(roomId: string): Promise<RoomUnread | undefined> {
    const st = this.state(roomId);
    if (st.pending > 0) await st.queue;
    return st.failed ? undefined : st;
  }

  private async changesOf(userId: string): Promise<Map<string, number>> {
    const ready = this.changedAt.get(userId);
    if (ready) return ready;
    let loading = this.changedLoading.get(userId);
    if (!loading) {
      const changes: Array<[string, number]> = [];
      const promise = this.store.markChanges(userId).then((m) => {
        for (const [room, pos] of changes) if ((m.get(room) ?? 0) < pos) m.set(room, pos);
        this.changedAt.set(userId, m);
        this.changedLoading.delete(userId);
        return m;
      });
      promise.catch(() => this.changedLoading.delete(userId));
      this.changedLoading.set(userId, (loading = { promise, changes }));
    }
    return loading.promise;
  }

  // ---- Sync ---------------------------------------------------------------------------------

  /** The user's counts in a room: the whole room, or the main timeline and each thread. */
  async countsFor(userId: string, roomId: string): Promise<{ total: Counts; main: Counts; threads: Map<string, Counts> } | undefined> {
    const st = await this.settled(roomId);
    if (!st) return undefined;
    const threads = new Map(st.countsOf(userId));
    const total: Counts = { notification_count: 0, highlight_count: 0 };
    for (const c of threads.values()) {
      total.notification_count += c.notification_count;
      total.highlight_count += c.highlight_count;
    }
    const main = threads.get('main') ?? { notification_count: 0, highlight_count: 0 };
    threads.delete('main');
    return { total, main: { ...main }, threads };
  }

  private async contribute(req: SyncRequestContext, parts: Record<string, JoinedRoomSync>, roomPart: (roomId: string) => JoinedRoomSync): Promise<void> {
    const f = req.filter.room;
    const threaded = f?.timeline?.unread_thread_notifications === true;
    const changes = await this.changesOf(req.userId);
    const since = req.since?.stream;
    // Rooms the response already has, and rooms whose counts changed though nothing else did.
    const rooms = req.joinedRoomIds.filter(
      (r) => roomAllowed(f, r) && (since === undefined || parts[r] !== undefined || (changes.get(r) ?? 0) > since),
    );
    await Promise.all(
      rooms.map(async (roomId) => {
        const c = await this.countsFor(req.userId, roomId);
        if (!c) return; // the room's counts failed to load (logged); zeros rather than no sync
        const part = roomPart(roomId);
        part.unread_notifications = threaded ? c.main : c.total;
        if (threaded && c.threads.size) part.unread_thread_notifications = Object.fromEntries(c.threads);
      }),
    );
  }
}
