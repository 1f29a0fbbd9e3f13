// Matrix canonical JSON (spec appendix "Canonical JSON") straight from UTF-8 JSON bytes.
//
// Two passes over linear memory, no objects and no allocator (stub runtime):
//  1. parse: validate the input and build a flat tape of 8-byte entries. Strings with
//     escapes are decoded in place (decoding never lengthens them), so every string's tape
//     entry points at its decoded bytes and keys compare as decoded UTF-8, which orders like
//     code points.
//  2. emit: walk the tape, sort each object's members by key (insertion sort for small
//     objects, merge sort above), write the shortest form. Strings that need no escaping
//     are plain copies.
//
// JS protocol: reserveInput(n) → copy n bytes at inputPtr() → canonicalize(n, flags) →
// the result is outputLength bytes at outputPtr(), or -1 with errorCode()/errorPosition().
// The regions are sized from the input length up front, so the hot loops check no bounds;
// a zero byte written after the input stops every scan at the end.

// ---- tape entry types (top 4 bits of an entry's second word) ----
const T_NULL: u32 = 1;
const T_TRUE: u32 = 2;
const T_FALSE: u32 = 3;
const T_NUM: u32 = 4;
const T_STR: u32 = 5; // string whose decoded bytes need no escaping
const T_STRX: u32 = 6; // string holding " \ or a control character
const T_ARR: u32 = 7;
const T_OBJ: u32 = 8;
const T_DKEY: u32 = 9; // a dropped top-level key: its member is parsed but not emitted
const LEN_MASK: u32 = 0x0fffffff;

// ---- error codes (messages live in src/crypto/wasm-canonical.ts) ----
const E_END: i32 = 1;
const E_UNEXPECTED: i32 = 2;
const E_TRAILING: i32 = 3;
const E_LITERAL: i32 = 4;
const E_NUMBER: i32 = 5;
const E_NOT_INTEGER: i32 = 6;
const E_RANGE: i32 = 7;
const E_NEG_ZERO: i32 = 8;
const E_CONTROL: i32 = 9;
const E_ESCAPE: i32 = 10;
const E_SURROGATE: i32 = 11;
const E_UTF8: i32 = 12;
const E_DUP_KEY: i32 = 13;
const E_DEPTH: i32 = 14;
const E_COLON: i32 = 15;
const E_COMMA: i32 = 16;
const E_KEY: i32 = 17;
const E_UNTERMINATED: i32 = 18;
const E_TOO_LARGE: i32 = 19;

const MAX_DEPTH: u32 = 512;
const MAX_INPUT: u32 = 0x0fffffff; // lengths share a word with the entry type
const PAD: usize = 64; // slack after each region: vector loads/stores may run past the end

// ---- fixed regions at the start of the heap ----
const DROP_CAP: usize = 4096; // drop list: [u32 len][bytes, padded to 4] …
const ARG_CAP: usize = 1024; // two 512-byte string arguments for findSignature
const DROP_BUF: usize = (__heap_base + 15) & ~(<usize>15);
const ARG_BUF: usize = DROP_BUF + DROP_CAP;
const STACK_BUF: usize = ARG_BUF + ARG_CAP; // open containers: [u32 entry ptr][u32 count]
const IN_BUF: usize = STACK_BUF + <usize>(MAX_DEPTH + 2) * 8;

// ---- per-call state ----
let inEnd: usize = 0;
let outBuf: usize = 0;
let outLen: u32 = 0;
let tapeBuf: usize = 0;
let sortBase: usize = 0;
let sortTop: usize = 0;
let errCode: i32 = 0;
let errPos: u32 = 0;
let dupKey: usize = 0;
let seen: u32 = 0; // SEEN_* bits about the last output
const SEEN_NULL: u32 = 1;
const SEEN_BIG: u32 = 2;
let foundPtr: usize = 0;
let foundLen: u32 = 0;

@inline function align16(x: usize): usize {
  return (x + 15) & ~(<usize>15);
}

function ensureMemory(top: usize): bool {
  const have = <usize>memory.size();
  const need = (top + 0xffff) >>> 16;
  if (need > have) return memory.grow(<i32>(need - have)) >= 0;
  return true;
}

function fail(code: i32, p: usize): usize {
  errCode = code;
  errPos = <u32>(p - IN_BUF);
  return 0;
}

