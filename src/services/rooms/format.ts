// Events as clients see them (spec "Room Event Format" / ClientEvent): the PDU's client fields,
// redacted form once redacted, and `unsigned` with age, the sender device's transaction id,
// prev_content for state events, and redacted_because.
import { redact } from '../../events/redaction.js';
import type { RoomVersion } from '../../events/room-versions.js';
import type { EventStore, StoredEvent } from '../../storage/events.js';
import type { ClientEvent } from '../sync/types.js';

export interface Viewer {
  userId: string;
  deviceId?: string;
}

/** Formats events, loading what their `unsigned` needs (replaced state, redactions) in one go. */
export async function formatEvents(
  events: EventStore,
  version: RoomVersion,
  list: readonly StoredEvent[],
  viewer?: Viewer,
  now = Date.now(),
): Promise<ClientEvent[]> {
  const replaced = list.map((e) => e.replacesStateNid).filter((n): n is number => n !== null);
  const prev = replaced.length ? await events.byNids(replaced) : new Map<number, StoredEvent>();
  const redactionIds = list.map((e) => e.redactedBy).filter((x): x is string => x !== null);
  const redactions = redactionIds.length ? await events.byIds(redactionIds) : new Map<string, StoredEvent>();
  return list.map((e) => formatEvent(version, e, viewer, now, prev, redactions));
}

function formatEvent(
  version: RoomVersion,
  e: StoredEvent,
  viewer: Viewer | undefined,
  now: number,
  prev: Map<number, StoredEvent>,
  redactions: Map<string, StoredEvent>,
): ClientEvent {
  const because = e.redactedBy ? redactions.get(e.redactedBy) : undefined;
  const pdu = because ? redact(version, e.pdu) : e.pdu;
  const out: ClientEvent = {
    content: pdu.content ?? {},
    event_id: e.eventId,
    origin_server_ts: pdu.origin_server_ts,
    room_id: e.roomId,
    sender: pdu.sender,
    type: pdu.type,
  };
  if (pdu.state_key !== undefined) out.state_key = pdu.state_key;
  if (pdu.type === 'm.room.redaction') {
    // Clients read `redacts` at the top level in every room version.
    const target = e.pdu.redacts ?? (e.pdu.content as Record<string, unknown>).redacts;
    if (typeof target === 'string') out.redacts = target;
  }
  const unsigned: Record<string, unknown> = { age: Math.max(0, now - pdu.origin_server_ts) };
  if (viewer && e.txnId && e.pdu.sender === viewer.userId && e.txnDevice === viewer.deviceId) unsigned.transaction_id = e.txnId;
  if (e.replacesStateNid !== null) {
    const p = prev.get(e.replacesStateNid);
    if (p) {
      unsigned.replaces_state = p.eventId;
      unsigned.prev_content = (p.redactedBy ? redact(version, p.pdu) : p.pdu).content;
      unsigned.prev_sender = p.pdu.sender;
    }
  }
  if (because) unsigned.redacted_because = formatEvent(version, because, undefined, now, new Map(), new Map());
  out.unsigned = unsigned;
  return out;
}

/** Stripped state (invites, knocks): type, state_key, sender and content only. */
export function strippedEvent(e: StoredEvent): ClientEvent {
  return { type: e.pdu.type, state_key: e.pdu.state_key ?? '', sender: e.pdu.sender, content: e.pdu.content };
}
