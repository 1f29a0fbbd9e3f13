// Sync responses as JSON text, with the part of a joined room that many syncs share (timeline
// and state) serialized once. When one message wakes 10,000 syncs, they all send the same
// timeline slice: it is formatted and stringified once, and each response splices that text
// between its own per-user fields (ephemeral, account data, unread counts, summary).
import type { JoinedRoomSync, SyncResponse } from './types.js';

/** Timeline and state of a joined room, formatted for any viewer, and their JSON text. */
export interface SharedRoomPart {
  readonly timeline: JoinedRoomSync['timeline'];
  readonly state: JoinedRoomSync['state'];
  /** `"timeline":{…},"state":{…}`: spliced into the room's object. */
  readonly json: string;
}

const SHARED = Symbol('sharedRoomPart');
type WithShared = JoinedRoomSync & { [SHARED]?: SharedRoomPart };

export function makeSharedPart(timeline: JoinedRoomSync['timeline'], state: JoinedRoomSync['state']): SharedRoomPart {
  // Every sync that gets this slice holds these very objects: they must not change.
  Object.freeze(timeline);
  Object.freeze(timeline.events);
  Object.freeze(state);
  Object.freeze(state.events);
  for (const e of timeline.events) Object.freeze(e);
  for (const e of state.events) Object.freeze(e);
  return { timeline, state, json: `"timeline":${JSON.stringify(timeline)},"state":${JSON.stringify(state)}` };
}

/** Puts a shared timeline and state into `part` (the objects, and the text for the serializer). */
export function useSharedPart(part: JoinedRoomSync, shared: SharedRoomPart): void {
  part.timeline = shared.timeline as JoinedRoomSync['timeline'];
  part.state = shared.state as JoinedRoomSync['state'];
  (part as WithShared)[SHARED] = shared;
}

/** JSON.stringify, with the empty values most of a woken sync consists of written as literals. */
function json(v: unknown): string {
  if (typeof v === 'object' && v !== null) {
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
    } else {
      let n = 0;
      let only = '';
      for (const k in v) {
        only = k;
        if (++n > 1) break;
      }
      if (n === 0) return '{}';
      if (n === 1 && only === 'events') {
        const e = (v as { events: unknown }).events;
        if (Array.isArray(e) && e.length === 0) return '{"events":[]}';
      }
    }
  }
  return JSON.stringify(v);
}

/** Quoted field names (a small fixed set: the response's own keys, not room ids). */
const quotedKeys = new Map<string, string>();
function key(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < 256) quotedKeys.set(k, q);
  }
  return q;
}

function joinedRoomJson(part: WithShared): string {
  const shared = part[SHARED];
  // Used only while the part still holds the shared objects.
  if (!shared || part.timeline !== shared.timeline || part.state !== shared.state) return JSON.stringify(part);
  let out = `{${shared.json}`;
  for (const k in part) {
    if (k === 'timeline' || k === 'state') continue;
    const v = (part as unknown as Record<string, unknown>)[k];
    if (v !== undefined) out += `,${key(k)}:${json(v)}`;
  }
  return `${out}}`;
}

/** JSON.stringify(res), with shared room parts spliced in as text. */
export function serializeSync(res: SyncResponse): string {
  let out = '{';
  let first = true;
  for (const k in res) {
    const v = (res as unknown as Record<string, unknown>)[k];
    if (v === undefined) continue;
    out += `${first ? '' : ','}${key(k)}:`;
    first = false;
    if (k !== 'rooms') {
      out += json(v);
      continue;
    }
    const rooms = v as SyncResponse['rooms'];
    let r = '{';
    let firstKind = true;
    for (const kind in rooms) {
      const group = (rooms as unknown as Record<string, Record<string, unknown> | undefined>)[kind];
      if (group === undefined) continue;
      r += `${firstKind ? '' : ','}${key(kind)}:`;
      firstKind = false;
      if (kind !== 'join') {
        r += json(group);
        continue;
      }
      let j = '{';
      let firstRoom = true;
      for (const roomId in group) {
        j += `${firstRoom ? '' : ','}${JSON.stringify(roomId)}:${joinedRoomJson(group[roomId] as WithShared)}`;
        firstRoom = false;
      }
      r += `${j}}`;
    }
    out += `${r}}`;
  }
  return `${out}}`;
}
