// The room service: the one writer of room events on this server. Each room has a queue; a
// drain loop takes everything queued, builds and authorizes the events in order against the
// in-memory state, and persists them in one transaction. Serialising per room means concurrent
// sends can never fork a room here; batching is what makes 100 concurrent senders cheap.
import type { SigningKey } from '../../crypto/signing-key.js';
import { isStateEvent, type PDU } from '../../events/pdu.js';
import { serverNameOf } from '../../events/identifiers.js';
import { notFound } from '../../http/errors.js';
import { AliasStore } from '../../storage/aliases.js';
import { IdBlock } from '../../storage/id-block.js';
import { EventStore, redactsOf, type StoredEvent } from '../../storage/events.js';
import type { Sql } from '../../storage/pool.js';
import { StateTree, stateKey } from '../../storage/state-tree.js';
import type { Logger } from '../../util/logger.js';
import type { Notifier } from '../notifier.js';
import type { StreamTracker } from '../streams.js';
import { buildLocalEvent, newStoredEvent, type LocalEventRequest } from './build.js';
import { LoadedRoom, loadRoom } from './loaded-room.js';
import { persistBatch, type PersistDeps } from './persist.js';
import { RoomVisibility } from './visibility.js';

export interface RoomServiceDeps {
  sql: Sql;
  log: Logger;
  serverName: string;
  signingKey: SigningKey;
  streams: StreamTracker;
  notifier: Notifier;
}

export interface TxnRef {
  deviceId: string;
  txnId: string;
}

interface Job {
  req: LocalEventRequest;
  txn?: TxnRef;
  resolve: (e: StoredEvent) => void;
  reject: (e: unknown) => void;
}

export interface Membership {
  membership: string;
  stream: number;
}

const MAX_BATCH = 256;

const txnKey = (sender: string, t: TxnRef) => `${sender}\u0000${t.deviceId}\u0000${t.txnId}`;

export class RoomService {
  readonly events: EventStore;
  readonly tree: StateTree;
  readonly aliases: AliasStore;
  /** History visibility: who may see which event (src/services/rooms/visibility.ts). */
  readonly visibility: RoomVisibility;
  private readonly nids: IdBlock;
  private readonly rooms = new Map<string, Promise<LoadedRoom | undefined>>();
  private readonly queues = new Map<string, Job[]>();
  private readonly draining = new Set<string>();
  /** Local users' memberships, loaded on first use and kept current by this service. */
  private readonly userIndex = new Map<string, Map<string, Membership>>();
  private readonly userIndexLoading = new Map<string, { promise: Promise<Map<string, Membership>>; changes: Array<[string, Membership]> }>();
  private readonly eventListeners: Array<(room: LoadedRoom, events: StoredEvent[]) => void> = [];

  /** Profile shown in a user's member events; the profile service replaces this at start. */
  profileOf: (userId: string) => Promise<{ displayname?: string; avatar_url?: string }> = async () => ({});

  constructor(private readonly deps: RoomServiceDeps) {
    this.events = new EventStore(deps.sql);
    this.tree = new StateTree(deps.sql);
    this.aliases = new AliasStore(deps.sql);
    this.visibility = new RoomVisibility(this.events, this.tree);
    this.nids = new IdBlock(deps.sql, 'events_event_nid_seq');
  }

  get signingKey(): SigningKey {
    return this.deps.signingKey;
  }

  get persistDeps(): PersistDeps {
    return { sql: this.deps.sql, events: this.events, tree: this.tree };
  }

  /** Finishes stream positions taken with allocateIds (after commit or failure). */
  completePositions(positions: readonly number[]): void {
    this.deps.streams.complete(positions);
  }

  get serverName(): string {
    return this.deps.serverName;
  }

  isLocalUser(userId: string): boolean {
    return serverNameOf(userId) === this.deps.serverName;
  }

  /** Called after each committed batch (sync caches, push, federation sender...). */
  onEvents(listener: (room: LoadedRoom, events: StoredEvent[]) => void): void {
    this.eventListeners.push(listener);
  }

  getRoom(roomId: string): Promise<LoadedRoom | undefined> {
    let p = this.rooms.get(roomId);
    if (!p) {
      p = loadRoom(this.deps.sql, this.events, roomId, (u) => this.isLocalUser(u)).then((r) => {
        if (!r) this.rooms.delete(roomId);
        return r;
      });
      p.catch(() => this.rooms.delete(roomId));
      this.rooms.set(roomId, p);
    }
    return p;
  }