// ---------------------------------------------------------------- exports

export function inputPtr(): usize {
  return IN_BUF;
}
export function dropPtr(): usize {
  return DROP_BUF;
}
export function dropCapacity(): u32 {
  return <u32>DROP_CAP;
}
export function argPtr(): usize {
  return ARG_BUF;
}
export function outputPtr(): usize {
  return outBuf;
}
export function outputLength(): u32 {
  return outLen;
}
export function errorCode(): i32 {
  return errCode;
}
export function errorPosition(): u32 {
  return errPos;
}
/**
 * Bit 0: the last output holds a `null` (JSON.stringify also writes NaN, undefined… so).
 * Bit 1: it holds an integer outside ±(2^53−1), kept verbatim under lax (JSON.stringify
 * rounds those to 17 significant digits).
 */
export function seenFlags(): u32 {
  return seen;
}
export function foundPtrOut(): usize {
  return foundPtr;
}
export function foundLength(): u32 {
  return foundLen;
}

/**
 * Makes room for an input of up to `n` bytes at inputPtr() and for everything
 * canonicalize() needs for it, so that call never grows memory (and JS views stay valid).
 * Returns 0 when memory cannot grow.
 */
export function reserveInput(n: u32): i32 {
  if (n > MAX_INPUT) return 0;
  return ensureMemory(layout(<usize>n)) ? 1 : 0;
}

/** Places the regions for an n-byte input; returns the end of the last one. */
function layout(len: usize): usize {
  // Worst cases: output ≤ input; ≤ n/2+2 tape entries; ≤ n/4+2 object members, each a
  // 16-byte sort record, twice over (the records plus a merge buffer).
  outBuf = align16(IN_BUF + len + PAD);
  tapeBuf = align16(outBuf + len + PAD);
  sortBase = align16(tapeBuf + (len / 2 + 2) * 8 + PAD);
  return sortBase + (len / 4 + 2) * 32 + PAD;
}

/**
 * Canonicalises the `n` bytes at inputPtr(). flags: bit 0 = lax (integers outside ±(2^53−1)
 * kept verbatim), bits 8–15 = number of names in the drop list. Returns the output length
 * or -1 on error. The input region is overwritten (strings are decoded in place).
 */
export function canonicalize(n: u32, flags: u32): i32 {
  errCode = 0;
  errPos = 0;
  dupKey = 0;
  seen = 0;
  outLen = 0;
  if (n > MAX_INPUT) {
    errCode = E_TOO_LARGE;
    return -1;
  }
  const len = <usize>n;
  inEnd = IN_BUF + len;
  if (!ensureMemory(layout(len))) {
    errCode = E_TOO_LARGE;
    return -1;
  }
  store<u8>(inEnd, 0); // sentinel: no JSON token contains a zero byte
  if (!parse((flags & 1) != 0, (flags >>> 8) & 0xff)) return -1;
  sortTop = sortBase;
  const o = emitValue(tapeBuf, outBuf);
  if (o == 0) return -1;
  outLen = <u32>(o - outBuf);
  return <i32>outLen;
}

/**
 * After a successful canonicalize(): finds root["signatures"][a]][b] where a and b are the
 * strings at argPtr() and argPtr()+512. Returns 1 and sets foundPtrOut()/foundLength() to
 * the decoded string, or 0 if absent or not a string. Duplicate keys: the last one wins,
 * as with JSON.parse (the signatures member is not covered by canonical checks).
 */
export function findSignature(aLen: u32, bLen: u32): i32 {
  foundPtr = 0;
  foundLen = 0;
  if (aLen > 512 || bLen > 512) return 0;
  const sigs = memory.data<u8>([0x73, 0x69, 0x67, 0x6e, 0x61, 0x74, 0x75, 0x72, 0x65, 0x73]); // "signatures"
  let v = lookup(tapeBuf, sigs, 10);
  if (v == 0) return 0;
  v = lookup(v, ARG_BUF, aLen);
  if (v == 0) return 0;
  v = lookup(v, ARG_BUF + 512, bLen);
  if (v == 0) return 0;
  const ty = load<u32>(v, 4) >>> 28;
  if (ty != T_STR && ty != T_STRX) return 0;
  foundPtr = <usize>load<u32>(v);
  foundLen = load<u32>(v, 4) & LEN_MASK;
  return 1;
}

