// The signature checks the auth rules themselves make: the third-party invite's `signed`
// block against the public keys of its m.room.third_party_invite event, and a restricted
// join's signature by the authorising user's server.
import { decodeBase64, decodeBase64Url } from '../../crypto/base64.js';
import { verify, PUBLIC_KEY_BYTES } from '../../crypto/ed25519.js';
import { signedBytes } from '../../crypto/sign-json.js';
import type { RoomVersion } from '../room-versions.js';
import { isJsonObject, type PDU } from '../pdu.js';
import { checkServerSignature } from '../signing.js';
import type { AuthOptions } from './types.js';

/** Identity-server keys are unpadded base64 in either alphabet. */
function decodePublicKey(s: unknown): Buffer | undefined {
  if (typeof s !== 'string') return undefined;
  for (const decode of [decodeBase64, decodeBase64Url]) {
    try {
      const k = decode(s);
      if (k.length === PUBLIC_KEY_BYTES) return k;
    } catch {
      // try the other alphabet
    }
  }
  return undefined;
}

/** Public keys of an m.room.third_party_invite: `public_key` and each of `public_keys`. */
export function thirdPartyInviteKeys(content: Record<string, unknown>): Buffer[] {
  const keys: Buffer[] = [];
  const single = decodePublicKey(content.public_key);
  if (single) keys.push(single);
  if (Array.isArray(content.public_keys)) {
    for (const entry of content.public_keys) {
      const k = isJsonObject(entry) ? decodePublicKey(entry.public_key) : undefined;
      if (k) keys.push(k);
    }
  }
  return keys;
}

/** Whether any signature in `signed` verifies with any public key of the invite event. */
export function verifyThirdPartyInviteSigned(
  version: RoomVersion,
  signed: Record<string, unknown>,
  inviteContent: Record<string, unknown>,
): boolean {
  const keys = thirdPartyInviteKeys(inviteContent);
  const sigs = signed.signatures;
  if (keys.length === 0 || !isJsonObject(sigs)) return false;
  let bytes: Buffer;
  try {
    bytes = signedBytes(signed, !version.strictCanonicalJson);
  } catch {
    return false;
  }
  for (const server of Object.keys(sigs)) {
    const byKey = sigs[server];
    if (!isJsonObject(byKey)) continue;
    for (const keyId of Object.keys(byKey)) {
      const b64 = byKey[keyId];
      let sig: Buffer;
      try {
        if (typeof b64 !== 'string') continue;
        sig = decodeBase64(b64);
      } catch {
        continue;
      }
      for (const key of keys) if (verify(sig, bytes, key)) return true;
    }
  }
  return false;
}

/** Whether the event carries a valid signature by `server` (with a key `options.keys` knows). */
export function eventSignedByServer(version: RoomVersion, event: PDU, server: string, options: AuthOptions): boolean {
  if (options.skipSignatureChecks) return true;
  return checkServerSignature(version, event, server, options.keys) === 'ok';
}
