// Typing notifications: in memory only, each change stamped with the notifier's ephemeral
// position (the second part of sync tokens); entries expire on their own timers.
import { MatrixError, forbidden } from '../http/errors.js';
import type { ServerContext } from './context.js';
import { membershipView, type RoomMembershipView } from './room-membership.js';
import { matchesEventFilter, roomAllowed } from './sync/filter.js';
import type { JoinedRoomSync, SyncContributor, SyncRequestContext } from './sync/types.js';

export const DEFAULT_TYPING_TIMEOUT_MS = 30_000;
export const MAX_TYPING_TIMEOUT_MS = 120_000;
/** Rooms with nobody typing are forgotten after this long (their last "stopped" was sent). */
const IDLE_ROOM_MS = 3600_000;

interface RoomTyping {
  users: Map<string, NodeJS.Timeout>;
  /** Ephemeral position of the last change. */
  changedAt: number;
  idleSince: number;
}

export class TypingService {
  private readonly rooms = new Map<string, RoomTyping>();
  private readonly view: () => RoomMembershipView;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly ctx: Pick<ServerContext, 'sql' | 'notifier' | 'config' | 'log'>) {
    this.view = membershipView(ctx);
    this.sweeper = setInterval(() => this.sweep(), 600_000);
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const r of this.rooms.values()) for (const t of r.users.values()) clearTimeout(t);
    this.rooms.clear();
  }

  /** PUT /rooms/{roomId}/typing/{userId}. */
  async set(userId: string, roomId: string, typing: boolean, timeoutMs: number | undefined): Promise<void> {
    if (timeoutMs !== undefined && (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0)) {
      throw new MatrixError(400, 'M_INVALID_PARAM', 'timeout must be a non-negative integer');
    }
    if ((await this.view().getMembership(roomId, userId)) !== 'join') throw forbidden('You are not joined to this room');
    if (typing) this.start(roomId, userId, Math.min(timeoutMs ?? DEFAULT_TYPING_TIMEOUT_MS, MAX_TYPING_TIMEOUT_MS));
    else this.stop(roomId, userId);
  }

  /** Users typing in a room now. */
  typingIn(roomId: string): string[] {
    return [...(this.rooms.get(roomId)?.users.keys() ?? [])];
  }

  private start(roomId: string, userId: string, timeoutMs: number): void {
    let room = this.rooms.get(roomId);
    if (!room) this.rooms.set(roomId, (room = { users: new Map(), changedAt: 0, idleSince: 0 }));
    const old = room.users.get(userId);
    if (old) clearTimeout(old);
    const timer = setTimeout(() => this.stop(roomId, userId), timeoutMs);
    timer.unref();
    room.users.set(userId, timer);
    // A renewal of someone already typing changes nothing a client sees.
    if (!old) this.changed(roomId, room);
  }

  private stop(roomId: string, userId: string): void {
    const room = this.rooms.get(roomId);
    const t = room?.users.get(userId);
    if (!room || !t) return;
    clearTimeout(t);
    room.users.delete(userId);
    if (room.users.size === 0) room.idleSince = Date.now();
    this.changed(roomId, room);
  }

  private changed(roomId: string, room: RoomTyping): void {
    room.changedAt = this.ctx.notifier.nextEphemeral();
    this.view()
      .localJoinedMembers(roomId)
      .then((members) => this.ctx.notifier.notifyUsers(members))
      .catch((e: unknown) => this.ctx.log.warn({ err: e, roomId }, 'could not wake syncs for a typing change'));
  }

  private sweep(): void {
    const cutoff = Date.now() - IDLE_ROOM_MS;
    for (const [id, r] of this.rooms) if (r.users.size === 0 && r.idleSince < cutoff) this.rooms.delete(id);
  }

  readonly contributor: SyncContributor = {
    name: 'typing',
    contribute: async (req, _res, roomPart) => this.contribute(req, roomPart),
  };

  private contribute(req: SyncRequestContext, roomPart: (roomId: string) => JoinedRoomSync): void {
    const f = req.filter.room;
    if (this.rooms.size === 0 || !matchesEventFilter(f?.ephemeral, { type: 'm.typing' })) return;
    const since = req.since?.ephemeral;
    const emit = (roomId: string, room: RoomTyping) => {
      if (since === undefined ? room.users.size === 0 : room.changedAt <= since) return;
      if (!roomAllowed(f, roomId) || !roomAllowed(f?.ephemeral, roomId)) return;
      roomPart(roomId).ephemeral.events.push({ type: 'm.typing', content: { user_ids: [...room.users.keys()] } });
    };
    // Walk whichever is smaller: the user's rooms or the rooms with typing state.
    if (req.joinedRoomIds.length < this.rooms.size) {
      for (const id of req.joinedRoomIds) {
        const room = this.rooms.get(id);
        if (room) emit(id, room);
      }
    } else {
      const joined = new Set(req.joinedRoomIds);
      for (const [id, room] of this.rooms) if (joined.has(id)) emit(id, room);
    }
  }
}
