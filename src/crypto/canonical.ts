// Public canonical-JSON and hashing API used by the rest of the server. Every caller goes
// through here, so the implementation behind it (Wasm kernel or TypeScript reference) can be
// swapped without touching callers.
import { createHash } from 'node:crypto';
import { canonicalJsonRefBytes, CanonicalJsonError, type CanonicalOptions } from './canonical-ref.js';

export { CanonicalJsonError, type CanonicalOptions };

/** Canonical JSON bytes of a JS value. */
export function canonicalJson(value: unknown, options?: CanonicalOptions): Buffer {
  return canonicalJsonRefBytes(value, options);
}

/** Canonical JSON bytes of raw UTF-8 JSON text. */
export function canonicalJsonFromBytes(json: Uint8Array, options?: CanonicalOptions): Buffer {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'));
  } catch (e) {
    throw new CanonicalJsonError(`invalid JSON: ${(e as Error).message}`);
  }
  return canonicalJsonRefBytes(value, options);
}

export function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** SHA-256 of the canonical JSON of a JS value. */
export function sha256Canonical(value: unknown, options?: CanonicalOptions): Buffer {
  return sha256(canonicalJson(value, options));
}

/** SHA-256 of the canonical JSON of raw UTF-8 JSON text. */
export function sha256CanonicalFromBytes(json: Uint8Array, options?: CanonicalOptions): Buffer {
  return sha256(canonicalJsonFromBytes(json, options));
}
