// Content hash and reference hash of an event ("Signing Events" in the server-server API).
// All hashing goes through src/crypto/canonical.ts; versions before 6 hash laxly.
import { sha256Canonical } from '../crypto/canonical.js';
import { decodeBase64, encodeBase64, Base64Error } from '../crypto/base64.js';
import type { RoomVersion } from './room-versions.js';
import { isJsonObject, type PDU } from './pdu.js';
import { redact } from './redaction.js';

// From v3 the event id is not part of the event on the wire, so a copy the server keeps on
// its own object must not enter any hash.
const CONTENT_HASH_DROP = ['unsigned', 'signatures', 'hashes'] as const;
const CONTENT_HASH_DROP_NO_ID = [...CONTENT_HASH_DROP, 'event_id'] as const;
const REFERENCE_DROP = ['signatures', 'unsigned'] as const;
const REFERENCE_DROP_NO_ID = [...REFERENCE_DROP, 'event_id'] as const;

/** The fields that a hash over `version`'s events leaves out besides the named ones. */
function withoutLocalId(version: RoomVersion, withId: readonly string[], withoutId: readonly string[]): readonly string[] {
  return version.eventIdInEvent ? withId : withoutId;
}

/** SHA-256 over the canonical JSON of the event without unsigned, signatures and hashes. */
export function contentHash(version: RoomVersion, event: Record<string, unknown>): Buffer {
  return sha256Canonical(event, {
    drop: withoutLocalId(version, CONTENT_HASH_DROP, CONTENT_HASH_DROP_NO_ID),
    lax: !version.strictCanonicalJson,
  });
}

/** Whether `hashes.sha256` of the event matches its content hash. */
export function checkContentHash(version: RoomVersion, event: Record<string, unknown>): boolean {
  const hashes = event.hashes;
  if (!isJsonObject(hashes) || typeof hashes.sha256 !== 'string') return false;
  let claimed: Buffer;
  try {
    claimed = decodeBase64(hashes.sha256);
  } catch (e) {
    if (e instanceof Base64Error) return false;
    throw e;
  }
  return claimed.equals(contentHash(version, event));
}

/** The event with `hashes.sha256` set to its content hash (a new object). */
export function withContentHash<T extends Record<string, unknown>>(version: RoomVersion, event: T): T {
  const hashes = isJsonObject(event.hashes) ? event.hashes : {};
  return { ...event, hashes: { ...hashes, sha256: encodeBase64(contentHash(version, event)) } };
}

/** SHA-256 over the canonical JSON of the redacted event without signatures and unsigned. */
export function referenceHash(version: RoomVersion, event: Record<string, unknown>): Buffer {
  return sha256Canonical(redact(version, event), {
    drop: withoutLocalId(version, REFERENCE_DROP, REFERENCE_DROP_NO_ID),
    lax: !version.strictCanonicalJson,
  });
}

/** How a v1–2 event is cited in prev_events/auth_events: [id, {sha256: reference hash}]. */
export function referenceHashes(version: RoomVersion, event: PDU): { sha256: string } {
  return { sha256: encodeBase64(referenceHash(version, event)) };
}
