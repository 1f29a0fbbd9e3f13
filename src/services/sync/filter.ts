// Event filters (spec: filter.yaml, sync_filter.yaml, event_filter.yaml, room_event_filter.yaml):
// parsing with validation, and matching events against them.
import { badJson } from '../../http/errors.js';

export interface EventFilter {
  limit?: number;
  types?: string[];
  not_types?: string[];
  senders?: string[];
  not_senders?: string[];
}

export interface RoomEventFilter extends EventFilter {
  rooms?: string[];
  not_rooms?: string[];
  contains_url?: boolean;
  lazy_load_members?: boolean;
  include_redundant_members?: boolean;
  unread_thread_notifications?: boolean;
}

export interface RoomFilter {
  rooms?: string[];
  not_rooms?: string[];
  include_leave?: boolean;
  timeline?: RoomEventFilter;
  state?: RoomEventFilter;
  ephemeral?: RoomEventFilter;
  account_data?: RoomEventFilter;
}

export interface Filter {
  event_fields?: string[];
  event_format?: 'client' | 'federation';
  presence?: EventFilter;
  account_data?: EventFilter;
  room?: RoomFilter;
}

function stringList(v: unknown, path: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw badJson(`${path} must be a list of strings`);
  return v as string[];
}

function bool(v: unknown, path: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw badJson(`${path} must be a boolean`);
  return v;
}

function obj(v: unknown, path: string): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badJson(`${path} must be an object`);
  return v as Record<string, unknown>;
}

function parseEventFilter(v: unknown, path: string): EventFilter | undefined {
  const o = obj(v, path);
  if (!o) return undefined;
  const f: EventFilter = {};
  if (o.limit !== undefined) {
    if (!Number.isInteger(o.limit) || (o.limit as number) < 1) throw badJson(`${path}.limit must be a positive integer`);
    f.limit = o.limit as number;
  }
  for (const k of ['types', 'not_types', 'senders', 'not_senders'] as const) {
    const l = stringList(o[k], `${path}.${k}`);
    if (l) f[k] = l;
  }
  return f;
}

function parseRoomEventFilter(v: unknown, path: string): RoomEventFilter | undefined {
  const base = parseEventFilter(v, path);
  if (!base) return undefined;
  const o = v as Record<string, unknown>;
  const f: RoomEventFilter = base;
  for (const k of ['rooms', 'not_rooms'] as const) {
    const l = stringList(o[k], `${path}.${k}`);
    if (l) f[k] = l;
  }
  for (const k of ['contains_url', 'lazy_load_members', 'include_redundant_members', 'unread_thread_notifications'] as const) {
    const b = bool(o[k], `${path}.${k}`);
    if (b !== undefined) f[k] = b;
  }
  return f;
}

/** Validates a filter definition; throws M_BAD_JSON naming the bad field. */
export function parseFilter(v: unknown): Filter {
  const o = obj(v, 'filter') ?? {};
  const f: Filter = {};
  const fields = stringList(o.event_fields, 'event_fields');
  if (fields) f.event_fields = fields;
  if (o.event_format !== undefined) {
    if (o.event_format !== 'client' && o.event_format !== 'federation') throw badJson('event_format must be "client" or "federation"');
    f.event_format = o.event_format;
  }
  const presence = parseEventFilter(o.presence, 'presence');
  if (presence) f.presence = presence;
  const ad = parseEventFilter(o.account_data, 'account_data');
  if (ad) f.account_data = ad;
  const r = obj(o.room, 'room');
  if (r) {
    const room: RoomFilter = {};
    for (const k of ['rooms', 'not_rooms'] as const) {
      const l = stringList(r[k], `room.${k}`);
      if (l) room[k] = l;
    }
    const il = bool(r.include_leave, 'room.include_leave');
    if (il !== undefined) room.include_leave = il;
    for (const k of ['timeline', 'state', 'ephemeral', 'account_data'] as const) {
      const sub = parseRoomEventFilter(r[k], `room.${k}`);
      if (sub) room[k] = sub;
    }
    f.room = room;
  }
  return f;
}

const globs = new Map<string, RegExp>();

/** `*` matches any run of characters, as the spec's filters allow in types. */
function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  if (pattern === '*') return true;
  // Compiled once per pattern: every woken sync runs its filter (`presence: {not_types: ["*"]}`).
  let re = globs.get(pattern);
  if (!re) {
    if (globs.size >= 1000) globs.clear();
    globs.set(pattern, (re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$')));
  }
  return re.test(value);
}

export function matchesEventFilter(f: EventFilter | undefined, ev: { type: string; sender?: string; content?: unknown }): boolean {
  if (!f) return true;
  if (f.not_types?.some((t) => globMatch(t, ev.type))) return false;
  if (f.types && !f.types.some((t) => globMatch(t, ev.type))) return false;
  if (ev.sender !== undefined) {
    if (f.not_senders?.includes(ev.sender)) return false;
    if (f.senders && !f.senders.includes(ev.sender)) return false;
  }
  const rf = f as RoomEventFilter;
  if (rf.contains_url !== undefined) {
    const has = !!ev.content && typeof ev.content === 'object' && 'url' in (ev.content as object);
    if (has !== rf.contains_url) return false;
  }
  return true;
}

export function roomAllowed(f: { rooms?: string[]; not_rooms?: string[] } | undefined, roomId: string): boolean {
  if (!f) return true;
  if (f.not_rooms?.includes(roomId)) return false;
  if (f.rooms && !f.rooms.includes(roomId)) return false;
  return true;
}
