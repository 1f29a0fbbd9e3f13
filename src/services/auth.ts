// Client authentication: argon2id password hashes, access tokens, and resolving a request's
// token to its user and device. Token lookups go through an in-memory LRU so an authenticated
// request normally costs no database round trip; anything that deletes tokens evicts them.
import sodium from 'sodium-native';
import { encodeBase64Url } from '../crypto/base64.js';
import { sha256 } from '../crypto/canonical.js';
import { MatrixError } from '../http/errors.js';
import type { Request } from '../http/types.js';
import type { AccountStore, LastSeen, TokenOwner } from '../storage/accounts.js';
import type { Logger } from '../util/logger.js';

// ---------------------------------------------------------------- passwords

export interface PasswordHashingOptions {
  opsLimit: number;
  memLimitBytes: number;
  /** Hashes computed at once; the rest wait, so logins cannot fill libuv's whole thread pool. */
  maxConcurrent?: number;
}

const STRBYTES: number = sodium.crypto_pwhash_STRBYTES;

export class PasswordHasher {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private dummy?: Promise<string>;
  private readonly maxConcurrent: number;

  constructor(private readonly opts: PasswordHashingOptions) {
    if (opts.opsLimit < sodium.crypto_pwhash_OPSLIMIT_MIN || opts.memLimitBytes < sodium.crypto_pwhash_MEMLIMIT_MIN) {
      throw new Error('password hashing limits are below libsodium minimums');
    }
    this.maxConcurrent = opts.maxConcurrent ?? 2;
  }

  /** An argon2id string ($argon2id$v=19$m=...,t=...,p=1$salt$hash) for a non-empty password. */
  async hash(password: string): Promise<string> {
    const pw = Buffer.from(password, 'utf8');
    if (pw.length === 0) throw new Error('cannot hash an empty password');
    const out = Buffer.alloc(STRBYTES);
    await this.limited(() => sodium.crypto_pwhash_str_async(out, pw, this.opts.opsLimit, this.opts.memLimitBytes));
    return out.subarray(0, out.indexOf(0)).toString('ascii');
  }

  /**
   * Whether `password` matches `hash`. With no hash (unknown user, no password set) a dummy
   * hash is checked instead, so the answer takes as long either way.
   */
  async verify(hash: string | null, password: string): Promise<boolean> {
    const pw = Buffer.from(password, 'utf8');
    const stored = hash ?? (await (this.dummy ??= this.hash(encodeBase64Url(randomBytes(16)))));
    const str = Buffer.alloc(STRBYTES);
    if (Buffer.byteLength(stored, 'ascii') >= STRBYTES || pw.length === 0) return false;
    str.write(stored, 'ascii');
    const ok = await this.limited(() => sodium.crypto_pwhash_str_verify_async(str, pw));
    return ok && hash !== null;
  }

  /** True when the hash was made with other limits than the configured ones. */
  needsRehash(hash: string): boolean {
    const str = Buffer.alloc(STRBYTES);
    if (Buffer.byteLength(hash, 'ascii') >= STRBYTES) return true;
    str.write(hash, 'ascii');
    return sodium.crypto_pwhash_str_needs_rehash(str, this.opts.opsLimit, this.opts.memLimitBytes);
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

// ---------------------------------------------------------------- tokens and ids

export function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  sodium.randombytes_buf(b);
  return b;
}

/** A fresh access token (32 random bytes, URL-safe base64) and the hash that is stored. */
export function newAccessToken(): { token: string; hash: Buffer } {
  const token = encodeBase64Url(randomBytes(32));
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): Buffer {
  return sha256(Buffer.from(token, 'utf8'));
}

const DEVICE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A server-chosen device id: ten upper-case letters. */
export function newDeviceId(): string {
  let id = '';
  for (const b of randomBytes(10)) id += DEVICE_ALPHABET[b % 26];
  return id;
}

// ---------------------------------------------------------------- request authentication

/** Who made an authenticated request. */
export interface Requester {
  userId: string;
  deviceId: string;
  isAdmin: boolean;
}

export const missingToken = () => new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
export const unknownToken = () => new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Unrecognised access token', { soft_logout: false });

/** The access token of a request: `Authorization: Bearer …`, or the deprecated `access_token` query parameter. */
export function accessTokenOf(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1] : undefined;
  }
  return req.query.get('access_token') ?? undefined;
}

