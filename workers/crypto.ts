// Piscina worker for batched signing-JSON work. Each thread loads sodium-native and the
// canonical-JSON Wasm kernel once (module scope). Batches arrive packed: all JSON texts in
// one ArrayBuffer with a Uint32 offset table, both transferred rather than copied; results
// go back the same way.
import { move, transferableSymbol, valueSymbol } from 'piscina';
import sodium from 'sodium-native';
import { decodeBase64, encodeBase64 } from '../src/crypto/base64.js';
import { canonicalView, signedView, wasmSha256Canonical } from '../src/crypto/wasm-canonical.js';
import { CanonicalJsonError } from '../src/crypto/canonical-ref.js';

/** n texts: text i is bytes[offsets[i], offsets[i+1]). */
export interface Packed {
  bytes: ArrayBuffer;
  offsets: ArrayBuffer;
}

export interface VerifyTask extends Packed {
  serverNames: string[];
  keyIds: string[];
  /** 32 bytes per item. */
  publicKeys: ArrayBuffer;
  lax: boolean;
}

export interface HashTask extends Packed {
  drop: string[] | undefined;
  lax: boolean;
}

export interface HashResult {
  /** 32 bytes per item (zeros where the item failed). */
  digests: ArrayBuffer;
  /** Error message per failed item, by index. */
  errors: Record<number, string>;
}

export interface SignTask extends Packed {
  seed: ArrayBuffer;
  lax: boolean;
}

const SIGNED_DROP: readonly string[] = Object.freeze(['signatures', 'unsigned']);

function item(p: Packed, offs: Uint32Array, i: number): Uint8Array {
  return new Uint8Array(p.bytes, offs[i]!, offs[i + 1]! - offs[i]!);
}

/**
 * Checks one signature on raw signed JSON: canonical bytes without signatures/unsigned,
 * signatures[server][keyId] decoded strictly, ed25519 via libsodium. Anything malformed is
 * simply not a valid signature.
 */
export function verifySignedJson(json: Uint8Array, serverName: string, keyId: string, publicKey: Uint8Array, lax = false): boolean {
  if (publicKey.byteLength !== sodium.crypto_sign_PUBLICKEYBYTES) return false;
  let view;
  try {
    view = signedView(json, serverName, keyId, lax);
  } catch (e) {
    if (e instanceof CanonicalJsonError) return false;
    throw e;
  }
  if (view.signature === undefined) return false;
  let sig: Buffer;
  try {
    sig = decodeBase64(view.signature);
  } catch {
    return false;
  }
  if (sig.length !== sodium.crypto_sign_BYTES) return false;
  return sodium.crypto_sign_verify_detached(sig, view.signed, publicKey as Buffer);
}

/** Signature (unpadded base64) of raw JSON, as signJson would compute it. */
export function signJsonBytes(json: Uint8Array, secretKey: Buffer, lax = false): string {
  const view = canonicalView(json, lax ? { drop: SIGNED_DROP, lax } : { drop: SIGNED_DROP });
  const sig = Buffer.allocUnsafe(sodium.crypto_sign_BYTES);
  sodium.crypto_sign_detached(sig, view.bytes, secretKey);
  return encodeBase64(sig);
}

export function verify(task: VerifyTask): ReturnType<typeof move> {
  const offs = new Uint32Array(task.offsets);
  const n = offs.length - 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const pk = new Uint8Array(task.publicKeys, i * 32, 32);
    out[i] = verifySignedJson(item(task, offs, i), task.serverNames[i]!, task.keyIds[i]!, pk, task.lax) ? 1 : 0;
  }
  return move(out);
}

/** A reply object whose buffer is transferred (move() only transfers top-level values). */
function transferring<T extends object>(value: T, buffers: ArrayBuffer[]): ReturnType<typeof move> {
  return move({
    get [transferableSymbol]() {
      return buffers;
    },
    get [valueSymbol]() {
      return value;
    },
  });
}

export function hash(task: HashTask): ReturnType<typeof move> {
  const offs = new Uint32Array(task.offsets);
  const n = offs.length - 1;
  const digests = new Uint8Array(n * 32);
  const errors: Record<number, string> = {};
  const opts = { drop: task.drop, lax: task.lax };
  for (let i = 0; i < n; i++) {
    try {
      digests.set(wasmSha256Canonical(item(task, offs, i), opts), i * 32);
    } catch (e) {
      if (!(e instanceof CanonicalJsonError)) throw e;
      errors[i] = e.message;
    }
  }
  const reply: HashResult = { digests: digests.buffer, errors };
  return transferring(reply, [digests.buffer]);
}

// One key pair per seed, derived once per thread.
const keys = new Map<string, Buffer>();

function secretKeyFor(seed: ArrayBuffer): Buffer {
  const id = Buffer.from(seed).toString('base64');
  let sk = keys.get(id);
  if (!sk) {
    const pk = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES);
    sk = sodium.sodium_malloc(sodium.crypto_sign_SECRETKEYBYTES) as unknown as Buffer;
    sodium.crypto_sign_seed_keypair(pk, sk, Buffer.from(seed));
    keys.set(id, sk);
  }
  return sk;
}

export interface SignResult {
  signatures: string[];
  /** The first item that could not be canonicalised (errors lose their class across threads). */
  error?: { index: number; message: string; position: number | undefined };
}

export function sign(task: SignTask): SignResult {
  if (task.seed.byteLength !== sodium.crypto_sign_SEEDBYTES) throw new Error('ed25519 seed must be 32 bytes');
  const sk = secretKeyFor(task.seed);
  const offs = new Uint32Array(task.offsets);
  const n = offs.length - 1;
  const signatures: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    try {
      signatures[i] = signJsonBytes(item(task, offs, i), sk, task.lax);
    } catch (e) {
      if (!(e instanceof CanonicalJsonError)) throw e;
      return { signatures: [], error: { index: i, message: e.message, position: e.position } };
    }
  }
  return { signatures };
}