function lookup(obj: usize, key: usize, keyLen: u32): usize {
  if (load<u32>(obj, 4) >>> 28 != T_OBJ) return 0;
  const n = load<u32>(obj, 4) & LEN_MASK;
  let k = obj + 8;
  let found: usize = 0;
  for (let i: u32 = 0; i < n; i++) {
    const v = k + 8;
    if ((load<u32>(k, 4) & LEN_MASK) == keyLen && memcmp(<usize>load<u32>(k), key, keyLen) == 0) found = v;
    k = next(v);
  }
  return found;
}

// ---------------------------------------------------------------- parse

@inline function next(e: usize): usize {
  const ty = load<u32>(e, 4) >>> 28;
  return ty == T_ARR || ty == T_OBJ ? <usize>load<u32>(e) : e + 8;
}

@inline function entry(t: usize, ty: u32, start: usize, len: usize): void {
  store<u32>(t, <u32>start);
  store<u32>(t, (ty << 28) | <u32>len, 4);
}

@inline function skipWs(p: usize): usize {
  let c = <u32>load<u8>(p);
  while (c <= 0x20 && (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09)) c = <u32>load<u8>(++p);
  return p;
}

function memcmp(a: usize, b: usize, n: u32): i32 {
  for (let i: usize = 0; i < <usize>n; i++) {
    const x = <i32>load<u8>(a + i);
    const y = <i32>load<u8>(b + i);
    if (x != y) return x - y;
  }
  return 0;
}

/** True when the key at [start, start+len) is in the drop list (of `count` names). */
function isDropped(start: usize, len: u32, count: u32): bool {
  let d = DROP_BUF;
  for (let i: u32 = 0; i < count; i++) {
    const l = load<u32>(d);
    if (l == len && memcmp(d + 4, start, len) == 0) return true;
    d += 4 + ((<usize>l + 3) & ~(<usize>3));
  }
  return false;
}

/**
 * Position of the first byte at or after p that is `"`, `\`, below 0x20 or above 0x7f,
 * sixteen bytes at a time.
 */
@inline function scanSpecial(p: usize): usize {
  const quote = i8x16.splat(0x22);
  const bslash = i8x16.splat(0x5c);
  const bias = i8x16.splat(0x60);
  const limit = i8x16.splat(-33);
  while (true) {
    const v = v128.load(p);
    // c + 0x60 lands in [-128, -33] (signed) exactly for 0x20 ≤ c ≤ 0x7f.
    const odd = i8x16.gt_s(i8x16.add(v, bias), limit);
    const m = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, bslash)), odd));
    if (m != 0) return p + <usize>ctz(m);
    p += 16;
  }
}

/**
 * Length of the valid UTF-8 sequence starting with a byte ≥ 0x80 at p, or 0 (error set).
 * One 32-bit load; each form is recognised by its lead/continuation bit pattern, then the
 * decoded value is range-checked (no overlongs, no surrogates, nothing above U+10FFFF).
 * Reading up to 3 bytes past the end is fine (slack), and the zero sentinel is never a
 * continuation byte, so truncated sequences fail.
 */
@inline function utf8Len(p: usize): usize {
  const x = load<u32>(p);
  if ((x & 0xc0e0) == 0x80c0) {
    if ((x & 0x1e) == 0) return fail(E_UTF8, p); // C0, C1: overlong
    return 2;
  }
  if ((x & 0xc0c0f0) == 0x8080e0) {
    const cp = ((x & 0x0f) << 12) | ((x & 0x3f00) >> 2) | ((x >> 16) & 0x3f);
    if (cp < 0x800 || cp - 0xd800 < 0x800) return fail(E_UTF8, p); // overlong, surrogate
    return 3;
  }
  if ((x & 0xc0c0c0f8) == 0x808080f0) {
    const cp = ((x & 0x07) << 18) | ((x & 0x3f00) << 4) | ((x >> 10) & 0xfc0) | ((x >> 24) & 0x3f);
    if (cp - 0x10000 >= 0x100000) return fail(E_UTF8, p); // overlong, above U+10FFFF
    return 4;
  }
  return fail(E_UTF8, p);
}

@inline function hexVal(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  const l = (c | 0x20) - 0x61;
  return l < 6 ? <i32>(l + 10) : -1;
}

