// Plain-TypeScript reference implementation of Matrix canonical JSON (spec appendix "Canonical
// JSON"). It is the oracle the Wasm kernel is tested against, and the fallback for JS values.
//
// JSON.stringify already writes strings exactly as canonical JSON wants them (short escapes
// for \b \t \n \f \r, lower-case \u00XX for other controls, everything else literal UTF-8,
// U+2028/2029 included), except that it escapes lone surrogates, which we refuse instead.

export class CanonicalJsonError extends Error {
  override name = 'CanonicalJsonError';
  /** Byte offset in the input JSON text, when the error comes from parsing bytes. */
  readonly position: number | undefined;
  constructor(message: string, position?: number) {
    super(message);
    this.position = position;
  }
}

export interface CanonicalOptions {
  /** Top-level keys to leave out (e.g. signatures, unsigned, hashes). */
  drop?: readonly string[];
  /** Allow integers outside ±(2^53−1): room versions 1–5 may carry them. */
  lax?: boolean;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function encodeString(s: string): string {
  if (LONE_SURROGATE.test(s)) throw new CanonicalJsonError('string contains a lone surrogate');
  return JSON.stringify(s);
}

/** Most containers that may be open at once (the Wasm kernel has the same limit). */
export const MAX_DEPTH = 512;

/** `depth` counts the containers around `value`. */
function encode(value: unknown, lax: boolean, depth: number, drop?: readonly string[]): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value);
    case 'number':
      if (!Number.isInteger(value)) throw new CanonicalJsonError(`number ${value} is not an integer`);
      if (Object.is(value, -0)) return '0';
      if (value > MAX_SAFE || value < -MAX_SAFE) {
        if (!lax) throw new CanonicalJsonError(`integer ${value} is outside ±(2^53−1)`);
        // String(1e21) is "1e+21": write every digit, as for a bigint.
        return BigInt(value).toString();
      }
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      if (!lax && (value > BigInt(MAX_SAFE) || value < -BigInt(MAX_SAFE))) {
        throw new CanonicalJsonError(`integer ${value} is outside ±(2^53−1)`);
      }
      return value.toString();
    case 'object': {
      if (value === null) return 'null';
      if (depth >= MAX_DEPTH) throw new CanonicalJsonError(`JSON nested deeper than ${MAX_DEPTH} levels`);
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i) out += ',';
          out += encode(value[i], lax, depth + 1);
        }
        return out + ']';
      }
      const obj = value as Record<string, unknown>;
      // Members JSON cannot hold (undefined, functions, symbols) are left out, as
      // JSON.stringify does; in arrays they are refused.
      const keys = Object.keys(obj).filter((k) => isPresent(obj[k]) && !(drop && drop.includes(k)));
      keys.sort(compareCodePoints);
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        if (i) out += ',';
        out += encodeString(k) + ':' + encode(obj[k], lax, depth + 1);
      }
      return out + '}';
    }
    default:
      throw new CanonicalJsonError(`cannot encode a ${typeof value} as JSON`);
  }
}

function isPresent(v: unknown): boolean {
  return v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';
}

/**
 * Code-point order. JS's default sort compares UTF-16 code units, which puts astral characters
 * (surrogates, 0xD800+) before U+E000–U+FFFF; code-point order puts them after.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Canonical JSON text of a JS value. Throws CanonicalJsonError for what the encoding forbids. */
export function canonicalJsonRef(value: unknown, options: CanonicalOptions = {}): string {
  return encode(value, options.lax ?? false, 0, options.drop);
}

/** Canonical JSON of a JS value as UTF-8 bytes. */
export function canonicalJsonRefBytes(value: unknown, options: CanonicalOptions = {}): Buffer {
  return Buffer.from(canonicalJsonRef(value, options), 'utf8');
}
