// Presence of local users: set by clients (PUT /presence, or /sync's set_presence), bumped by
// activity, turned `unavailable` when idle and `offline` when the user stops syncing. Changes
// take stream positions and reach the syncs of users who share a room.
import { MatrixError, forbidden, notFound } from '../http/errors.js';
import { serverNameOf } from '../events/identifiers.js';
import { PresenceStore, type PresenceRow } from '../storage/presence.js';
import type { ServerContext } from './context.js';
import { PositionLog, withPositions } from './change-log.js';
import { matchesEventFilter } from './sync/filter.js';
import type { ClientEvent, SyncContributor, SyncRequestContext, SyncResponse } from './sync/types.js';

export const PRESENCE_STATES = new Set(['online', 'unavailable', 'offline']);
const MAX_STATUS_MSG_CHARS = 1024;

export interface PresenceTimings {
  /** Online users inactive this long become unavailable. */
  idleAfterMs: number;
  /** Users neither syncing nor active this long become offline. */
  offlineAfterMs: number;
  /** Activity this recent counts as currently_active. */
  currentlyActiveMs: number;
  sweepEveryMs: number;
}

export const DEFAULT_PRESENCE_TIMINGS: PresenceTimings = {
  idleAfterMs: 5 * 60_000,
  offlineAfterMs: 10 * 60_000,
  currentlyActiveMs: 60_000,
  sweepEveryMs: 30_000,
};

interface Live extends PresenceRow {
  /** Last /sync (in memory only). */
  lastSyncTs: number;
}

type Ctx = Pick<ServerContext, 'sql' | 'streams' | 'notifier' | 'config' | 'log'>;