function hex4(p: usize): i32 {
  const a = hexVal(<u32>load<u8>(p));
  const b = hexVal(<u32>load<u8>(p, 1));
  const c = hexVal(<u32>load<u8>(p, 2));
  const d = hexVal(<u32>load<u8>(p, 3));
  if ((a | b | c | d) < 0) return -1;
  return (a << 12) | (b << 8) | (c << 4) | d;
}

function writeUtf8(w: usize, cp: u32): usize {
  if (cp < 0x80) {
    store<u8>(w, <u8>cp);
    return w + 1;
  }
  if (cp < 0x800) {
    store<u8>(w, <u8>(0xc0 | (cp >> 6)));
    store<u8>(w, <u8>(0x80 | (cp & 0x3f)), 1);
    return w + 2;
  }
  if (cp < 0x10000) {
    store<u8>(w, <u8>(0xe0 | (cp >> 12)));
    store<u8>(w, <u8>(0x80 | ((cp >> 6) & 0x3f)), 1);
    store<u8>(w, <u8>(0x80 | (cp & 0x3f)), 2);
    return w + 3;
  }
  store<u8>(w, <u8>(0xf0 | (cp >> 18)));
  store<u8>(w, <u8>(0x80 | ((cp >> 12) & 0x3f)), 1);
  store<u8>(w, <u8>(0x80 | ((cp >> 6) & 0x3f)), 2);
  store<u8>(w, <u8>(0x80 | (cp & 0x3f)), 3);
  return w + 4;
}

/**
 * Parses a string whose opening quote is just before p; writes its tape entry at t.
 * Returns the position after the closing quote, or 0 on error.
 */
@inline function parseString(p: usize, t: usize, lenient: bool): usize {
  const start = p;
  const quote = i8x16.splat(0x22);
  const bslash = i8x16.splat(0x5c);
  const bias = i8x16.splat(0x60);
  const limit = i8x16.splat(-33);
  while (true) {
    const v = v128.load(p);
    const q = i8x16.eq(v, quote);
    const m = i8x16.bitmask(v128.or(v128.or(q, i8x16.eq(v, bslash)), i8x16.gt_s(i8x16.add(v, bias), limit)));
    if (m == 0) {
      p += 16;
      continue;
    }
    p += <usize>ctz(m);
    // Most strings end at the first special byte: tell that from the quote mask rather
    // than by re-reading the byte.
    if ((i8x16.bitmask(q) & m & -m) != 0) {
      entry(t, T_STR, start, p - start);
      return p + 1;
    }
    const c = <u32>load<u8>(p);
    if (c >= 0x80) {
      // validate the whole run of non-ASCII characters before scanning again (a byte loop
      // over mixed text, instead of returning to the vector scan at each space, was slower)
      do {
        const k = utf8Len(p);
        if (k == 0) return 0;
        p += k;
      } while (load<u8>(p) >= 0x80);
      continue;
    }
    if (c == 0x5c) return parseEscaped(start, p, t, lenient);
    return fail(p >= inEnd ? E_UNTERMINATED : E_CONTROL, p);
  }
}

/** The rest of a string from its first backslash at p: decodes in place from p onwards. */
function parseEscaped(start: usize, p: usize, t: usize, lenient: bool): usize {
  let w = p;
  let special = false; // decoded text holds " \ or a control character
  while (true) {
    const c = <u32>load<u8>(p);
    if (c == 0x22) {
      entry(t, special ? T_STRX : T_STR, start, w - start);
      return p + 1;
    }
    if (c == 0x5c) {
      const e = <u32>load<u8>(p, 1);
      let d: u32 = 0;
      if (e == 0x22 || e == 0x5c) {
        d = e;
        special = true;
      } else if (e == 0x2f) d = 0x2f;
      else if (e == 0x6e) d = 0x0a;
      else if (e == 0x74) d = 0x09;
      else if (e == 0x72) d = 0x0d;
      else if (e == 0x62) d = 0x08;
      else if (e == 0x66) d = 0x0c;
      else if (e == 0x75) {
        let cp = hex4(p + 2);
        if (cp < 0) return fail(p + 2 >= inEnd ? E_UNTERMINATED : E_ESCAPE, p);
        if (cp >= 0xd800 && cp <= 0xdfff) {
          let lo = -1;
          if (cp < 0xdc00 && load<u8>(p, 6) == 0x5c && load<u8>(p, 7) == 0x75) lo = hex4(p + 8);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
          } else if (lenient) {
            cp = 0xfffd; // inside a dropped member: parsed, never emitted
          } else {
            return fail(E_SURROGATE, p);
          }
        }
        if (cp < 0x20 || cp == 0x22 || cp == 0x5c) special = true;
        w = writeUtf8(w, <u32>cp);
        p += 6;
        continue;
      } else {
        return fail(p + 1 >= inEnd ? E_UNTERMINATED : E_ESCAPE, p);
      }
      if (d < 0x20) special = true;
      store<u8>(w, <u8>d);
      w++;
      p += 2;
      continue;
    }
    if (c < 0x20) return fail(p >= inEnd ? E_UNTERMINATED : E_CONTROL, p);
    // A run of ordinary bytes (validating any UTF-8 on the way) moves left by p - w.
    let q = p;
    while (true) {
      q = scanSpecial(q);
      const b = <u32>load<u8>(q);
      if (b < 0x80) break;
      const k = utf8Len(q);
      if (k == 0) return 0;
      q += k;
    }
    memory.copy(w, p, q - p);
    w += q - p;
    p = q;
  }
}

