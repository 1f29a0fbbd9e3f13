// Which users' device lists a client must refresh between two stream positions: users who
// changed their devices or cross-signing keys and share a room with the client, users who
// newly share a room with it ("changed"), and users who no longer share any ("left").
// Device-list changes and room membership changes since start are kept in memory, so a sync
// with nothing relevant in its range costs no query.
import type { Sql } from '../storage/pool.js';
import type { E2eKeyStore } from '../storage/e2e-keys.js';
import { PositionLog, coalesce } from './change-log.js';

export interface MembershipChange {
  roomId: string;
  userId: string;
  membership: string;
}

/**
 * Membership changes read from room_memberships (written by the room service) in position
 * order. Every position up to a sync's upper bound is committed, so reading (fetched, upto]
 * once is complete; rows updated in place since only show their latest change.
 */
export class MembershipLog {
  private readonly log: PositionLog<MembershipChange>;
  private fetched: number;
  private target = 0;
  private readonly fetch: () => Promise<void>;

  constructor(
    private readonly sql: Sql,
    startPosition: number,
  ) {
    this.log = new PositionLog(startPosition);
    this.fetched = startPosition;
    this.fetch = coalesce(async () => {
      while (this.fetched < this.target) {
        const upto = this.target;
        const rows = await this.sql`
          SELECT room_id, user_id, membership, stream_ordering FROM room_memberships
          WHERE stream_ordering > ${this.fetched} AND stream_ordering <= ${upto}`;
        for (const r of rows) {
          this.log.add(Number(r.stream_ordering), { roomId: r.room_id as string, userId: r.user_id as string, membership: r.membership as string });
        }
        this.fetched = upto;
      }
    });
  }

  async changes(since: number, upto: number): Promise<MembershipChange[]> {
    if (!this.log.covers(since)) {
      const rows = await this.sql`
        SELECT room_id, user_id, membership FROM room_memberships
        WHERE stream_ordering > ${since} AND stream_ordering <= ${upto}`;
      return rows.map((r) => ({ roomId: r.room_id as string, userId: r.user_id as string, membership: r.membership as string }));
    }
    if (upto > this.fetched) {
      this.target = Math.max(this.target, upto);
      await this.fetch();
    }
    return this.log.range(since, upto).map((e) => e.value);
  }
}

export class DeviceListTracker {
  /** Users whose device list changed, by position (written through `record`). */
  private readonly log: PositionLog<string>;

  constructor(
    private readonly sql: Sql,
    private readonly store: E2eKeyStore,
    private readonly memberships: MembershipLog,
    startPosition: number,
  ) {
    this.log = new PositionLog(startPosition);
  }

  /** After the commit of a change recorded at `pos` (before the position completes). */
  record(pos: number, userIds: readonly string[]): void {
    for (const u of userIds) this.log.add(pos, u);
  }

  private async changedUsers(since: number, upto: number): Promise<Set<string>> {
    if (this.log.covers(since)) return new Set(this.log.range(since, upto).map((e) => e.value));
    return new Set((await this.store.changedUsers(since, upto)).map((c) => c.userId));
  }

  /** Of `users`, those who share a joined room with `userId` now. */
  async sharing(userId: string, users: Iterable<string>): Promise<Set<string>> {
    const list = [...users];
    if (list.length === 0) return new Set();
    const rows = await this.sql`
      SELECT DISTINCT b.user_id FROM room_memberships a
      JOIN room_memberships b ON b.room_id = a.room_id
      WHERE a.user_id = ${userId} AND a.membership = 'join' AND b.membership = 'join' AND b.user_id = ANY(${list})`;
    return new Set(rows.map((r) => r.user_id as string));
  }

  /** Local users who share a joined room with `userId` (whose clients track its devices), and itself. */
  async localWatchers(userId: string, serverName: string): Promise<string[]> {
    const rows = await this.sql`
      SELECT DISTINCT b.user_id FROM room_memberships a
      JOIN room_memberships b ON b.room_id = a.room_id
      WHERE a.user_id = ${userId} AND a.membership = 'join' AND b.membership = 'join'`;
    const suffix = `:${serverName}`;
    const out = rows.map((r) => r.user_id as string).filter((u) => u.endsWith(suffix));
    if (!out.includes(userId)) out.push(userId);
    return out;
  }

  private async joinedMembers(roomIds: Iterable<string>): Promise<string[]> {
    const ids = [...roomIds];
    if (ids.length === 0) return [];
    const rows = await this.sql`SELECT DISTINCT user_id FROM room_memberships WHERE room_id = ANY(${ids}) AND membership = 'join'`;
    return rows.map((r) => r.user_id as string);
  }

  /**
   * The device_lists part for `userId` between two positions, given the rooms it is joined to
   * at `upto`. Empty lists when nothing relevant happened (no query is made then).
   */
  async between(userId: string, joinedRoomIds: readonly string[], since: number, upto: number): Promise<{ changed: string[]; left: string[] }> {
    if (upto <= since) return { changed: [], left: [] };
    const [devices, memberships] = await Promise.all([this.changedUsers(since, upto), this.memberships.changes(since, upto)]);
    const changed = new Set<string>();
    const leftCandidates = new Set<string>();
    const ownChange = devices.has(userId);
    if (devices.size) {
      devices.delete(userId);
      for (const u of await this.sharing(userId, devices)) changed.add(u);
    }
    if (memberships.length) {
      const mine = new Set(joinedRoomIds);
      const newRooms = new Set<string>();
      const leftRooms = new Set<string>();
      for (const m of memberships) {
        if (m.userId === userId) {
          if (m.membership === 'join' && mine.has(m.roomId)) newRooms.add(m.roomId);
          else if ((m.membership === 'leave' || m.membership === 'ban') && !mine.has(m.roomId)) leftRooms.add(m.roomId);
        } else if (mine.has(m.roomId)) {
          if (m.membership === 'join') changed.add(m.userId);
          else leftCandidates.add(m.userId);
        }
      }
      for (const u of await this.joinedMembers(newRooms)) changed.add(u);
      for (const u of await this.joinedMembers(leftRooms)) leftCandidates.add(u);
    }
    const left: string[] = [];
    leftCandidates.delete(userId);
    if (leftCandidates.size) {
      const still = await this.sharing(userId, leftCandidates);
      for (const u of leftCandidates) {
        if (!still.has(u)) {
          left.push(u);
          changed.delete(u);
        }
      }
    }
    // The user's own id is in `changed` only for changes to its own devices.
    if (ownChange) changed.add(userId);
    else changed.delete(userId);
    return { changed: [...changed].sort(), left: left.sort() };
  }
}
