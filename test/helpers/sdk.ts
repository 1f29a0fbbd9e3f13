// matrix-js-sdk as a real client in tests: quiet clients whose HTTP traffic is recorded, and an
// ordered log of what their sync loops emit, so a test can wait for an event and then check
// the order in which things arrived.
import { createHook } from 'node:async_hooks';
import {
  ClientEvent,
  createClient,
  RoomEvent,
  RoomMemberEvent,
  type MatrixClient,
  type MatrixEvent,
  type Room,
  type RoomMember,
} from 'matrix-js-sdk';
import { logger as sdkLogger, type Logger } from 'matrix-js-sdk/lib/logger.js';

// The SDK logs every sync at debug level. Its root logger is a loglevel logger, and the child
// loggers it makes later (per client, per session) copy the root's method factory, so a no-op
// factory silences them all.
const root = sdkLogger as unknown as { methodFactory: () => () => void; rebuild(): void };
root.methodFactory = () => () => {};
root.rebuild();

// Each SDK request arms a setTimeout for its local timeout (110 s for a /sync long-poll) and
// never clears it, so a finished test file would stay alive for two minutes after stopClient.
// Those timers only abort requests that are long gone by then: let them not hold the process.
createHook({
  init(_id, type, _trigger, resource) {
    const t = resource as { _idleTimeout?: number; unref?: () => void };
    if (type !== 'Timeout' || (t._idleTimeout ?? 0) < 40_000) return;
    if (new Error().stack?.includes('/matrix-js-sdk/')) queueMicrotask(() => t.unref?.());
  },
}).enable();

const silent: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  getChild: () => silent,
};

/** A request the server answered with a non-2xx status. */
export interface RefusedRequest {
  method: string;
  /** The path with user, room and event ids replaced by placeholders. */
  path: string;
  status: number;
  errcode?: string;
}

/** Every refused request of every client made here, for the report of what the SDK probes. */
export const refused: RefusedRequest[] = [];
/** Every endpoint the SDK called ("METHOD path -> status"), with how often. */
export const endpoints = new Map<string, number>();

function shapeOf(pathname: string): string {
  return decodeURIComponent(pathname)
    .replace(/@[^/]+:[^/]+/g, '{userId}')
    .replace(/![^/]+/g, '{roomId}')
    .replace(/\$[^/]+/g, '{eventId}')
    .replace(/(\/(send|redact)\/[^/]+\/)[^/]+$/, '$1{txnId}');
}

const recordingFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  const key = `${init?.method ?? 'GET'} ${shapeOf(url.pathname)} -> ${res.status}`;
  endpoints.set(key, (endpoints.get(key) ?? 0) + 1);
  if (!res.ok) {
    let errcode: string | undefined;
    try {
      errcode = ((await res.clone().json()) as { errcode?: string }).errcode;
    } catch {
      // not JSON
    }
    refused.push({ method: init?.method ?? 'GET', path: shapeOf(url.pathname), status: res.status, ...(errcode ? { errcode } : {}) });
  }
  return res;
};

export interface SdkLogin {
  userId: string;
  accessToken: string;
  deviceId: string;
}

/** A client with no session yet, for registration and login. */
export function anonymousClient(baseUrl: string): MatrixClient {
  return createClient({ baseUrl, fetchFn: recordingFetch, logger: silent });
}

export function sdkClient(baseUrl: string, login: SdkLogin): MatrixClient {
  return createClient({
    baseUrl,
    userId: login.userId,
    accessToken: login.accessToken,
    deviceId: login.deviceId,
    fetchFn: recordingFetch,
    logger: silent,
  });
}

/** Something a client's sync loop emitted, in arrival order. */
export type Seen =
  | { kind: 'sync'; state: string }
  | { kind: 'membership'; roomId: string; membership: string }
  | { kind: 'timeline'; roomId: string; type: string; sender: string; eventId: string; body?: unknown; stateKey?: string; event: MatrixEvent }
  | { kind: 'typing'; roomId: string; userId: string; typing: boolean }
  | { kind: 'receipt'; roomId: string; eventId: string; userId: string; receiptType: string };

