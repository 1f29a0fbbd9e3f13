// Builds a local event on top of a loaded room's current state: auth events chosen by the spec's
// selection rules, prev events = the forward extremities, depth, authorization against the
// current state, then hashes and signature.
import { authEventTypes, checkAuth } from '../../events/auth/index.js';
import { eventReference } from '../../events/event-id.js';
import { MAX_PDU_BYTES, MAX_PREV_EVENTS, type PDU } from '../../events/pdu.js';
import { buildEvent, type EventTemplate } from '../../events/signing.js';
import { CanonicalJsonError } from '../../crypto/canonical.js';
import type { SigningKey } from '../../crypto/signing-key.js';
import { MatrixError, badJson, forbidden } from '../../http/errors.js';
import type { EventStore, StoredEvent } from '../../storage/events.js';
import { stateKey } from '../../storage/state-tree.js';
import type { LoadedRoom } from './loaded-room.js';

export interface LocalEventRequest {
  type: string;
  sender: string;
  state_key?: string;
  content: Record<string, unknown>;
  /** Redactions: the event redacted (placed per room version). */
  redacts?: string;
}

/** The auth state an event is checked against: the events for its auth (type, state_key) pairs. */
export async function authStateFor(
  events: EventStore,
  room: LoadedRoom,
  req: Pick<PDU, 'type' | 'sender' | 'state_key' | 'content'>,
): Promise<StoredEvent[]> {
  const keys = authEventTypes(room.version, req);
  const nids: number[] = [];
  for (const [t, s] of keys) {
    const nid = room.state.get(stateKey(t, s));
    if (nid !== undefined) nids.push(nid);
  }
  const found = await events.byNids(nids);
  return nids.map((n) => found.get(n)!).filter(Boolean);
}

export function lookupIn(authEvents: readonly StoredEvent[]) {
  return (type: string, sk: string): PDU | undefined => {
    for (const e of authEvents) if (e.pdu.type === type && e.pdu.state_key === sk) return e.pdu;
    return undefined;
  };
}

export interface BuiltLocalEvent {
  pdu: PDU;
  eventId: string;
  json: string;
}

/** Builds, authorizes and signs; throws M_FORBIDDEN naming the rule when the rules refuse it. */
export async function buildLocalEvent(
  events: EventStore,
  room: LoadedRoom,
  req: LocalEventRequest,
  serverName: string,
  key: SigningKey,
): Promise<BuiltLocalEvent> {
  const version = room.version;
  const authEvents = await authStateFor(events, room, req);
  const prev = room.extremities.slice(-MAX_PREV_EVENTS);
  const depth = Math.min(room.maxDepth + 1, Number.MAX_SAFE_INTEGER);
  const template: EventTemplate = {
    room_id: room.roomId,
    sender: req.sender,
    type: req.type,
    content: req.redacts !== undefined && version.redactsInContent ? { ...req.content, redacts: req.redacts } : req.content,
    prev_events: prev.map((e) => eventReference(version, e.pdu)) as EventTemplate['prev_events'],
    auth_events: authEvents.map((e) => eventReference(version, e.pdu)) as EventTemplate['auth_events'],
    depth,
    ...(req.state_key !== undefined ? { state_key: req.state_key } : {}),
    ...(req.redacts !== undefined && !version.redactsInContent ? { redacts: req.redacts } : {}),
  };
  // Authorize the draft before paying for hashing and signing.
  const draft = { ...template, origin_server_ts: Date.now(), hashes: { sha256: '' }, signatures: {} } as PDU;
  const verdict = checkAuth(version, draft, lookupIn(authEvents), { createEvent: room.createEvent.pdu });
  if (!verdict.allowed) throw forbidden(verdict.reason);
  let built: ReturnType<typeof buildEvent>;
  try {
    built = buildEvent(version, template, serverName, key);
  } catch (e) {
    // Content canonical JSON cannot carry (floats, lone surrogates, unsafe integers) is the client's.
    if (e instanceof CanonicalJsonError) throw badJson(`The event is not valid canonical JSON: ${e.message}`);
    throw e;
  }
  const json = JSON.stringify(built.event);
  if (Buffer.byteLength(json) > MAX_PDU_BYTES) throw new MatrixError(413, 'M_TOO_LARGE', `event is larger than ${MAX_PDU_BYTES} bytes`);
  return { pdu: built.event, eventId: built.eventId, json };
}

/** A freshly built local event as the room service stores it, with its allocated ids. */
export function newStoredEvent(
  roomId: string,
  ids: { nid: number; stream: number },
  built: { eventId: string; pdu: PDU; json: string },
  txn?: { deviceId: string; txnId: string },
): StoredEvent {
  return {
    nid: ids.nid,
    eventId: built.eventId,
    roomId,
    pdu: built.pdu,
    json: built.json,
    streamOrdering: ids.stream,
    outlier: false,
    softFailed: false,
    rejected: null,
    stateBefore: null,
    stateAfter: null,
    replacesStateNid: null,
    redactedBy: null,
    txnDevice: txn?.deviceId ?? null,
    txnId: txn?.txnId ?? null,
  };
}