  async requireRoom(roomId: string): Promise<LoadedRoom> {
    const room = await this.getRoom(roomId);
    if (!room) throw notFound('Unknown room');
    return room;
  }

  /** Makes a freshly created room reachable (after its first batch committed). */
  registerRoom(room: LoadedRoom): void {
    this.rooms.set(room.roomId, Promise.resolve(room));
  }

  /** Builds, authorizes, signs and persists one local event; resolves once committed. */
  send(roomId: string, req: LocalEventRequest, txn?: TxnRef): Promise<StoredEvent> {
    return new Promise((resolve, reject) => {
      let q = this.queues.get(roomId);
      if (!q) this.queues.set(roomId, (q = []));
      q.push({ req, ...(txn ? { txn } : {}), resolve, reject });
      if (!this.draining.has(roomId)) void this.drain(roomId);
    });
  }

  private async drain(roomId: string): Promise<void> {
    this.draining.add(roomId);
    try {
      const q = this.queues.get(roomId)!;
      while (q.length) {
        const jobs = q.splice(0, MAX_BATCH);
        let room: LoadedRoom | undefined;
        try {
          room = await this.getRoom(roomId);
        } catch (e) {
          for (const j of jobs) j.reject(e);
          continue;
        }
        if (!room) {
          for (const j of jobs) j.reject(notFound('Unknown room'));
          continue;
        }
        await this.runBatch(room, jobs);
      }
      this.queues.delete(roomId);
    } finally {
      this.draining.delete(roomId);
    }
  }

  private async runBatch(room: LoadedRoom, jobs: Job[]): Promise<void> {
    const positions: number[] = [];
    const built: Array<{ job: Job; stored: StoredEvent }> = [];
    try {
      const ids = await this.allocateIds(jobs.length);
      positions.push(...ids.map((x) => x.stream));
      for (let i = 0; i < jobs.length; i++) {
        const job = jobs[i]!;
        try {
          // A retried transaction resolves to the event it already sent.
          const dup = job.txn ? room.txns.get(txnKey(job.req.sender, job.txn)) : undefined;
          if (dup) {
            job.resolve(dup);
            continue;
          }
          const b = await buildLocalEvent(this.events, room, job.req, this.deps.serverName, this.deps.signingKey);
          const stored = newStoredEvent(room.roomId, ids[i]!, b, job.txn);
          this.applyInMemory(room, stored);
          if (job.txn) room.rememberTxn(txnKey(job.req.sender, job.txn), stored);
          built.push({ job, stored });
        } catch (e) {
          job.reject(e);
        }
      }
      if (built.length === 0) return;
      await persistBatch(this.persistDeps, room, built.map((b) => b.stored));
    } catch (e) {
      // The in-memory room (state, extremities, txn ids) may now be ahead of the database:
      // drop it and reload on next use.
      this.rooms.delete(room.roomId);
      for (const b of built) this.events.forget(b.stored.nid);
      this.deps.log.error({ err: e, room: room.roomId }, 'persisting events failed');
      for (const b of built) b.job.reject(e);
      return;
    } finally {
      this.deps.streams.complete(positions);
    }
    this.committed(room, built.map((b) => b.stored));
    for (const b of built) b.job.resolve(b.stored);
  }

  /** Numeric ids and stream positions for `n` events, from memory (see IdBlock). */
  async allocateIds(n: number): Promise<Array<{ nid: number; stream: number }>> {
    const nids = await this.nids.take(n);
    const streams = await this.deps.streams.allocate(undefined, n);
    return nids.map((nid, i) => ({ nid, stream: streams[i]! }));
  }

  /** Applies a built event to the room's in-memory state so the next event builds on it. */
  applyInMemory(room: LoadedRoom, e: StoredEvent): void {
    if (isStateEvent(e.pdu)) {
      e.replacesStateNid = room.state.get(stateKey(e.pdu.type, e.pdu.state_key!)) ?? null;
      room.state.set(stateKey(e.pdu.type, e.pdu.state_key!), e.nid);
      if (e.pdu.type === 'm.room.member') room.setMembership(e.pdu.state_key!, String(e.pdu.content.membership), e.streamOrdering);
    }
    room.extremities = [e];
    room.maxDepth = Math.max(room.maxDepth, e.pdu.depth);
    this.events.remember(e);
  }

