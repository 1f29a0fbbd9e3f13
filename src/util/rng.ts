// A small seeded PRNG (mulberry32) for reproducible generated data in tests and benchmarks.
// Not for anything secret: use crypto.randomBytes for ids, tokens and keys.
export class Rng {
  constructor(private s: number) {}

  /** A float in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = Math.imul(this.s ^ (this.s >>> 15), 1 | this.s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** The generator as a plain function, for code that wants `() => number`. */
export function prng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}
