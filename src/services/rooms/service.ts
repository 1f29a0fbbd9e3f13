// The room service: the one writer of room events on this server. Each room has a queue; a
// drain loop takes everything queued, builds and authorizes the events in order against the
// in-memory state, and persists them in one transaction. Serialising per room means concurrent
// sends can never fork a room here; batching is what makes 100 concurrent senders cheap.
import type { SigningKey } from '../../crypto/signing-key.js';
import { isStateEvent, type PDU } from '../../events/pdu.js';
import { serverNameOf } from '../../events/identifiers.js';
import { invalidParam, notFound } from '../../http/errors.js';
import { AliasStore } from '../../storage/aliases.js';
import { IdBlock } from '../../storage/id-block.js';
import { EventStore, redactsOf, type StoredEvent } from '../../storage/events.js';
import { isDataException, type Sql } from '../../storage/pool.js';
import { storableText } from '../../util/text.js';
import { StateTree, stateKey } from '../../storage/state-tree.js';
import type { Logger } from '../../util/logger.js';
import type { Notifier } from '../notifier.js';
import type { StreamTracker } from '../streams.js';
import { buildLocalEvent, newStoredEvent, type LocalEventRequest } from './build.js';
import { LoadedRoom, loadRoom, txnKey } from './loaded-room.js';
import { persistBatch, unstorableField, type PersistDeps } from './persist.js';
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

/** Whether a retried transaction asks for the event its original sent (its path is the same). */
const sameRequest = (e: StoredEvent, req: LocalEventRequest) =>
  e.pdu.type === req.type && e.pdu.state_key === req.state_key && redactsOf(e.pdu) === (req.redacts ?? null);

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
    // No room has an id PostgreSQL cannot even compare (a NUL in it would fail the query).
    if (!storableText(roomId)) return Promise.resolve(undefined);
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

  /**
   * Builds and persists one batch of the room's queue. Every job is settled exactly once: a
   * job that cannot be sent is refused on its own, before the batch statement. If the statement
   * fails anyway, the room is reloaded and the batch's jobs are retried one at a time, so only
   * the event that cannot be written fails and the others commit.
   */
  private async runBatch(room: LoadedRoom, jobs: Job[]): Promise<void> {
    const open = new Set(jobs);
    const resolve = (j: Job, e: StoredEvent) => {
      open.delete(j);
      j.resolve(e);
    };
    const reject = (j: Job, err: unknown) => {
      open.delete(j);
      j.reject(err);
    };
    const positions: number[] = [];
    const built: Array<{ job: Job; stored: StoredEvent }> = [];
    const inBatch = new Set<StoredEvent>();
    // Retries of a transaction sent earlier in this batch: answered once the batch commits.
    const followers: Array<{ job: Job; stored: StoredEvent }> = [];
    let failed = false;
    try {
      // The txn lookup is the batch's one extra round trip: overlap it with taking ids. Both are
      // awaited either way, so that taken stream positions are always completed.
      const [looked, taken] = await Promise.allSettled([
        this.lookUpTxns(room, jobs, reject),
        this.allocateIds(jobs.length).then((ids) => {
          positions.push(...ids.map((x) => x.stream));
          return ids;
        }),
      ]);
      if (looked.status === 'rejected') throw looked.reason;
      if (taken.status === 'rejected') throw taken.reason;
      const todo = looked.value;
      const ids = taken.value;
      for (let i = 0; i < todo.length; i++) {
        const job = todo[i]!;
        try {
          const key = job.txn && txnKey(job.req.sender, job.txn.deviceId, job.txn.txnId);
          const original = key !== undefined ? room.txns.get(key) : undefined;
          if (original) {
            // A retry (same device, room and txn id) is answered with the event already sent.
            if (!sameRequest(original, job.req)) throw invalidParam('This transaction id was already used for a different request');
            if (inBatch.has(original)) followers.push({ job, stored: original });
            else resolve(job, original);
            continue;
          }
          const b = await buildLocalEvent(this.events, room, job.req, this.deps.serverName, this.deps.signingKey);
          const stored = newStoredEvent(room.roomId, ids[i]!, b, job.txn);
          const bad = unstorableField(room.roomId, stored);
          if (bad) throw invalidParam(`${bad} contains text that cannot be stored (NUL or an unpaired surrogate)`);
          this.applyInMemory(room, stored);
          if (key !== undefined) room.rememberTxn(key, stored);
          built.push({ job, stored });
          inBatch.add(stored);
        } catch (e) {
          reject(job, e);
        }
      }
      if (built.length > 0) await persistBatch(this.persistDeps, room, built.map((b) => b.stored));
    } catch (e) {
      // The in-memory room (state, extremities, txn ids) may now be ahead of the database:
      // drop it and reload on next use.
      failed = true;
      this.rooms.delete(room.roomId);
      for (const b of built) this.events.forget(b.stored.nid);
      if (built.length <= 1) {
        this.deps.log.error({ err: e, room: room.roomId }, 'persisting an event failed');
        // Alone, the event itself is the cause: a value PostgreSQL refused is the client's.
        const err = isDataException(e) ? invalidParam('The event contains a value that cannot be stored') : e;
        for (const j of open) reject(j, err);
      } else {
        this.deps.log.error({ err: e, room: room.roomId, events: built.length }, 'persisting a batch failed; retrying its events one at a time');
      }
    } finally {
      this.deps.streams.complete(positions);
    }
    if (!failed) {
      if (built.length > 0) this.committed(room, built.map((b) => b.stored));
      for (const b of built) resolve(b.job, b.stored);
      for (const f of followers) resolve(f.job, f.stored);
      return;
    }
    // Safety net for what could not be foreseen: each job alone, against the reloaded room (a
    // retried transaction finds its original there if it did commit after all).
    for (const job of jobs) {
      if (!open.has(job)) continue;
      let fresh: LoadedRoom | undefined;
      try {
        fresh = await this.getRoom(room.roomId);
      } catch (e) {
        reject(job, e);
        continue;
      }
      if (!fresh) reject(job, notFound('Unknown room'));
      else await this.runBatch(fresh, [job]);
    }
  }

  /**
   * Refuses jobs whose transaction id cannot be stored, and brings the originals of the others'
   * transaction ids into `room.txns` from the database when memory does not have them (the map
   * is bounded and only warmed from recent events), in one query. Returns the jobs to run.
   */
  private async lookUpTxns(room: LoadedRoom, jobs: Job[], reject: (j: Job, err: unknown) => void): Promise<Job[]> {
    const todo: Job[] = [];
    const missing: Array<{ sender: string; deviceId: string; txnId: string }> = [];
    for (const job of jobs) {
      const t = job.txn;
      if (t && !(storableText(t.txnId) && storableText(t.deviceId))) {
        reject(job, invalidParam('The transaction id contains NUL or an unpaired surrogate'));
        continue;
      }
      todo.push(job);
      if (t && !room.txns.has(txnKey(job.req.sender, t.deviceId, t.txnId))) missing.push({ sender: job.req.sender, ...t });
    }
    for (const e of await this.events.byTxns(room.roomId, missing)) room.rememberTxn(txnKey(e.pdu.sender, e.txnDevice!, e.txnId!), e);
    return todo;
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
