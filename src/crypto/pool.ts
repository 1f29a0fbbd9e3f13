// A pool of worker threads (Piscina, workers/crypto.ts) for batches of signing-JSON work:
// verifying, hashing and signing many JSON texts at once. Each call packs its texts into one
// ArrayBuffer that is transferred, not copied, to the worker, and splits large batches so
// every thread gets a share.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { CanonicalJsonError, type CanonicalOptions } from './canonical-ref.js';
import type { HashResult, HashTask, Packed, SignResult, SignTask, VerifyTask } from '../../workers/crypto.js';

const WORKER_URL = new URL('../../workers/crypto.js', import.meta.url);

export interface VerifyItem {
  /** Raw UTF-8 JSON of the signed object (an event, a key response…). */
  json: Uint8Array;
  serverName: string;
  keyId: string;
  /** 32-byte ed25519 public key. */
  publicKey: Uint8Array;
}

export interface CryptoPoolOptions {
  /** Worker threads; defaults to os.availableParallelism(). */
  threads?: number;
  /** Threads kept alive while idle (default: all). The server uses 0: an idle homeserver
   *  should not hold a thread, its Wasm memory and V8 heap per core. */
  minThreads?: number;
  /** How long an idle thread above minThreads lives. */
  idleTimeoutMs?: number;
}

// Below these sizes a batch is not worth splitting further (per-task overhead is ~tens of µs;
// a verify costs ~50 µs, a hash ~2 µs).
const MIN_VERIFY_CHUNK = 16;
const MIN_HASH_CHUNK = 256;
const MIN_SIGN_CHUNK = 16;

function pack(texts: readonly Uint8Array[], from: number, to: number): Packed {
  let total = 0;
  for (let i = from; i < to; i++) total += texts[i]!.byteLength;
  const bytes = new Uint8Array(total);
  const offsets = new Uint32Array(to - from + 1);
  let o = 0;
  for (let i = from; i < to; i++) {
    offsets[i - from] = o;
    bytes.set(texts[i]!, o);
    o += texts[i]!.byteLength;
  }
  offsets[to - from] = o;
  return { bytes: bytes.buffer, offsets: offsets.buffer };
}

function toBytes(x: Uint8Array | object): Uint8Array {
  return x instanceof Uint8Array ? x : Buffer.from(JSON.stringify(x), 'utf8');
}

export class CryptoPool {
  readonly threads: number;
  private readonly pool: Piscina;

  constructor(options: CryptoPoolOptions = {}) {
    this.threads = Math.max(1, Math.floor(options.threads ?? availableParallelism()));
    this.pool = new Piscina({
      filename: WORKER_URL.href,
      minThreads: Math.min(this.threads, options.minThreads ?? this.threads),
      maxThreads: this.threads,
      idleTimeout: options.idleTimeoutMs ?? 60_000,
    });
  }

  /** [from, to) ranges splitting n items into at most `threads` chunks of ≥ minChunk. */
  private ranges(n: number, minChunk: number): [number, number][] {
    const chunks = Math.max(1, Math.min(this.threads, Math.ceil(n / minChunk)));
    const size = Math.ceil(n / chunks);
    const out: [number, number][] = [];
    for (let from = 0; from < n; from += size) out.push([from, Math.min(n, from + size)]);
    return out;
  }

  /** Checks each item's signature; false for a bad, missing or malformed one. */
  async verifyBatch(items: readonly VerifyItem[], options: { lax?: boolean } = {}): Promise<boolean[]> {
    const jsons = items.map((it) => it.json);
    const parts = await Promise.all(
      this.ranges(items.length, MIN_VERIFY_CHUNK).map(([from, to]) => {
        const keys = new Uint8Array((to - from) * 32);
        for (let i = from; i < to; i++) {
          const pk = items[i]!.publicKey;
          if (pk.byteLength === 32) keys.set(pk, (i - from) * 32); // other lengths stay zero: never valid
        }
        const task: VerifyTask = {
          ...pack(jsons, from, to),
          serverNames: items.slice(from, to).map((it) => it.serverName),
          keyIds: items.slice(from, to).map((it) => it.keyId),
          publicKeys: keys.buffer,
          lax: options.lax ?? false,
        };
        return this.pool.run(task, { name: 'verify', transferList: [task.bytes, task.offsets, task.publicKeys] }) as Promise<Uint8Array>;
      }),
    );
    const out: boolean[] = [];
    for (const p of parts) for (const b of p) out.push(b === 1);
    return out;
  }

  /**
   * SHA-256 of the canonical JSON of each text: a 32-byte Buffer, or the CanonicalJsonError
   * for a text canonical JSON cannot represent.
   */
  async hashBatch(texts: readonly Uint8Array[], options: CanonicalOptions = {}): Promise<Array<Buffer | CanonicalJsonError>> {
    const drop = options.drop ? [...options.drop] : undefined;
    const parts = await Promise.all(
      this.ranges(texts.length, MIN_HASH_CHUNK).map(([from, to]) => {
        const task: HashTask = { ...pack(texts, from, to), drop, lax: options.lax ?? false };
        return this.pool.run(task, { name: 'hash', transferList: [task.bytes, task.offsets] }) as Promise<HashResult>;
      }),
    );
    const out: Array<Buffer | CanonicalJsonError> = [];
    for (const { digests, errors } of parts) {
      const all = Buffer.from(digests);
      for (let i = 0; i < all.length / 32; i++) {
        const err = errors[i];
        out.push(err === undefined ? all.subarray(i * 32, i * 32 + 32) : new CanonicalJsonError(err));
      }
    }
    return out;
  }

  /**
   * Signatures (unpadded base64) of each object by the ed25519 key with this seed, as
   * signJson computes them (signatures and unsigned left out). Objects may be given as raw
   * JSON bytes or as JS values. Rejects with CanonicalJsonError if any cannot be signed.
   */
  async signBatch(objects: readonly (Uint8Array | object)[], seed: Uint8Array, options: { lax?: boolean } = {}): Promise<string[]> {
    if (seed.byteLength !== 32) throw new Error('ed25519 seed must be 32 bytes');
    const texts = objects.map(toBytes);
    const parts = await Promise.all(
      this.ranges(texts.length, MIN_SIGN_CHUNK).map(async ([from, to]) => {
        const task: SignTask = { ...pack(texts, from, to), seed: new Uint8Array(seed).buffer, lax: options.lax ?? false };
        const res = (await this.pool.run(task, { name: 'sign', transferList: [task.bytes, task.offsets, task.seed] })) as SignResult;
        if (res.error) throw new CanonicalJsonError(`object ${from + res.error.index}: ${res.error.message}`, res.error.position);
        return res.signatures;
      }),
    );
    return parts.flat();
  }

  /** Waits for queued tasks, then stops the threads. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}
