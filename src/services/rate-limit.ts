// Token-bucket rate limiting, keyed by whatever the caller chooses (client IP, user id). A
// refused request gets 429 M_LIMIT_EXCEEDED with retry_after_ms and a Retry-After header.
import { MatrixError } from '../http/errors.js';
import type { Handler } from '../http/types.js';

export interface RateLimitSettings {
  /** Tokens added per second. */
  per_second: number;
  /** Bucket size: how many requests may come at once after a quiet spell. */
  burst: number;
}

export class LimitExceeded extends MatrixError {
  constructor(readonly retryAfterMs: number) {
    super(429, 'M_LIMIT_EXCEEDED', 'Too many requests', { retry_after_ms: retryAfterMs }, { 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) });
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

// Past this many keys, buckets that have refilled (and so hold no information) are dropped.
const SWEEP_AT = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /** `settings` null: no limit. */
  constructor(
    private readonly settings: RateLimitSettings | null,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `key`, or throws LimitExceeded. */
  take(key: string): void {
    const wait = this.tryTake(key);
    if (wait > 0) throw new LimitExceeded(wait);
  }

  /** Throws LimitExceeded when `key` has no token left, without taking one. */
  check(key: string): void {
    const s = this.settings;
    if (!s) return;
    const b = this.refill(key, s, false);
    if (b && b.tokens < 1) throw new LimitExceeded(this.waitMs(b, s));
  }

  /** Takes a token if there is one; never throws (for counting failures after the fact). */
  consume(key: string): void {
    this.tryTake(key);
  }

  /** 0 when a token was taken, else the milliseconds until one will be available. */
  private tryTake(key: string): number {
    const s = this.settings;
    if (!s) return 0;
    const b = this.refill(key, s, true)!;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return this.waitMs(b, s);
  }

  private waitMs(b: Bucket, s: RateLimitSettings): number {
    return Math.max(1, Math.ceil(((1 - b.tokens) / s.per_second) * 1000));
  }

  private refill(key: string, s: RateLimitSettings, create: boolean): Bucket | undefined {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (!create) return undefined;
      if (this.buckets.size >= SWEEP_AT) this.sweep(now, s);
      b = { tokens: s.burst, at: now };
      this.buckets.set(key, b);
      return b;
    }
    b.tokens = Math.min(s.burst, b.tokens + ((now - b.at) / 1000) * s.per_second);
    b.at = now;
    return b;
  }

  private sweep(now: number, s: RateLimitSettings): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * s.per_second >= s.burst) this.buckets.delete(k);
    }
    // Still full of active keys: forget the oldest half rather than grow without bound.
    if (this.buckets.size >= SWEEP_AT) {
      let n = this.buckets.size / 2;
      for (const k of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(k);
      }
    }
  }
}

/** The limiters of the account endpoints. */
export interface AccountRateLimits {
  /** Login attempts per client IP. */
  login: RateLimiter;
  /** Failed password checks per user (login and user-interactive auth). */
  loginFailures: RateLimiter;
  /** Registration requests per client IP. */
  registration: RateLimiter;
}

