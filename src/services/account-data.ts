// Account data (global and per room, including m.tag and m.fully_read): storage, the rules on
// which types clients may set, and its part of /sync.
import { MatrixError, badJson } from '../http/errors.js';
import { AccountDataStore } from '../storage/account-data.js';
import type { Sql } from '../storage/pool.js';
import { matchesEventFilter, roomAllowed } from './sync/filter.js';
import type { JoinedRoomSync, SyncContributor, SyncRequestContext, SyncResponse } from './sync/types.js';
import type { ServerContext } from './context.js';
import { LastChanged, withPositions } from './change-log.js';
import { utf8Length } from '../events/identifiers.js';

/** Types the server manages; clients read them but may not set them (405 M_BAD_JSON). */
const SERVER_MANAGED = new Set(['m.fully_read', 'm.push_rules']);

export type JsonObject = Record<string, unknown>;

/** Computes a type's content instead of reading the stored row (m.push_rules). */
export type ComputedAccountData = (userId: string) => Promise<JsonObject>;

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Room ids of every version: `!opaque:server` or `!opaque`, at most 255 bytes. */
export function checkRoomIdParam(roomId: string): void {
  if (!roomId.startsWith('!') || roomId.length < 2 || utf8Length(roomId) > 255 || roomId.includes('\u0000')) {
    throw new MatrixError(400, 'M_INVALID_PARAM', `${JSON.stringify(roomId.slice(0, 300))} is not a valid room ID`);
  }
}

export function checkEventType(type: string): void {
  if (type.length === 0 || utf8Length(type) > 255) throw new MatrixError(400, 'M_INVALID_PARAM', 'The type must be 1 to 255 bytes');
}

export class AccountDataService {
  readonly store: AccountDataStore;
  private readonly changed = new LastChanged<string>();
  private readonly computed = new Map<string, ComputedAccountData>();

  constructor(private readonly ctx: Pick<ServerContext, 'sql' | 'streams' | 'notifier'>) {
    this.store = new AccountDataStore(ctx.sql);
  }

  /** Serves global `type` from `fn` rather than from its row (whose position still counts). */
  registerComputed(type: string, fn: ComputedAccountData): void {
    this.computed.set(type, fn);
  }

  /** A client's PUT: rejects server-managed types. `roomId` '' is global. */
  async setByClient(userId: string, roomId: string, type: string, content: unknown): Promise<void> {
    checkEventType(type);
    if (!isJsonObject(content)) throw badJson('Account data content must be a JSON object');
    if (SERVER_MANAGED.has(type)) throw new MatrixError(405, 'M_BAD_JSON', `Cannot set ${type} through this API`);
    await this.set(userId, roomId, type, content);
  }

  /** Stores `content` (any type) and wakes the user's syncs. */
  async set(userId: string, roomId: string, type: string, content: JsonObject): Promise<void> {
    const text = JSON.stringify(content);
    await withPositions(
      this.ctx,
      async (tx, alloc) => {
        const [pos] = await alloc();
        await this.store.put(tx, userId, roomId, type, text, pos!);
        return pos!;
      },
      (pos) => this.changed.mark(userId, pos),
    );
    this.ctx.notifier.notifyUsers([userId]);
  }

  /**
   * Read-modify-write of one document, serialised per user. `fn` returns the new content, or
   * undefined to leave the row as it is.
   */
  async update(userId: string, roomId: string, type: string, fn: (old: JsonObject | undefined) => JsonObject | undefined): Promise<void> {
    const pos = await withPositions(
      this.ctx,
      async (tx, alloc) => {
        await this.store.lockUser(tx, userId);
        const oldText = await this.store.get(userId, roomId, type, tx);
        const next = fn(oldText === undefined ? undefined : parseObject(oldText));
        if (next === undefined) return 0;
        const [p] = await alloc();
        await this.store.put(tx, userId, roomId, type, JSON.stringify(next), p!);
        return p!;
      },
      (p) => {
        if (p) this.changed.mark(userId, p);
      },
    );
    if (pos) this.ctx.notifier.notifyUsers([userId]);
  }

  /**
   * For services that keep the real data elsewhere (push rules): records a change of `type`
   * inside their transaction `tx`. Call `committed(userId, pos)` after the commit.
   */
  async stampInTransaction(tx: Sql, pos: number, userId: string, roomId: string, type: string): Promise<void> {
    await this.store.put(tx, userId, roomId, type, '{}', pos);
  }

  committed(userId: string, pos: number): void {
    this.changed.mark(userId, pos);
  }

  /** The content, or undefined when never set. */
  async get(userId: string, roomId: string, type: string): Promise<JsonObject | undefined> {
    const fn = roomId === '' ? this.computed.get(type) : undefined;
    if (fn) return fn(userId);
    const text = await this.store.get(userId, roomId, type);
    return text === undefined ? undefined : parseObject(text);
  }

  readonly contributor: SyncContributor = {
    name: 'account_data',
    contribute: (req, res, roomPart) => this.contribute(req, res, roomPart),
  };

  private async contribute(req: SyncRequestContext, res: SyncResponse, roomPart: (roomId: string) => JoinedRoomSync): Promise<void> {
    const { userId } = req;
    const since = req.since?.stream ?? null;
    if (since !== null) {
      if (!this.changed.isLoaded(userId)) this.changed.learn(userId, await this.store.latestPosition(userId));
      if (!this.changed.changedAfter(userId, since)) return;
    }
    const rows = await this.store.changes(userId, since, req.upto.stream);
    const joined = new Set(req.joinedRoomIds);
    const globalFilter = req.filter.account_data;
    const roomFilter = req.filter.room;
    const seenComputed = new Set<string>();
    for (const r of rows) {
      if (r.roomId === '') {
        if (!matchesEventFilter(globalFilter, { type: r.type })) continue;
        const fn = this.computed.get(r.type);
        if (fn) seenComputed.add(r.type);
        res.account_data.events.push({ type: r.type, content: fn ? await fn(userId) : parseObject(r.content) });
      } else {
        if (!joined.has(r.roomId) || !roomAllowed(roomFilter, r.roomId) || !roomAllowed(roomFilter?.account_data, r.roomId)) continue;
        if (!matchesEventFilter(roomFilter?.account_data, { type: r.type })) continue;
        roomPart(r.roomId).account_data.events.push({ type: r.type, content: parseObject(r.content) });
      }
    }
    // An initial sync always carries the computed types (default push rules have no row).
    if (since === null) {
      for (const [type, fn] of this.computed) {
        if (seenComputed.has(type) || !matchesEventFilter(globalFilter, { type })) continue;
        res.account_data.events.push({ type, content: await fn(userId) });
      }
    }
  }
}

function parseObject(text: string): JsonObject {
  const v: unknown = JSON.parse(text);
  return isJsonObject(v) ? v : {};
}
