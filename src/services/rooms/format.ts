// Events as clients see them (spec "Room Event Format" / ClientEvent): the PDU's client fields,
// redacted form once redacted, and `unsigned` with age, the sender device's transaction id,
// prev_content for state events, and redacted_because.
//
// What does not depend on the viewer or the clock is computed once per event and cached: when
// one message wakes 1,000 syncs, it is formatted once, not 1,000 times.
import { redact } from '../../events/redaction.js';
import type { RoomVersion } from '../../events/room-versions.js';
import type { EventStore, StoredEvent } from '../../storage/events.js';
import type { ClientEvent } from '../sync/types.js';

export interface Viewer {
  userId: string;
  deviceId?: string;
}

interface Formatted {
  /** The redaction state this was computed for: recomputed when the event is redacted later. */
  redactedBy: string | null;
  base: ClientEvent;
  unsigned: Record<string, unknown>;
  /** The redaction event, presented with a fresh age each time. */
  because?: { event: StoredEvent; formatted: Formatted };
}

const cache = new WeakMap<StoredEvent, Formatted>();

/** Formats events, loading what their `unsigned` needs (replaced state, redactions) in one go. */
export async function formatEvents(
  events: EventStore,
  version: RoomVersion,
  list: readonly StoredEvent[],
  viewer?: Viewer,
  now = Date.now(),
): Promise<ClientEvent[]> {
  const todo = list.filter((e) => {
    const f = cache.get(e);
    return !f || f.redactedBy !== e.redactedBy;
  });
  if (todo.length) {
    const replaced = todo.map((e) => e.replacesStateNid).filter((n): n is number => n !== null);
    const prev = replaced.length ? await events.byNids(replaced) : new Map<number, StoredEvent>();
    const redactionIds = todo.map((e) => e.redactedBy).filter((x): x is string => x !== null);
    const redactions = redactionIds.length ? await events.byIds(redactionIds) : new Map<string, StoredEvent>();
    for (const e of todo) cache.set(e, computeFormatted(version, e, prev, redactions));
  }
  return list.map((e) => present(e, cache.get(e)!, viewer, now));
}

function present(e: StoredEvent, f: Formatted, viewer: Viewer | undefined, now: number): ClientEvent {
  const unsigned: Record<string, unknown> = { ...f.unsigned, age: Math.max(0, now - e.pdu.origin_server_ts) };
  if (viewer && e.txnId && e.pdu.sender === viewer.userId && e.txnDevice === viewer.deviceId) unsigned.transaction_id = e.txnId;
  if (f.because) unsigned.redacted_because = present(f.because.event, f.because.formatted, undefined, now);
  return { ...f.base, unsigned };
}

function computeFormatted(
  version: RoomVersion,
  e: StoredEvent,
  prev: Map<number, StoredEvent>,
  redactions: Map<string, StoredEvent>,
): Formatted {
  const because = e.redactedBy ? redactions.get(e.redactedBy) : undefined;
  const pdu = because ? redact(version, e.pdu) : e.pdu;
  const base: ClientEvent = {
    content: pdu.content ?? {},
    event_id: e.eventId,
    origin_server_ts: pdu.origin_server_ts,
    room_id: e.roomId,
    sender: pdu.sender,
    type: pdu.type,
  };
  if (pdu.state_key !== undefined) base.state_key = pdu.state_key;
  if (pdu.type === 'm.room.redaction') {
    // Clients read `redacts` at the top level in every room version.
    const target = e.pdu.redacts ?? (e.pdu.content as Record<string, unknown>).redacts;
    if (typeof target === 'string') base.redacts = target;
  }
  const unsigned: Record<string, unknown> = {};
  if (e.replacesStateNid !== null) {
    const p = prev.get(e.replacesStateNid);
    if (p) {
      unsigned.replaces_state = p.eventId;
      unsigned.prev_content = (p.redactedBy ? redact(version, p.pdu) : p.pdu).content;
      unsigned.prev_sender = p.pdu.sender;
    }
  }
  const f: Formatted = { redactedBy: e.redactedBy, base, unsigned };
  if (because) f.because = { event: because, formatted: computeFormatted(version, because, new Map(), new Map()) };
  return f;
}

/** Stripped state (invites, knocks): type, state_key, sender and content only. */
export function strippedEvent(e: StoredEvent): ClientEvent {
  return { type: e.pdu.type, state_key: e.pdu.state_key ?? '', sender: e.pdu.sender, content: e.pdu.content };
}
