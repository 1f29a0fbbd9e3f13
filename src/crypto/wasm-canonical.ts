// Loads the canonical-JSON Wasm kernel (assembly/canonical.ts) once per thread and wraps its
// memory protocol: copy the input in, canonicalise, then read, copy or hash the output
// straight out of Wasm memory.
import { readFileSync } from 'node:fs';
import { hash as nodeHash } from 'node:crypto';
import { CanonicalJsonError, type CanonicalOptions } from './canonical-ref.js';

// The project's lib settings carry no WebAssembly types (they live in lib.dom); the little
// used here is declared locally rather than globally, so it cannot clash with other modules.
interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface KernelExports {
  memory: { readonly buffer: ArrayBuffer };
  inputPtr(): number;
  dropPtr(): number;
  dropCapacity(): number;
  argPtr(): number;
  outputPtr(): number;
  errorCode(): number;
  errorPosition(): number;
  seenFlags(): number;
  foundPtrOut(): number;
  foundLength(): number;
  reserveInput(n: number): number;
  canonicalize(n: number, flags: number): number;
  findSignature(aLen: number, bLen: number): number;
}

/** Messages for the kernel's error codes (keep in step with assembly/canonical.ts). */
const MESSAGES: Record<number, string> = {
  1: 'unexpected end of input',
  2: 'expected a JSON value',
  3: 'unexpected data after the JSON value',
  4: 'invalid literal (expected true, false or null)',
  5: 'invalid number',
  6: 'number is not an integer (fractions and exponents are not allowed)',
  7: 'integer outside ±(2^53−1)',
  8: 'negative zero is not allowed',
  9: 'raw control character in string',
  10: 'invalid escape sequence',
  11: 'lone surrogate in \\u escape',
  12: 'invalid UTF-8',
  13: 'duplicate key',
  14: 'JSON nested deeper than 512 levels',
  15: "expected ':' after object key",
  16: "expected ',' or a closing bracket",
  17: 'expected a string object key',
  18: 'unterminated string',
  19: 'input too large',
};

export const WASM_URL = new URL('../../assembly/canonical.wasm', import.meta.url);

let wasmModule: WasmModule | undefined;

/** The compiled module: compiled once per thread, on first use. */
export function canonicalModule(): WasmModule {
  return (wasmModule ??= new WA.Module(readFileSync(WASM_URL)));
}

class Kernel {
  readonly x: KernelExports;
  readonly inPtr: number;
  /** Views of Wasm memory; replaced whenever memory grows (the old buffer detaches). */
  u8: Uint8Array;
  buf: Buffer;
  /** The names currently written in the kernel's drop list. */
  private dropNames: readonly string[] = [];
  private readonly encoder = new TextEncoder();

  constructor() {
    const instance = new WA.Instance(canonicalModule(), {});
    this.x = instance.exports as unknown as KernelExports;
    this.inPtr = this.x.inputPtr();
    this.u8 = new Uint8Array(this.x.memory.buffer);
    this.buf = Buffer.from(this.x.memory.buffer);
  }

  /** Input size the kernel has room for, with all its working regions (memory only grows). */
  private inCap = 0;

  /**
   * Grows memory here, never inside canonicalize(), so the views only need renewing after
   * this call (memory.grow detaches the old ArrayBuffer).
   */
  private reserve(n: number): void {
    if (n <= this.inCap) return;
    if (!this.x.reserveInput(n)) throw new CanonicalJsonError('input too large');
    this.inCap = n;
    this.u8 = new Uint8Array(this.x.memory.buffer);
    this.buf = Buffer.from(this.x.memory.buffer);
  }

  /** Writes the drop list into Wasm memory unless the same names are already there. */
  private setDrop(drop: readonly string[] | undefined): number {
    if (!drop || drop.length === 0) return 0;
    // Compared by content (a few short strings), so a caller reusing and changing one array
    // is still seen; callers usually pass the same constant.
    if (sameList(drop, this.dropNames)) return this.dropNames.length;
    if (drop.length > 255) throw new CanonicalJsonError('too many keys to drop');
    const cap = this.x.dropCapacity();
    const base = this.x.dropPtr();
    const view = new DataView(this.u8.buffer);
    let off = 0;
    for (const name of drop) {
      const bytes = Buffer.from(name, 'utf8');
      const padded = (bytes.length + 3) & ~3;
      if (off + 4 + padded > cap) throw new CanonicalJsonError('drop list too long');
      view.setUint32(base + off, bytes.length, true);
      this.u8.set(bytes, base + off + 4);
      off += 4 + padded;
    }
    this.dropNames = [...drop];
    return drop.length;
  }

  /** Copies `input` (bytes or a JS string, encoded as UTF-8) into the input region. */
  load(input: Uint8Array | string): number {
    if (typeof input === 'string') {
      // UTF-16 → UTF-8 is at most 3 bytes per code unit.
      this.reserve(input.length * 3);
      return this.encoder.encodeInto(input, this.u8.subarray(this.inPtr)).written;
    }
    // (A view of this module's own output is fine here: it is never longer than the room
    // already reserved, so reserve() cannot detach it, and it does not overlap the input.)
    const n = input.length;
    this.reserve(n);
    this.u8.set(input, this.inPtr);
    return n;
  }