/** Parses a number at p; writes its tape entry at t. Returns the end position or 0. */
@inline function parseNumber(p: usize, t: usize, lax: bool, lenient: bool): usize {
  const start = p;
  if (load<u8>(p) == 0x2d) p++;
  const d0 = p;
  let c = <u32>load<u8>(p);
  // (A SWAR 8-digits-at-a-time scan measured slower: most numbers here are short.)
  if (c == 0x30) {
    c = <u32>load<u8>(++p);
    if (c - 0x30 < 10) return fail(E_NUMBER, start); // leading zero
  } else if (c - 0x31 < 9) {
    c = <u32>load<u8>(++p);
    while (c - 0x30 < 10) c = <u32>load<u8>(++p);
  } else {
    return fail(p >= inEnd ? E_END : E_NUMBER, start);
  }
  const nd = p - d0;
  if (c == 0x2e || (c | 0x20) == 0x65) {
    if (!lenient) return fail(E_NOT_INTEGER, start);
    // Inside a dropped member any JSON number is fine: check the grammar only.
    if (c == 0x2e) {
      c = <u32>load<u8>(++p);
      if (c - 0x30 >= 10) return fail(E_NUMBER, start);
      while (c - 0x30 < 10) c = <u32>load<u8>(++p);
    }
    if ((c | 0x20) == 0x65) {
      c = <u32>load<u8>(++p);
      if (c == 0x2b || c == 0x2d) c = <u32>load<u8>(++p);
      if (c - 0x30 >= 10) return fail(E_NUMBER, start);
      while (c - 0x30 < 10) c = <u32>load<u8>(++p);
    }
  } else if (!lenient) {
    if (d0 != start && nd == 1 && load<u8>(d0) == 0x30) return fail(E_NEG_ZERO, start);
    if (nd >= 16) {
      let big = nd > 16;
      if (!big) {
        let v: u64 = 0;
        for (let i: usize = 0; i < 16; i++) v = v * 10 + <u64>(load<u8>(d0 + i) - 0x30);
        big = v > 9007199254740991;
      }
      if (big) {
        if (!lax) return fail(E_RANGE, start);
        seen |= SEEN_BIG;
      }
    }
  }
  entry(t, T_NUM, start, p - start);
  return p;
}

/**
 * Parses an object key whose opening quote is at p (already checked) and the colon after it;
 * writes the key's tape entry at t. At the top level (depth 1) a key in the drop list is
 * retyped T_DKEY. Returns the position after the colon, or 0.
 */
@inline function parseKey(p: usize, t: usize, keyLenient: bool, topLevel: bool, nDrop: u32): usize {
  p = parseString(p + 1, t, keyLenient);
  if (p == 0) return 0;
  if (topLevel && nDrop != 0) {
    const w1 = load<u32>(t, 4);
    if (isDropped(<usize>load<u32>(t), w1 & LEN_MASK, nDrop)) store<u32>(t, (T_DKEY << 28) | (w1 & LEN_MASK), 4);
  }
  let c = <u32>load<u8>(p);
  if (c <= 0x20) {
    p = skipWs(p);
    c = <u32>load<u8>(p);
  }
  if (c != 0x3a) return fail(p >= inEnd ? E_END : E_COLON, p);
  return p + 1;
}

