// Hashing and signing outgoing events, and checking the hashes and signatures of received
// ones ("Signing Events" in the server-server API).
import { decodeBase64, encodeBase64, encodeBase64Url, Base64Error } from '../crypto/base64.js';
import { sha256 } from '../crypto/canonical.js';
import { sign, verify } from '../crypto/ed25519.js';
import { signedBytes } from '../crypto/sign-json.js';
import type { SigningKey } from '../crypto/signing-key.js';
import type { RoomVersion } from './room-versions.js';
import { isJsonObject, type EventReferencePair, type PDU, type Signatures } from './pdu.js';
import { redact } from './redaction.js';
import { checkContentHash, withContentHash } from './hashing.js';
import { computeEventId, generateEventId } from './event-id.js';
import { serverNameOf } from './identifiers.js';

/** Public key of `server`'s key `keyId` (e.g. "ed25519:abc"), raw 32 bytes, if known. */
export type KeyLookup = (server: string, keyId: string) => Uint8Array | undefined;

/** The object a server signs: the redacted event, without a locally held v3+ event_id. */
function signingForm(version: RoomVersion, event: Record<string, unknown>): Record<string, unknown> {
  const r = redact(version, event);
  if (!version.eventIdInEvent) delete r.event_id;
  return r;
}

/** The bytes that the event's signatures cover. */
export function eventSignedBytes(version: RoomVersion, event: Record<string, unknown>): Buffer {
  return signedBytes(signingForm(version, event), !version.strictCanonicalJson);
}

/**
 * Adds `serverName`'s signature by `key` over the event as it stands (hashes included),
 * beside any signatures already present. Returns a new object.
 */
export function addEventSignature<T extends Record<string, unknown>>(
  version: RoomVersion,
  event: T,
  serverName: string,
  key: SigningKey,
): T & { signatures: Signatures } {
  const signature = encodeBase64(sign(eventSignedBytes(version, event), key.secretKey));
  const existing = (isJsonObject(event.signatures) ? event.signatures : {}) as Signatures;
  const signatures: Signatures = { ...existing, [serverName]: { ...(existing[serverName] ?? {}), [key.keyId]: signature } };
  return { ...event, signatures };
}

/** Content hash, then signature, as a server does for an event it sends. Returns a new object. */
export function hashAndSignEvent<T extends Record<string, unknown>>(
  version: RoomVersion,
  event: T,
  serverName: string,
  key: SigningKey,
): T & { hashes: { sha256: string }; signatures: Signatures } {
  return addEventSignature(version, withContentHash(version, event), serverName, key) as T & {
    hashes: { sha256: string };
    signatures: Signatures;
  };
}

/** The fields a server chooses when it creates an event; the rest is computed. */
export interface EventTemplate {
  /** Omitted for the create event of a v12 room. */
  room_id?: string;
  sender: string;
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
  prev_events: string[] | EventReferencePair[];
  auth_events: string[] | EventReferencePair[];
  depth: number;
  origin_server_ts?: number;
  /** v1–10 redactions (from v11 it goes in content). */
  redacts?: string;
  unsigned?: Record<string, unknown>;
}

export interface BuiltEvent {
  event: PDU;
  eventId: string;
}

/**
 * Builds a complete signed PDU from a template: v1–2 get a fresh `$opaque:server` event_id;
 * v3+ ids are the reference hash of the signed result.
 */
export function buildEvent(version: RoomVersion, template: EventTemplate, serverName: string, key: SigningKey): BuiltEvent {
  const draft: Record<string, unknown> = {
    ...(version.eventIdInEvent ? { event_id: generateEventId(serverName) } : {}),
    ...template,
    origin_server_ts: template.origin_server_ts ?? Date.now(),
    hashes: {},
    signatures: {},
  };
  if (version.redactsInContent) delete draft.redacts;
  for (const k of Object.keys(draft)) if (draft[k] === undefined) delete draft[k];
  // The reference hash (the v3+ event id) covers exactly the bytes the signature covers: the
  // redacted event without signatures and unsigned. Canonicalise once, sign and hash those.
  const hashed = withContentHash(version, draft);
  const bytes = eventSignedBytes(version, hashed);
  const event = {
    ...hashed,
    signatures: { [serverName]: { [key.keyId]: encodeBase64(sign(bytes, key.secretKey)) } },
  } as unknown as PDU;
  const eventId =
    version.eventIdFormat === 'v1'
      ? (draft.event_id as string)
      : '$' + (version.eventIdFormat === 'v3' ? encodeBase64 : encodeBase64Url)(sha256(bytes));
  return { event, eventId };
}