export class PresenceService {
  readonly store: PresenceStore;
  private readonly live = new Map<string, Live>();
  /** Users whose latest change came from their own sync (position): their client knows. */
  private readonly quietForSelf = new Map<string, number>();
  /** Users known to have no presence row. */
  private readonly absent = new Set<string>();
  private readonly log: PositionLog<string>;
  private readonly timer: NodeJS.Timeout;
  private sweeping = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly timings: PresenceTimings = DEFAULT_PRESENCE_TIMINGS,
    private readonly now: () => number = Date.now,
  ) {
    this.store = new PresenceStore(ctx.sql);
    this.log = new PositionLog(ctx.streams.position);
    this.timer = setInterval(() => void this.sweep(), timings.sweepEveryMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Loads everyone not offline, so the sweep can turn them offline if they never return. */
  async init(): Promise<void> {
    const now = this.now();
    for (const r of await this.store.notOffline()) if (!this.live.has(r.userId)) this.live.set(r.userId, { ...r, lastSyncTs: now });
  }

  private async load(userId: string): Promise<Live | undefined> {
    let l = this.live.get(userId);
    if (!l) {
      if (this.absent.has(userId)) return undefined;
      const row = await this.store.get(userId);
      if (!row) {
        // Remembered so that syncs with set_presence=offline do not ask again every time.
        if (!this.live.has(userId)) this.absent.add(userId);
        return undefined;
      }
      l = this.live.get(userId) ?? { ...row, lastSyncTs: 0 };
      this.live.set(userId, l);
    }
    return l;
  }

  /** PUT /presence/{userId}/status. */
  async setByClient(userId: string, body: Record<string, unknown>): Promise<void> {
    const state = body.presence;
    if (typeof state !== 'string' || !PRESENCE_STATES.has(state)) {
      throw new MatrixError(400, 'M_INVALID_PARAM', 'presence must be one of online, unavailable, offline');
    }
    const msg = body.status_msg;
    if (msg !== undefined && msg !== null && typeof msg !== 'string') throw new MatrixError(400, 'M_INVALID_PARAM', 'status_msg must be a string');
    if (typeof msg === 'string' && msg.length > MAX_STATUS_MSG_CHARS) throw new MatrixError(400, 'M_INVALID_PARAM', 'status_msg is too long');
    await this.update(userId, state, msg === undefined ? undefined : msg, state === 'online');
  }

  /**
   * For /sync: `setPresence` is its set_presence parameter (default online). A syncing user
   * counts as connected; "offline" means the sync should not mark the user online.
   */
  async userSynced(userId: string, setPresence: string = 'online'): Promise<void> {
    const l = await this.load(userId);
    const now = this.now();
    if (l) l.lastSyncTs = now;
    if (setPresence === 'offline') return;
    if (setPresence === 'unavailable') {
      if (l?.state !== 'unavailable') await this.update(userId, 'unavailable', undefined, false, true);
    } else if (!l || l.state !== 'online') {
      await this.update(userId, 'online', undefined, true, true);
    }
    const fresh = this.live.get(userId);
    if (fresh) fresh.lastSyncTs = now;
  }

  /** Records activity (e.g. the user sent an event); brings an idle user back online. */
  async bumpActive(userId: string): Promise<void> {
    const l = await this.load(userId);
    if (!l || l.state !== 'online') await this.update(userId, 'online', undefined, true);
    else l.lastActiveTs = this.now();
  }

  /**
   * Writes a new state when it differs from the current one; `active` bumps last activity.
   * `bySync`: the user's own sync caused it, so that user's next sync need not be woken by it.
   */
  private async update(userId: string, state: string, statusMsg: string | null | undefined, active: boolean, bySync = false): Promise<void> {
    const old = await this.load(userId);
    const now = this.now();
    const msg = statusMsg === undefined ? (old?.statusMsg ?? null) : statusMsg;
    const lastActiveTs = active ? now : (old?.lastActiveTs ?? now);
    if (old && old.state === state && old.statusMsg === msg) {
      old.lastActiveTs = lastActiveTs;
      return;
    }
    await withPositions(
      this.ctx,
      async (tx, alloc) => {
        const [pos] = await alloc();
        const r: PresenceRow = { userId, state, statusMsg: msg, lastActiveTs, pos: pos! };
        await this.store.put(tx, r);
        return r;
      },
      (r) => {
        this.live.set(userId, { ...r, lastSyncTs: this.live.get(userId)?.lastSyncTs ?? 0 });
        this.absent.delete(userId);
        this.log.add(r.pos, userId);
        if (bySync) this.quietForSelf.set(userId, r.pos);
        else this.quietForSelf.delete(userId);
      },
    );
    try {
      const suffix = `:${this.ctx.config.server_name}`;
      const peers = (await this.store.roomPeers(userId)).filter((u) => u.endsWith(suffix) && !(bySync && u === userId));
      this.ctx.notifier.notifyUsers(peers);
    } catch (e) {
      this.ctx.log.warn({ err: e, userId }, 'could not wake syncs for a presence change');
    }
  }

  /** Idle online users become unavailable; users gone quiet become offline. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const now = this.now();
      for (const l of [...this.live.values()]) {
        if (l.state === 'offline') continue;
        const seen = Math.max(l.lastSyncTs, l.lastActiveTs);
        if (now - seen > this.timings.offlineAfterMs) await this.update(l.userId, 'offline', undefined, false);
        else if (l.state === 'online' && now - l.lastActiveTs > this.timings.idleAfterMs) await this.update(l.userId, 'unavailable', undefined, false);
      }
    } catch (e) {
      this.ctx.log.warn({ err: e }, 'presence sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  private event(l: PresenceRow): ClientEvent {
    const ago = Math.max(0, this.now() - l.lastActiveTs);
    const content: Record<string, unknown> = { presence: l.state, last_active_ago: ago };
    if (l.state === 'online') content.currently_active = ago < this.timings.currentlyActiveMs;
    if (l.statusMsg !== null) content.status_msg = l.statusMsg;
    return { type: 'm.presence', sender: l.userId, content };
  }

  /** GET /presence/{userId}/status. */
  async get(requester: string, userId: string): Promise<Record<string, unknown>> {
    if (userId !== requester && (await this.store.sharing(requester, [userId])).size === 0) {
      throw forbidden('You are not allowed to see their presence');
    }
    const l = await this.load(userId);
    if (!l) {
      if (serverNameOf(userId) === this.ctx.config.server_name && (await this.store.userExists(userId))) return { presence: 'offline' };
      throw notFound('No presence for this user');
    }
    return this.event(l).content as Record<string, unknown>;
  }

  readonly contributor: SyncContributor = {
    name: 'presence',
    contribute: (req, res) => this.contribute(req, res),
  };

  private async contribute(req: SyncRequestContext, res: SyncResponse): Promise<void> {
    // A syncing client is connected: this is where set_presence takes effect.
    try {
      await this.userSynced(req.userId, req.setPresence ?? 'online');
    } catch (e) {
      this.ctx.log.warn({ err: e, userId: req.userId }, 'could not update presence from a sync');
    }
    const f = req.filter.presence;
    if (!matchesEventFilter(f, { type: 'm.presence' })) return;
    let rows: PresenceRow[];
    if (req.since === null) {
      rows = (await this.store.getMany(await this.store.roomPeers(req.userId))).filter((r) => r.state !== 'offline' || r.statusMsg !== null);
    } else {
      const since = req.since.stream;
      const upto = req.upto.stream;
      let users: Set<string>;
      if (this.log.covers(since)) {
        const entries = this.log.range(since, upto);
        users = new Set(entries.map((e) => e.value));
        // The syncing user's own sync-caused changes are not news to its client.
        const quiet = this.quietForSelf.get(req.userId);
        if (quiet !== undefined && entries.every((e) => e.value !== req.userId || e.pos <= quiet)) users.delete(req.userId);
      } else {
        users = new Set(await this.store.changedUsers(since, upto));
      }
      if (users.size === 0) return;
      const others = [...users].filter((u) => u !== req.userId);
      const visible = await this.store.sharing(req.userId, others);
      if (users.has(req.userId)) visible.add(req.userId);
      if (visible.size === 0) return;
      rows = await this.store.getMany([...visible]);
    }
    for (const r of rows) {
      const l = this.live.get(r.userId) ?? r;
      if (!matchesEventFilter(f, { type: 'm.presence', sender: r.userId })) continue;
      res.presence.events.push(this.event(l));
    }
  }
}