interface Waiter {
  pred: (s: Seen) => boolean;
  resolve: (index: number) => void;
}

/** Records what a client emits; `until` waits (bounded) for a matching entry, old or new. */
export class SyncLog {
  readonly seen: Seen[] = [];
  private waiters = new Set<Waiter>();

  constructor(readonly client: MatrixClient) {
    client.on(ClientEvent.Sync, (state) => this.push({ kind: 'sync', state }));
    client.on(RoomEvent.MyMembership, (room: Room, membership: string) => this.push({ kind: 'membership', roomId: room.roomId, membership }));
    client.on(RoomEvent.Timeline, (ev, room, toStartOfTimeline) => {
      if (toStartOfTimeline || !room) return;
      this.push({
        kind: 'timeline',
        roomId: room.roomId,
        type: ev.getType(),
        sender: ev.getSender() ?? '',
        eventId: ev.getId() ?? '',
        body: ev.getContent().body,
        ...(ev.isState() ? { stateKey: ev.getStateKey() } : {}),
        event: ev,
      });
    });
    client.on(RoomMemberEvent.Typing, (_ev: MatrixEvent, m: RoomMember) => this.push({ kind: 'typing', roomId: m.roomId, userId: m.userId, typing: m.typing }));
    client.on(RoomEvent.Receipt, (ev: MatrixEvent, room: Room) => {
      const content = ev.getContent() as Record<string, Record<string, Record<string, unknown>>>;
      for (const [eventId, byType] of Object.entries(content)) {
        for (const [receiptType, byUser] of Object.entries(byType)) {
          for (const userId of Object.keys(byUser)) this.push({ kind: 'receipt', roomId: room.roomId, eventId, userId, receiptType });
        }
      }
    });
  }

  private push(s: Seen): void {
    const index = this.seen.push(s) - 1;
    for (const w of this.waiters) {
      if (w.pred(s)) {
        this.waiters.delete(w);
        w.resolve(index);
      }
    }
  }

  /** Index of the first entry at or after `from` matching `pred`; rejects after `ms`. */
  until(what: string, pred: (s: Seen) => boolean, ms = 10_000, from = 0): Promise<number> {
    const i = this.seen.findIndex((s, n) => n >= from && pred(s));
    if (i >= 0) return Promise.resolve(i);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`${this.client.getUserId()} did not see ${what} within ${ms} ms`));
      }, ms);
      const w: Waiter = {
        pred,
        resolve: (index) => {
          clearTimeout(timer);
          resolve(index);
        },
      };
      this.waiters.add(w);
    });
  }

  /** Waits for the sync after entry `index` to finish processing (rooms are stored by then). */
  syncDone(index: number, ms = 10_000): Promise<number> {
    return this.until('the end of that sync', (s) => s.kind === 'sync', ms, index + 1);
  }

  /** Bodies of the m.room.message events seen in `roomId`, in order. */
  messages(roomId: string): unknown[] {
    return this.seen.flatMap((s) => (s.kind === 'timeline' && s.roomId === roomId && s.type === 'm.room.message' ? [s.body] : []));
  }
}

/** Starts the sync loop and waits for the first sync to finish. */
export async function startSyncing(client: MatrixClient, opts: Parameters<MatrixClient['startClient']>[0] = {}): Promise<SyncLog> {
  const log = new SyncLog(client);
  const prepared = log.until('the first sync', (s) => s.kind === 'sync' && (s.state === 'PREPARED' || s.state === 'ERROR'), 15_000);
  await client.startClient({ initialSyncLimit: 20, ...opts });
  const i = await prepared;
  const s = log.seen[i]!;
  if (s.kind === 'sync' && s.state === 'ERROR') throw new Error(`first sync of ${client.getUserId()} failed: ${JSON.stringify(client.getSyncStateData())}`);
  return log;
}
