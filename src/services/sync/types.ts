// Shapes shared by /sync and the services that contribute to it.

/** `s<stream>_<ephemeral>`: the stream position (src/services/streams.ts) and the in-memory
 *  ephemeral counter (typing). */
export interface SyncToken {
  stream: number;
  ephemeral: number;
}

export function formatSyncToken(t: SyncToken): string {
  return `s${t.stream}_${t.ephemeral}`;
}

export function parseSyncToken(s: string): SyncToken | undefined {
  const m = /^s(\d{1,15})_(\d{1,15})$/.exec(s);
  return m ? { stream: Number(m[1]), ephemeral: Number(m[2]) } : undefined;
}

export type ClientEvent = Record<string, unknown>;

export interface JoinedRoomSync {
  timeline: { events: ClientEvent[]; limited: boolean; prev_batch?: string };
  state: { events: ClientEvent[] };
  ephemeral: { events: ClientEvent[] };
  account_data: { events: ClientEvent[] };
  unread_notifications: { highlight_count: number; notification_count: number };
  unread_thread_notifications?: Record<string, { highlight_count: number; notification_count: number }>;
  summary: Record<string, unknown>;
}

export interface SyncResponse {
  next_batch: string;
  rooms: {
    join: Record<string, JoinedRoomSync>;
    invite: Record<string, { invite_state: { events: ClientEvent[] } }>;
    leave: Record<string, { state: { events: ClientEvent[] }; timeline: { events: ClientEvent[]; limited: boolean; prev_batch?: string }; account_data: { events: ClientEvent[] } }>;
    knock: Record<string, { knock_state: { events: ClientEvent[] } }>;
  };
  presence: { events: ClientEvent[] };
  account_data: { events: ClientEvent[] };
  to_device: { events: ClientEvent[] };
  device_lists: { changed: string[]; left: string[] };
  device_one_time_keys_count: Record<string, number>;
  device_unused_fallback_key_types: string[];
}

/** What a contributor knows about the sync being built. */
export interface SyncRequestContext {
  userId: string;
  deviceId: string;
  /** Null for an initial sync. */
  since: SyncToken | null;
  /** The positions this response covers: include changes with since < position <= upto. */
  upto: SyncToken;
  fullState: boolean;
  /** Rooms the user is joined to as of `upto`. */
  joinedRoomIds: readonly string[];
  /** The `set_presence` query parameter, if given. */
  setPresence?: string;
  /** The filter's parts, already parsed (see src/services/sync/filter.ts). */
  filter: import('./filter.js').Filter;
}

/**
 * A stream that adds its part to a sync response: account data, to-device, presence, typing,
 * receipts, device lists, one-time key counts... Contributors must be cheap when nothing
 * changed for this user since `since` (keep per-user "last changed at" positions in memory
 * rather than querying every time), because 1,000 syncs may wake for one message.
 * Per-room parts go into `roomPart(roomId)`, which creates the joined room's entry on demand.
 */
export interface SyncContributor {
  readonly name: string;
  contribute(ctx: SyncRequestContext, res: SyncResponse, roomPart: (roomId: string) => JoinedRoomSync): Promise<void>;
}