export type SignatureStatus = 'ok' | 'bad' | 'missing';

/**
 * `server`'s signature on the event: 'ok' when at least one signature by a known ed25519 key
 * verifies and none fails, 'bad' when one by a known key fails, 'missing' when there is no
 * signature by a key we know (unknown keys are skipped, as the spec says).
 */
export function checkServerSignature(
  version: RoomVersion,
  event: Record<string, unknown>,
  server: string,
  keys: KeyLookup | undefined,
  bytes?: Uint8Array,
): SignatureStatus {
  const sigs = isJsonObject(event.signatures) ? event.signatures[server] : undefined;
  if (!isJsonObject(sigs) || !keys) return 'missing';
  let status: SignatureStatus = 'missing';
  for (const keyId of Object.keys(sigs)) {
    if (!keyId.startsWith('ed25519:')) continue;
    const publicKey = keys(server, keyId);
    if (!publicKey) continue;
    const b64 = sigs[keyId];
    let sig: Buffer;
    try {
      if (typeof b64 !== 'string') return 'bad';
      sig = decodeBase64(b64);
    } catch (e) {
      if (e instanceof Base64Error) return 'bad';
      throw e;
    }
    bytes ??= eventSignedBytes(version, event);
    if (!verify(sig, bytes, publicKey)) return 'bad';
    status = 'ok';
  }
  return status;
}

/**
 * The servers whose signatures an event needs: the sender's; in v1–2 also the server of the
 * event_id; and, where restricted joins exist, the server of a membership event's
 * `join_authorised_via_users_server` user (the auth rules require that signature).
 */
export function requiredSigningServers(version: RoomVersion, event: Record<string, unknown>): string[] {
  const servers: string[] = [];
  const add = (s: string | undefined): void => {
    if (s !== undefined && !servers.includes(s)) servers.push(s);
  };
  if (typeof event.sender === 'string') add(serverNameOf(event.sender));
  if (version.eventIdServerSigns && typeof event.event_id === 'string') add(serverNameOf(event.event_id));
  if (version.restrictedJoinRule && event.type === 'm.room.member' && isJsonObject(event.content)) {
    const via = event.content.join_authorised_via_users_server;
    if (typeof via === 'string') add(serverNameOf(via));
  }
  return servers;
}

/** Status of each required server's signature. */
export function checkEventSignatures(
  version: RoomVersion,
  event: Record<string, unknown>,
  keys: KeyLookup | undefined,
): Record<string, SignatureStatus> {
  const bytes = eventSignedBytes(version, event);
  const out: Record<string, SignatureStatus> = {};
  for (const server of requiredSigningServers(version, event)) {
    out[server] = checkServerSignature(version, event, server, keys, bytes);
  }
  return out;
}

export interface ReceivedEventCheck {
  eventId: string;
  /** Every required server signed with a known key and every such signature verified. */
  signaturesValid: boolean;
  signatures: Record<string, SignatureStatus>;
  contentHash: 'ok' | 'mismatch';
  /** The event to process further: the redacted copy when the content hash mismatches. */
  event: PDU;
}

/**
 * Signature then hash checks on a received (already format-validated) event: an event whose
 * signatures fail is to be dropped; one whose content hash mismatches is kept, redacted.
 */
export function checkReceivedEvent(version: RoomVersion, event: PDU, keys: KeyLookup | undefined): ReceivedEventCheck {
  const signatures = checkEventSignatures(version, event, keys);
  const signaturesValid = Object.values(signatures).every((s) => s === 'ok');
  const hashOk = checkContentHash(version, event);
  return {
    eventId: computeEventId(version, event),
    signaturesValid,
    signatures,
    contentHash: hashOk ? 'ok' : 'mismatch',
    event: hashOk ? event : redact(version, event),
  };
}
