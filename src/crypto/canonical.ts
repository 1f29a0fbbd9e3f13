// Public canonical-JSON and hashing API used by the rest of the server. Every caller goes
// through here; the work is done by the Wasm kernel (assembly/canonical.ts, wrapped by
// wasm-canonical.ts), with the TypeScript reference (canonical-ref.ts) as the authority for
// JS values the kernel cannot see exactly.
import { canonicalJsonRefBytes, CanonicalJsonError, type CanonicalOptions } from './canonical-ref.js';
import {
  canonicalView,
  sha256Bytes,
  wasmCanonical,
  wasmCanonicalAndHash,
  wasmSha256Canonical,
  type CanonicalView,
} from './wasm-canonical.js';

export { CanonicalJsonError, type CanonicalOptions };

export interface CanonicalAndHash {
  canonical: Buffer;
  sha256: Buffer;
}

/**
 * JS value → canonical bytes in Wasm memory, or undefined when the reference must decide.
 * JSON.stringify writes what the kernel re-reads, except for values JSON cannot carry:
 * bigints and cycles throw, lone surrogates come out as \\uD800 escapes and floats as
 * decimals (the kernel refuses both), NaN, ±Infinity and undefined/functions in arrays come
 * out as `null`, and integers past 2^53 are rounded to 17 digits. So any refusal, and any
 * output holding a null or (lax) an unsafe integer, is handed to the reference, which gives
 * the exact answer (or the exact error). Values are assumed to be
 * JSON data (plain objects, arrays, strings, numbers, booleans, null, bigints): toJSON
 * methods are honoured here but ignored by the reference.
 */
function viaWasm(value: unknown, options: CanonicalOptions | undefined): CanonicalView | undefined {
  let text: string | undefined;
  let opts = options;
  try {
    // JSON.stringify dominates this path, so members about to be dropped are not written.
    const trimmed = withoutDropped(value, options?.drop);
    if (trimmed !== value) opts = options?.lax ? { lax: true } : undefined;
    text = JSON.stringify(trimmed);
  } catch {
    return undefined;
  }
  if (typeof text !== 'string') return undefined;
  try {
    const view = canonicalView(text, opts);
    return view.ambiguous ? undefined : view;
  } catch (e) {
    if (e instanceof CanonicalJsonError) return undefined;
    throw e;
  }
}

/** A shallow copy of a plain object without the dropped keys, or the value itself. */
function withoutDropped(value: unknown, drop: readonly string[] | undefined): unknown {
  if (!drop || drop.length === 0 || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const obj = value as Record<string, unknown>;
  if (!drop.some((k) => Object.prototype.hasOwnProperty.call(obj, k))) return value;
  const copy: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    if (drop.includes(k)) continue;
    if (k === '__proto__') return value; // assigning it would set the prototype instead
    copy[k] = obj[k];
  }
  return copy;
}

/** Canonical JSON bytes of a JS value. */
export function canonicalJson(value: unknown, options?: CanonicalOptions): Buffer {
  const view = viaWasm(value, options);
  if (!view) return canonicalJsonRefBytes(value, options);
  const out = Buffer.allocUnsafe(view.bytes.length);
  view.bytes.copy(out);
  return out;
}

/** Canonical JSON bytes of raw UTF-8 JSON text (refuses anything canonical JSON cannot hold). */
export function canonicalJsonFromBytes(json: Uint8Array, options?: CanonicalOptions): Buffer {
  return wasmCanonical(json, options);
}

export function sha256(bytes: Uint8Array): Buffer {
  return sha256Bytes(bytes);
}

/** SHA-256 of the canonical JSON of a JS value. */
export function sha256Canonical(value: unknown, options?: CanonicalOptions): Buffer {
  const view = viaWasm(value, options);
  return sha256(view ? view.bytes : canonicalJsonRefBytes(value, options));
}

/** SHA-256 of the canonical JSON of raw UTF-8 JSON text, hashed without leaving Wasm memory. */
export function sha256CanonicalFromBytes(json: Uint8Array, options?: CanonicalOptions): Buffer {
  return wasmSha256Canonical(json, options);
}

/** Canonical bytes and their SHA-256 from raw UTF-8 JSON text, in one pass. */
export function canonicalJsonAndSha256FromBytes(json: Uint8Array, options?: CanonicalOptions): CanonicalAndHash {
  return wasmCanonicalAndHash(json, options);
}

/** Canonical bytes and their SHA-256 of a JS value. */
export function canonicalJsonAndSha256(value: unknown, options?: CanonicalOptions): CanonicalAndHash {
  const canonical = canonicalJson(value, options);
  return { canonical, sha256: sha256(canonical) };
}
