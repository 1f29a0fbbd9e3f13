// "Signing JSON" from the spec appendix: sign the canonical JSON of an object without its
// `signatures` and `unsigned` members, and check such signatures.
import { canonicalJson } from './canonical.js';
import { decodeBase64, encodeBase64, Base64Error } from './base64.js';
import { sign, verify } from './ed25519.js';
import type { SigningKey } from './signing-key.js';

export type JsonObject = Record<string, unknown>;
export type Signatures = Record<string, Record<string, string>>;

const UNSIGNED_KEYS = ['signatures', 'unsigned'] as const;

/** The bytes a signature covers. */
export function signedBytes(obj: object, lax = false): Buffer {
  return canonicalJson(obj, { drop: UNSIGNED_KEYS, lax });
}

/** Signature (unpadded base64) of `obj` by `key`, without modifying `obj`. */
export function signatureOf(obj: object, key: SigningKey): string {
  return encodeBase64(sign(signedBytes(obj), key.secretKey));
}

/** Returns a copy of `obj` with this server's signature added beside any existing ones. */
export function signJson<T extends object>(obj: T, serverName: string, key: SigningKey): T {
  const signature = signatureOf(obj, key);
  const existing = ((obj as JsonObject).signatures ?? {}) as Signatures;
  const signatures: Signatures = { ...existing, [serverName]: { ...(existing[serverName] ?? {}), [key.keyId]: signature } };
  return { ...obj, signatures };
}

export type SignatureCheck = 'ok' | 'bad' | 'missing';

/**
 * Checks `obj`'s signature by `serverName` with key `keyId`, following the appendix's
 * "Checking for a Signature": a missing entry is 'missing', anything else that fails is 'bad'.
 */
export function checkJsonSignature(
  obj: object,
  serverName: string,
  keyId: string,
  publicKey: Uint8Array,
  lax = false,
): SignatureCheck {
  const sigs = (obj as JsonObject).signatures as Signatures | undefined;
  const b64 = sigs && typeof sigs === 'object' ? sigs[serverName]?.[keyId] : undefined;
  if (typeof b64 !== 'string') return 'missing';
  let sig: Buffer;
  try {
    sig = decodeBase64(b64);
  } catch (e) {
    if (e instanceof Base64Error) return 'bad';
    throw e;
  }
  return verify(sig, signedBytes(obj, lax), publicKey) ? 'ok' : 'bad';
}

export function verifyJsonSignature(obj: object, serverName: string, keyId: string, publicKey: Uint8Array): boolean {
  return checkJsonSignature(obj, serverName, keyId, publicKey) === 'ok';
}