/**
 * Builds the tape for [IN_BUF, inEnd). Iterative: the innermost open container is kept in
 * locals and its parents on a small stack, so nesting is bounded by MAX_DEPTH, not by the
 * Wasm call stack.
 */
function parse(lax: bool, nDrop: u32): bool {
  let p = IN_BUF;
  let t = tapeBuf;
  let sp = STACK_BUF; // saved [entry ptr | isObject][count] of the enclosing containers
  let depth: u32 = 0;
  let cur: usize = 0; // tape entry of the innermost open container, 0 at the root
  let curObj = false;
  let count: u32 = 0;
  let lenient = false; // inside the value of a dropped top-level member
  while (true) {
    // ---- a value is expected at p
    let c = <u32>load<u8>(p);
    if (c <= 0x20) {
      p = skipWs(p);
      c = <u32>load<u8>(p);
    }
    if (c == 0x22) {
      p = parseString(p + 1, t, lenient);
      if (p == 0) return false;
      t += 8;
    } else if (c - 0x30 < 10 || c == 0x2d) {
      p = parseNumber(p, t, lax, lenient);
      if (p == 0) return false;
      t += 8;
    } else if (c == 0x7b || c == 0x5b) {
      if (depth == MAX_DEPTH) return fail(E_DEPTH, p) != 0;
      const obj = c == 0x7b;
      store<u32>(t, (obj ? T_OBJ : T_ARR) << 28, 4);
      p = skipWs(p + 1);
      c = <u32>load<u8>(p);
      if (c == (obj ? 0x7d : 0x5d)) {
        // empty container: complete at once
        store<u32>(t, <u32>(t + 8));
        t += 8;
        p++;
      } else {
        store<u32>(sp, <u32>cur | (curObj ? 1 : 0));
        store<u32>(sp, count, 4);
        sp += 8;
        depth++;
        cur = t;
        curObj = obj;
        count = 1;
        t += 8;
        if (obj) {
          if (c != 0x22) return fail(p >= inEnd ? E_END : E_KEY, p) != 0;
          p = parseKey(p, t, lenient && depth != 1, depth == 1, nDrop);
          if (p == 0) return false;
          if (depth == 1) lenient = load<u32>(t, 4) >>> 28 == T_DKEY;
          t += 8;
        }
        continue;
      }
    } else if (c == 0x74) {
      if (load<u32>(p) != 0x65757274) return fail(E_LITERAL, p) != 0; // "true"
      store<u32>(t, T_TRUE << 28, 4);
      t += 8;
      p += 4;
    } else if (c == 0x66) {
      if (load<u32>(p, 1) != 0x65736c61) return fail(E_LITERAL, p) != 0; // "alse"
      store<u32>(t, T_FALSE << 28, 4);
      t += 8;
      p += 5;
    } else if (c == 0x6e) {
      if (load<u32>(p) != 0x6c6c756e) return fail(E_LITERAL, p) != 0; // "null"
      store<u32>(t, T_NULL << 28, 4);
      t += 8;
      p += 4;
    } else {
      return fail(p >= inEnd ? E_END : E_UNEXPECTED, p) != 0;
    }

    // ---- after a value: separators and closing brackets
    let more = false;
    while (cur != 0) {
      c = <u32>load<u8>(p);
      if (c <= 0x20) {
        p = skipWs(p);
        c = <u32>load<u8>(p);
      }
      if (c == 0x2c) {
        count++;
        p++;
        if (curObj) {
          c = <u32>load<u8>(p);
          if (c <= 0x20) {
            p = skipWs(p);
            c = <u32>load<u8>(p);
          }
          if (c != 0x22) return fail(p >= inEnd ? E_END : E_KEY, p) != 0;
          p = parseKey(p, t, lenient && depth != 1, depth == 1, nDrop);
          if (p == 0) return false;
          if (depth == 1) lenient = load<u32>(t, 4) >>> 28 == T_DKEY;
          t += 8;
        }
        more = true;
        break;
      }
      if (c != (curObj ? 0x7d : 0x5d)) return fail(p >= inEnd ? E_END : E_COMMA, p) != 0;
      p++;
      store<u32>(cur, <u32>t);
      store<u32>(cur, ((curObj ? T_OBJ : T_ARR) << 28) | count, 4);
      sp -= 8;
      depth--;
      const saved = load<u32>(sp);
      cur = <usize>(saved & ~1);
      curObj = (saved & 1) != 0;
      count = load<u32>(sp, 4);
    }
    if (!more) break;
  }
  p = skipWs(p);
  if (p != inEnd) return fail(p > inEnd ? E_END : E_TRAILING, p) != 0;
  return true;
}