export interface AuthOptions {
  cacheSize?: number;
  /** Cached entries are re-read after this long, bounding staleness if another process edits tokens. */
  cacheTtlMs?: number;
  lastSeenFlushMs?: number;
  now?: () => number;
}

interface CacheEntry {
  owner: Requester;
  expires: number;
}

export class Auth {
  // A Map iterates in insertion order: re-inserting on a hit makes the first key the least recently used.
  private readonly cache = new Map<string, CacheEntry>();
  // Bumped on every eviction: a lookup that raced with one does not cache what it read.
  private generation = 0;
  private readonly pendingSeen = new Map<string, LastSeen>();
  private readonly timer: NodeJS.Timeout;
  private readonly cacheSize: number;
  private readonly cacheTtlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: AccountStore,
    private readonly log: Logger,
    opts: AuthOptions = {},
  ) {
    this.cacheSize = opts.cacheSize ?? 10_000;
    this.cacheTtlMs = opts.cacheTtlMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => void this.flushLastSeen(), opts.lastSeenFlushMs ?? 30_000);
    this.timer.unref();
  }

  /** The requester, or 401 M_MISSING_TOKEN / M_UNKNOWN_TOKEN. */
  async requireUser(req: Request): Promise<Requester> {
    const token = accessTokenOf(req);
    if (token === undefined) throw missingToken();
    return this.resolve(token, req);
  }

  /** The requester when the request carries a token (which must then be valid), else undefined. */
  async optionalUser(req: Request): Promise<Requester | undefined> {
    const token = accessTokenOf(req);
    return token === undefined ? undefined : this.resolve(token, req);
  }

  private async resolve(token: string, req: Request): Promise<Requester> {
    const hash = hashToken(token);
    const key = hash.toString('base64');
    const now = this.now();
    const hit = this.cache.get(key);
    let owner: Requester | undefined;
    if (hit && hit.expires > now) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      owner = hit.owner;
    } else {
      if (hit) this.cache.delete(key);
      const gen = this.generation;
      const found: TokenOwner | undefined = await this.store.lookupToken(hash);
      if (!found) throw unknownToken();
      owner = { userId: found.userId, deviceId: found.deviceId, isAdmin: found.isAdmin };
      if (gen === this.generation) {
        this.cache.set(key, { owner, expires: now + this.cacheTtlMs });
        if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
      }
    }
    req.log.user = owner.userId;
    this.pendingSeen.set(`${owner.userId}\n${owner.deviceId}`, { userId: owner.userId, deviceId: owner.deviceId, ts: now, ip: req.remoteAddress });
    return owner;
  }

  /** Drops deleted tokens from the cache. */
  evict(tokenHashes: readonly Buffer[]): void {
    this.generation++;
    for (const h of tokenHashes) this.cache.delete(h.toString('base64'));
  }

  /** Drops every cached token of a user (e.g. after their admin flag changed). */
  forgetUser(userId: string): void {
    this.generation++;
    for (const [k, e] of this.cache) if (e.owner.userId === userId) this.cache.delete(k);
  }

  /** Forgets pending last-seen updates of deleted devices. */
  forgetDevices(userId: string, deviceIds: readonly string[]): void {
    for (const d of deviceIds) this.pendingSeen.delete(`${userId}\n${d}`);
  }

  /** Last-seen data not yet written to the database. */
  pendingLastSeen(userId: string, deviceId: string): LastSeen | undefined {
    return this.pendingSeen.get(`${userId}\n${deviceId}`);
  }

  async flushLastSeen(): Promise<void> {
    if (this.pendingSeen.size === 0) return;
    const batch = [...this.pendingSeen.values()];
    this.pendingSeen.clear();
    try {
      await this.store.updateLastSeen(batch);
    } catch (e) {
      this.log.warn({ err: e }, 'could not record device last-seen times');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushLastSeen();
  }
}
