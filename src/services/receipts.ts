// Receipts (m.read, m.read.private; unthreaded, `main` or per thread) and the fully-read
// marker: checks, storage, and the m.receipt ephemeral events of /sync.
import { MatrixError, forbidden, notFound } from '../http/errors.js';
import { ReceiptStore, type ReceiptRow, type ReceiptTarget } from '../storage/receipts.js';
import type { ServerContext } from './context.js';
import type { AccountDataService } from './account-data.js';
import { LastChanged, withPositions } from './change-log.js';
import { membershipView, type RoomMembershipView } from './room-membership.js';
import { matchesEventFilter, roomAllowed } from './sync/filter.js';
import type { JoinedRoomSync, SyncContributor, SyncRequestContext } from './sync/types.js';

export const RECEIPT_TYPES = new Set(['m.read', 'm.read.private', 'm.fully_read']);

type Ctx = Pick<ServerContext, 'sql' | 'streams' | 'notifier' | 'config' | 'log'>;

/** A stored m.read or m.read.private receipt, as receipt listeners see it. */
export interface ReadReceipt {
  roomId: string;
  userId: string;
  type: string;
  /** '' unthreaded, 'main' or a thread root. */
  threadId: string;
  /** Stream ordering of the event it points at. */
  eventStream: number;
  /** The receipt's own stream position. */
  pos: number;
}

export class ReceiptsService {
  readonly store: ReceiptStore;
  private readonly changed = new LastChanged<string>();
  private readonly rooms: () => RoomMembershipView;
  private readonly receiptListeners: Array<(r: ReadReceipt) => void> = [];

  constructor(
    private readonly ctx: Ctx,
    private readonly accountData: AccountDataService,
  ) {
    this.store = new ReceiptStore(ctx.sql);
    this.rooms = membershipView(ctx);
  }

  /** Called after a receipt is stored and before its position completes (notification counts). */
  onReceipt(listener: (r: ReadReceipt) => void): void {
    this.receiptListeners.push(listener);
  }

  private async requireJoined(roomId: string, userId: string): Promise<void> {
    if ((await this.rooms().getMembership(roomId, userId)) !== 'join') throw forbidden('You are not joined to this room');
  }

  private async target(roomId: string, eventId: string): Promise<ReceiptTarget> {
    const ev = await this.store.event(roomId, eventId);
    if (!ev || ev.streamOrdering === null) throw notFound('No such event in this room');
    return ev;
  }

  /** POST /rooms/{roomId}/receipt/{receiptType}/{eventId} (m.fully_read goes to the read marker). */
  async post(userId: string, roomId: string, type: string, eventId: string, body: Record<string, unknown>): Promise<void> {
    if (!RECEIPT_TYPES.has(type)) throw new MatrixError(400, 'M_INVALID_PARAM', `Unknown receipt type ${JSON.stringify(type.slice(0, 100))}`);
    const threadId = body.thread_id;
    if (threadId !== undefined && (typeof threadId !== 'string' || threadId === '')) {
      throw new MatrixError(400, 'M_INVALID_PARAM', 'thread_id must be a non-empty string');
    }
    if (type === 'm.fully_read') {
      if (threadId !== undefined) throw new MatrixError(400, 'M_INVALID_PARAM', 'm.fully_read cannot have a thread_id');
      return this.setFullyRead(userId, roomId, eventId);
    }
    if (threadId !== undefined && threadId !== 'main' && !threadId.startsWith('$')) {
      throw new MatrixError(400, 'M_INVALID_PARAM', 'thread_id must be "main" or an event id');
    }
    await this.setReceipt(userId, roomId, type, eventId, threadId);
  }

  /** Stores a receipt unless it points before the current one; wakes the room's members. */
  async setReceipt(userId: string, roomId: string, type: string, eventId: string, threadId?: string): Promise<void> {
    await this.requireJoined(roomId, userId);
    const ev = await this.target(roomId, eventId);
    if (threadId !== undefined) checkThread(ev, eventId, threadId);
    const thread = threadId ?? '';
    const pos = await withPositions(
      this.ctx,
      async (tx, alloc) => {
        await this.store.lockReceiptKey(tx, roomId, userId, type, thread);
        const current = await this.store.currentOrdering(tx, roomId, userId, type, thread);
        // Receipts are "read up to" marks: one that points earlier than the current one is ignored.
        if (current !== undefined && current !== null && ev.streamOrdering! <= current) return 0;
        const [p] = await alloc();
        await this.store.upsert(tx, { roomId, userId, type, threadId: thread, eventId, ts: Date.now(), pos: p! });
        return p!;
      },
      (p) => {
        if (!p) return;
        this.changed.mark(roomId, p);
        const r: ReadReceipt = { roomId, userId, type, threadId: thread, eventStream: ev.streamOrdering!, pos: p };
        for (const l of this.receiptListeners) {
          try {
            l(r);
          } catch (err) {
            this.ctx.log.error({ err }, 'receipt listener failed');
          }
        }
      },
    );
    if (!pos) return;
    if (type === 'm.read.private') this.ctx.notifier.notifyUsers([userId]);
    else this.ctx.notifier.notifyUsers(await this.rooms().localJoinedMembers(roomId));
  }