// ---------------------------------------------------------------- emit

/** Copies n bytes; short copies go 16 bytes at a time and may spill into the slack. */
@inline function copyBytes(o: usize, s: usize, n: usize): usize {
  if (n <= 64) {
    for (let i: usize = 0; i < n; i += 16) v128.store(o + i, v128.load(s + i));
  } else {
    memory.copy(o, s, n);
  }
  return o + n;
}

@inline function hexDigit(x: u32): u32 {
  return x < 10 ? 0x30 + x : 0x57 + x;
}

/** Writes decoded string bytes with canonical escaping. */
function emitEscaped(o: usize, s: usize, n: usize): usize {
  for (let i: usize = 0; i < n; i++) {
    const b = <u32>load<u8>(s + i);
    if (b >= 0x20 && b != 0x22 && b != 0x5c) {
      store<u8>(o++, <u8>b);
      continue;
    }
    let e: u32 = 0;
    if (b == 0x22 || b == 0x5c) e = b;
    else if (b == 0x08) e = 0x62;
    else if (b == 0x09) e = 0x74;
    else if (b == 0x0a) e = 0x6e;
    else if (b == 0x0c) e = 0x66;
    else if (b == 0x0d) e = 0x72;
    store<u8>(o, 0x5c);
    if (e != 0) {
      store<u8>(o, <u8>e, 1);
      o += 2;
    } else {
      store<u32>(o, 0x30307500, 0); // "\u00" (the backslash is rewritten below)
      store<u8>(o, 0x5c);
      store<u8>(o, <u8>hexDigit(b >> 4), 4);
      store<u8>(o, <u8>hexDigit(b & 15), 5);
      o += 6;
    }
  }
  return o;
}

@inline function emitString(e: usize, o: usize): usize {
  const w1 = load<u32>(e, 4);
  const s = <usize>load<u32>(e);
  const n = <usize>(w1 & LEN_MASK);
  store<u8>(o, 0x22);
  o = (w1 >>> 28) == T_STR ? copyBytes(o + 1, s, n) : emitEscaped(o + 1, s, n);
  store<u8>(o, 0x22);
  return o + 1;
}

/** Big-endian first 8 bytes of a key, zero-padded: orders like the bytes themselves. */
@inline function keyPrefix(e: usize): u64 {
  const n = load<u32>(e, 4) & LEN_MASK;
  const x = bswap<u64>(load<u64>(<usize>load<u32>(e)));
  return n >= 8 ? x : x & ~(<u64>-1 >>> (<u64>n << 3));
}

/** Orders two sort records (prefix, key entry) by the keys' bytes; notes equal keys. */
function compareKeys(pa: u64, ka: usize, pb: u64, kb: usize): i32 {
  if (pa != pb) return pa < pb ? -1 : 1;
  const la = load<u32>(ka, 4) & LEN_MASK;
  const lb = load<u32>(kb, 4) & LEN_MASK;
  const m = la < lb ? la : lb;
  if (m > 8) {
    const c = memcmp(<usize>load<u32>(ka) + 8, <usize>load<u32>(kb) + 8, m - 8);
    if (c != 0) return c;
  }
  if (la == lb) {
    dupKey = ka > kb ? ka : kb;
    return 0;
  }
  return la < lb ? -1 : 1;
}

function insertionSort(base: usize, n: usize): void {
  for (let i: usize = 1; i < n; i++) {
    const x = v128.load(base + (i << 4));
    const px = i64x2.extract_lane(x, 0);
    const kx = <usize>i32x4.extract_lane(x, 2);
    let j = i;
    while (j > 0) {
      const y = base + ((j - 1) << 4);
      const py = load<u64>(y);
      // Keys almost always differ within 8 bytes: only ties look further.
      if (<u64>px > py || (<u64>px == py && compareKeys(<u64>px, kx, py, <usize>load<u32>(y, 8)) >= 0)) break;
      v128.store(y + 16, v128.load(y));
      j--;
    }
    v128.store(base + (j << 4), x);
  }
}