  /** Canonicalises the n loaded bytes; returns the output's offset and length in memory. */
  run(n: number, options: CanonicalOptions | undefined): number {
    const count = this.setDrop(options?.drop);
    const len = this.x.canonicalize(n, (options?.lax ? 1 : 0) | (count << 8));
    if (len < 0) {
      const code = this.x.errorCode();
      const pos = this.x.errorPosition();
      const msg = MESSAGES[code] ?? `canonical JSON error ${code}`;
      throw new CanonicalJsonError(code === 19 ? msg : `${msg} at byte ${pos}`, code === 19 ? undefined : pos);
    }
    return len;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

let kernel: Kernel | undefined;
function k(): Kernel {
  return (kernel ??= new Kernel());
}

/**
 * A view of canonical bytes inside Wasm memory. Valid only until the next call into this
 * module on this thread: hash or copy it at once.
 */
export interface CanonicalView {
  bytes: Buffer;
  /**
   * The output holds a `null` or (under lax) an integer outside ±(2^53−1): things that, when
   * the input came from JSON.stringify, may not mean what the JS value held.
   */
  ambiguous: boolean;
}

/** Canonicalises `input` (UTF-8 JSON bytes, or JSON text) and returns a view of the result. */
export function canonicalView(input: Uint8Array | string, options?: CanonicalOptions): CanonicalView {
  const kk = k();
  const len = kk.run(kk.load(input), options);
  const ptr = kk.x.outputPtr();
  return { bytes: kk.buf.subarray(ptr, ptr + len), ambiguous: kk.x.seenFlags() !== 0 };
}

/** Canonical JSON bytes of raw UTF-8 JSON (a fresh Buffer). */
export function wasmCanonical(input: Uint8Array | string, options?: CanonicalOptions): Buffer {
  const kk = k();
  const len = kk.run(kk.load(input), options);
  const ptr = kk.x.outputPtr();
  const out = Buffer.allocUnsafe(len);
  kk.buf.copy(out, 0, ptr, ptr + len);
  return out;
}

/**
 * SHA-256 of bytes with node:crypto (OpenSSL, SHA-NI where the CPU has it: several times
 * faster than SHA-256 compiled to Wasm). The one-shot hash() is cheaper than createHash(),
 * and asking it for a latin1 string then copying that into a Buffer is ~0.6 µs cheaper per
 * call than its 'buffer' output, which builds the Buffer from C++ (measured on Node 20; see
 * bench/crypto.ts).
 */
export function sha256Bytes(bytes: Uint8Array): Buffer {
  return Buffer.from(nodeHash('sha256', bytes, 'binary'), 'binary'); // 'binary' = latin1
}

/** SHA-256 of the canonical JSON of raw UTF-8 JSON, hashed in place in Wasm memory. */
export function wasmSha256Canonical(input: Uint8Array | string, options?: CanonicalOptions): Buffer {
  const kk = k();
  const len = kk.run(kk.load(input), options);
  return sha256Bytes(new Uint8Array(kk.u8.buffer, kk.x.outputPtr(), len));
}

/** Both the canonical bytes and their SHA-256. */
export function wasmCanonicalAndHash(
  input: Uint8Array | string,
  options?: CanonicalOptions,
): { canonical: Buffer; sha256: Buffer } {
  const kk = k();
  const len = kk.run(kk.load(input), options);
  const ptr = kk.x.outputPtr();
  const view = kk.buf.subarray(ptr, ptr + len);
  const canonical = Buffer.allocUnsafe(len);
  view.copy(canonical);
  return { canonical, sha256: sha256Bytes(view) };
}

const SIGNED_DROP: readonly string[] = Object.freeze(['signatures', 'unsigned']);

export interface SignedView {
  /** The bytes a signature covers (canonical JSON without signatures and unsigned): a view. */
  signed: Buffer;
  /** signatures[server][keyId] as written (unpadded base64), or undefined if absent. */
  signature: string | undefined;
}

/**
 * Canonicalises signed JSON bytes for checking one signature: the signed bytes (a view into
 * Wasm memory, valid until the next call) and the signature string, found without building
 * JS objects.
 */
export function signedView(json: Uint8Array, serverName: string, keyId: string, lax = false): SignedView {
  const kk = k();
  const len = kk.run(kk.load(json), lax ? { drop: SIGNED_DROP, lax } : { drop: SIGNED_DROP });
  const ptr = kk.x.outputPtr();
  const signed = kk.buf.subarray(ptr, ptr + len);
  const arg = kk.x.argPtr();
  const a = kk.buf.write(serverName, arg, 512, 'utf8');
  const b = kk.buf.write(keyId, arg + 512, 512, 'utf8');
  let signature: string | undefined;
  if (a === Buffer.byteLength(serverName) && b === Buffer.byteLength(keyId) && kk.x.findSignature(a, b)) {
    const p = kk.x.foundPtrOut();
    signature = kk.buf.toString('utf8', p, p + kk.x.foundLength());
  }
  return { signed, signature };
}