  /** After commit: timeline window, membership index, listeners, and wake-ups. */
  committed(room: LoadedRoom, batch: StoredEvent[]): void {
    const wake = new Set<string>();
    for (const e of batch) {
      room.pushTimeline(e);
      const redacted = redactsOf(e.pdu);
      if (redacted) {
        // persistBatch marked it in the database; keep the cached copy in step.
        const target = this.events.cached(redacted);
        if (target && target.roomId === room.roomId && !target.redactedBy) target.redactedBy = e.eventId;
      }
      if (e.pdu.type === 'm.room.member' && e.pdu.state_key !== undefined) {
        const target = e.pdu.state_key;
        wake.add(target);
        this.recordMembership(target, room.roomId, { membership: String(e.pdu.content.membership), stream: e.streamOrdering! });
      }
    }
    for (const user of room.localJoined) wake.add(user);
    for (const l of this.eventListeners) {
      try {
        l(room, batch);
      } catch (err) {
        this.deps.log.error({ err }, 'event listener failed');
      }
    }
    this.deps.notifier.notifyUsers(wake);
  }

  // ---- Membership queries -------------------------------------------------------------

  /** All rooms a local user has a membership in, with the stream position it last changed. */
  async userMemberships(userId: string): Promise<Map<string, Membership>> {
    const ready = this.userIndex.get(userId);
    if (ready) return ready;
    let loading = this.userIndexLoading.get(userId);
    if (!loading) {
      const changes: Array<[string, Membership]> = [];
      const promise = this.deps.sql<{ room_id: string; membership: string; stream_ordering: string }[]>`
        SELECT room_id, membership, stream_ordering::text FROM room_memberships WHERE user_id = ${userId} AND NOT forgotten`.then((rows) => {
        const m = new Map(rows.map((r) => [r.room_id, { membership: r.membership, stream: Number(r.stream_ordering) }]));
        // Changes committed while the query ran may or may not be in its result: apply them again.
        for (const [room, v] of changes) if ((m.get(room)?.stream ?? -1) < v.stream) m.set(room, v);
        this.userIndex.set(userId, m);
        this.userIndexLoading.delete(userId);
        return m;
      });
      promise.catch(() => this.userIndexLoading.delete(userId));
      this.userIndexLoading.set(userId, (loading = { promise, changes }));
    }
    return loading.promise;
  }

  private recordMembership(userId: string, roomId: string, m: Membership): void {
    this.userIndex.get(userId)?.set(roomId, m);
    this.userIndexLoading.get(userId)?.changes.push([roomId, m]);
  }

  async getMembership(roomId: string, userId: string): Promise<string | undefined> {
    const room = await this.getRoom(roomId);
    return room?.members.get(userId);
  }

  async joinedRoomsOf(userId: string): Promise<string[]> {
    const m = await this.userMemberships(userId);
    return [...m].filter(([, v]) => v.membership === 'join').map(([k]) => k);
  }

  async localJoinedMembers(roomId: string): Promise<string[]> {
    const room = await this.getRoom(roomId);
    return room ? [...room.localJoined] : [];
  }

  /** Marks a left room forgotten for the user (POST /forget). */
  async forget(roomId: string, userId: string): Promise<void> {
    await this.deps.sql`UPDATE room_memberships SET forgotten = true WHERE room_id = ${roomId} AND user_id = ${userId}`;
    this.userIndex.get(userId)?.delete(roomId);
  }

  /** The current state event for (type, state_key), if any. */
  async currentStateEvent(room: LoadedRoom, type: string, sk: string): Promise<StoredEvent | undefined> {
    const nid = room.state.get(stateKey(type, sk));
    if (nid === undefined) return undefined;
    return (await this.events.byNids([nid])).get(nid);
  }

  /** The state of the room right before `e` (or the current state when e is omitted). */
  async stateEvents(room: LoadedRoom, root?: number): Promise<StoredEvent[]> {
    const nids = root === undefined ? [...room.state.values()] : [...(await this.tree.entries(root)).values()];
    const found = await this.events.byNids(nids);
    return nids.map((n) => found.get(n)!).filter(Boolean);
  }

  pduOf(e: StoredEvent): PDU {
    return e.pdu;
  }
}