/** Merge sort of n 16-byte records at a, using n records of scratch at tmp. */
function mergeSort(a: usize, tmp: usize, n: usize): void {
  if (n <= 16) {
    insertionSort(a, n);
    return;
  }
  const h = n >> 1;
  mergeSort(a, tmp, h);
  mergeSort(a + (h << 4), tmp, n - h);
  let i: usize = 0;
  let j = h;
  let k: usize = 0;
  while (i < h && j < n) {
    const x = a + (i << 4);
    const y = a + (j << 4);
    if (compareKeys(load<u64>(y), <usize>load<u32>(y, 8), load<u64>(x), <usize>load<u32>(x, 8)) < 0) {
      v128.store(tmp + (k << 4), v128.load(y));
      j++;
    } else {
      v128.store(tmp + (k << 4), v128.load(x));
      i++;
    }
    k++;
  }
  while (i < h) v128.store(tmp + (k++ << 4), v128.load(a + (i++ << 4)));
  // the tail of the right half is already in place
  memory.copy(a, tmp, k << 4);
}

function emitObject(e: usize, o: usize): usize {
  const n = load<u32>(e, 4) & LEN_MASK;
  const base = sortTop;
  let r = base;
  let k = e + 8;
  for (let i: u32 = 0; i < n; i++) {
    const v = k + 8;
    if (load<u32>(k, 4) >>> 28 != T_DKEY) {
      store<u64>(r, keyPrefix(k));
      store<u32>(r, <u32>k, 8);
      r += 16;
    }
    k = next(v);
  }
  const m = (r - base) >> 4;
  sortTop = r;
  if (m > 1) {
    if (m <= 16) insertionSort(base, m);
    else mergeSort(base, r, m);
    if (dupKey != 0) return fail(E_DUP_KEY, <usize>load<u32>(dupKey));
  }
  store<u8>(o++, 0x7b);
  for (let i: usize = 0; i < m; i++) {
    const key = <usize>load<u32>(base + (i << 4), 8);
    if (i != 0) store<u8>(o++, 0x2c);
    o = emitString(key, o);
    store<u8>(o++, 0x3a);
    o = emitMember(key + 8, o);
    if (o == 0) return 0;
  }
  store<u8>(o, 0x7d);
  sortTop = base;
  return o + 1;
}

/** emitValue with the common scalar cases inline (no call). */
@inline function emitMember(e: usize, o: usize): usize {
  const w1 = load<u32>(e, 4);
  const ty = w1 >>> 28;
  if (ty == T_STR) {
    store<u8>(o, 0x22);
    o = copyBytes(o + 1, <usize>load<u32>(e), <usize>(w1 & LEN_MASK));
    store<u8>(o, 0x22);
    return o + 1;
  }
  if (ty == T_NUM) return copyBytes(o, <usize>load<u32>(e), <usize>(w1 & LEN_MASK));
  return emitValue(e, o);
}

function emitValue(e: usize, o: usize): usize {
  const w1 = load<u32>(e, 4);
  const ty = w1 >>> 28;
  if (ty == T_STR || ty == T_STRX) return emitString(e, o);
  if (ty == T_NUM) return copyBytes(o, <usize>load<u32>(e), <usize>(w1 & LEN_MASK));
  if (ty == T_OBJ) return emitObject(e, o);
  if (ty == T_ARR) {
    const n = w1 & LEN_MASK;
    store<u8>(o++, 0x5b);
    let el = e + 8;
    for (let i: u32 = 0; i < n; i++) {
      if (i != 0) store<u8>(o++, 0x2c);
      const nx = next(el);
      o = emitMember(el, o);
      if (o == 0) return 0;
      el = nx;
    }
    store<u8>(o, 0x5d);
    return o + 1;
  }
  if (ty == T_TRUE) {
    store<u32>(o, 0x65757274);
    return o + 4;
  }
  if (ty == T_FALSE) {
    store<u64>(o, 0x65736c6166); // "false" + spill into the slack
    return o + 5;
  }
  seen |= SEEN_NULL;
  store<u32>(o, 0x6c6c756e);
  return o + 4;
}