  /** The m.fully_read marker (room account data), moved forward only. */
  async setFullyRead(userId: string, roomId: string, eventId: string): Promise<void> {
    await this.requireJoined(roomId, userId);
    const ev = await this.target(roomId, eventId);
    const old = await this.accountData.get(userId, roomId, 'm.fully_read');
    if (old && typeof old.event_id === 'string' && old.event_id !== eventId) {
      const prev = await this.store.event(roomId, old.event_id);
      if (prev?.streamOrdering != null && ev.streamOrdering! <= prev.streamOrdering) return;
    }
    await this.accountData.set(userId, roomId, 'm.fully_read', { event_id: eventId });
  }

  /** POST /rooms/{roomId}/read_markers. */
  async readMarkers(userId: string, roomId: string, body: Record<string, unknown>): Promise<void> {
    const fields = ['m.fully_read', 'm.read', 'm.read.private'] as const;
    for (const f of fields) {
      if (body[f] !== undefined && typeof body[f] !== 'string') throw new MatrixError(400, 'M_INVALID_PARAM', `${f} must be an event id`);
    }
    await this.requireJoined(roomId, userId);
    // Every target must exist before anything is written: a refused request leaves no marker behind.
    for (const f of fields) if (typeof body[f] === 'string') await this.target(roomId, body[f] as string);
    if (typeof body['m.fully_read'] === 'string') await this.setFullyRead(userId, roomId, body['m.fully_read']);
    if (typeof body['m.read'] === 'string') await this.setReceipt(userId, roomId, 'm.read', body['m.read']);
    if (typeof body['m.read.private'] === 'string') await this.setReceipt(userId, roomId, 'm.read.private', body['m.read.private']);
  }

  readonly contributor: SyncContributor = {
    name: 'receipts',
    contribute: (req, _res, roomPart) => this.contribute(req, roomPart),
  };

  private async contribute(req: SyncRequestContext, roomPart: (roomId: string) => JoinedRoomSync): Promise<void> {
    const f = req.filter.room;
    if (!matchesEventFilter(f?.ephemeral, { type: 'm.receipt' })) return;
    let rooms = req.joinedRoomIds.filter((r) => roomAllowed(f, r) && roomAllowed(f?.ephemeral, r));
    const since = req.since?.stream ?? null;
    if (since !== null) {
      const unknown = rooms.filter((r) => !this.changed.isLoaded(r));
      if (unknown.length) {
        const latest = await this.store.latestPositions(unknown);
        for (const r of unknown) this.changed.learn(r, latest.get(r) ?? 0);
      }
      rooms = rooms.filter((r) => this.changed.changedAfter(r, since));
    }
    if (rooms.length === 0) return;
    const rows = await this.store.changes(rooms, since, req.upto.stream);
    const byRoom = new Map<string, ReceiptRow[]>();
    for (const r of rows) {
      if (r.type === 'm.read.private' && r.userId !== req.userId) continue;
      let list = byRoom.get(r.roomId);
      if (!list) byRoom.set(r.roomId, (list = []));
      list.push(r);
    }
    for (const [roomId, list] of byRoom) {
      const content: Record<string, Record<string, Record<string, Record<string, unknown>>>> = {};
      for (const r of list) {
        const data: Record<string, unknown> = { ts: r.ts };
        if (r.threadId !== '') data.thread_id = r.threadId;
        ((content[r.eventId] ??= {})[r.type] ??= {})[r.userId] = data;
      }
      roomPart(roomId).ephemeral.events.push({ type: 'm.receipt', content });
    }
  }
}

/** 400 when the event is plainly not in the thread the receipt names. */
function checkThread(ev: ReceiptTarget, eventId: string, threadId: string): void {
  const rel = ev.relatesTo;
  const inThread = rel?.rel_type === 'm.thread' && typeof rel.event_id === 'string' ? rel.event_id : undefined;
  if (threadId === 'main') {
    if (inThread !== undefined) throw new MatrixError(400, 'M_INVALID_PARAM', 'The event is in a thread, not the main timeline');
  } else if (inThread !== undefined && inThread !== threadId) {
    // Events related to a thread indirectly (a reaction to a threaded reply) carry no m.thread
    // relation themselves, so only a direct relation to another thread is refused.
    throw new MatrixError(400, 'M_INVALID_PARAM', 'The event is not related to that thread');
  }
}
