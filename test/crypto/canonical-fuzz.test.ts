// Differential test: the Wasm kernel against the TypeScript reference on generated documents.
// Each value is written by a randomised JSON writer (whitespace, key order, every escape form,
// surrogate-pair escapes), so the kernel sees many spellings of the same document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalJson, canonicalJsonFromBytes, sha256CanonicalFromBytes } from '../../src/crypto/canonical.js';
import { canonicalJsonRef } from '../../src/crypto/canonical-ref.js';
import { Rng } from '../../src/util/rng.js';

const DOCS = 10_000;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;


const SPECIAL_CODE_POINTS = [
  0x00, 0x01, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1f, 0x22, 0x2f, 0x5c, 0x7f, 0x80, 0xa0, 0xe9, 0x7ff, 0x800,
  0x2028, 0x2029, 0xd7ff, 0xe000, 0xfeff, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x1f4a9, 0x10ffff,
];

function codePoint(r: Rng): number {
  const x = r.next();
  if (x < 0.6) return 0x61 + r.int(26);
  if (x < 0.7) return 0x20 + r.int(0x5f);
  if (x < 0.8) return r.pick(SPECIAL_CODE_POINTS);
  if (x < 0.84) return r.int(0x20);
  if (x < 0.88) return 0x80 + r.int(0x780);
  if (x < 0.95) {
    const c = 0x800 + r.int(0xf800);
    return c >= 0xd800 && c <= 0xdfff ? 0x3042 : c;
  }
  return 0x10000 + r.int(0x100000);
}

function randomString(r: Rng, maxLen: number): string {
  const len = r.int(maxLen + 1);
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCodePoint(codePoint(r));
  return s;
}

function stringLength(r: Rng): number {
  const x = r.next();
  if (x < 0.8) return 24;
  if (x < 0.97) return 300;
  return 5000;
}

// Keys sharing prefixes (within and beyond 8 bytes), differing only after an escape, and
// ordering differently by code point than by UTF-16 unit.
const KEY_POOL = [
  '', 'a', 'ab', 'abc', 'A', 'a\u0000', 'a\n', 'a"', 'a\\', 'a/', 'é', '\u00e9x', '\uE000', '\uFFFF', '😀', '\u{10FFFF}',
  'origin', 'origin_server_ts', 'abcdefgh', 'abcdefghi', 'abcdefgh\u0001', 'abcdefgh\u00e9', 'abcdefghij1',
  'abcdefghij2', 'x\ny1', 'x\ny2', 'x\ty', 'x\u0001z', 'x\u001fz', '\u2028', '\u2029', 'type', 'content', 'body',
];

function randomKey(r: Rng): string {
  const x = r.next();
  if (x < 0.45) return r.pick(KEY_POOL);
  if (x < 0.75) return r.pick(KEY_POOL) + randomString(r, 6);
  return randomString(r, 12);
}

function randomInt(r: Rng): number {
  const x = r.next();
  const sign = r.chance(0.5) ? 1 : -1;
  if (x < 0.5) return r.int(1000);
  if (x < 0.7) return sign * r.int(1_000_000_000);
  if (x < 0.85) return sign * (MAX_SAFE - r.int(1000));
  if (x < 0.95) return sign * Math.floor(r.next() * MAX_SAFE);
  return 0;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function gen(r: Rng, depth: number, budget: { n: number }): Json {
  budget.n--;
  const x = r.next();
  const canNest = depth < 8 && budget.n > 0;
  if (!canNest || x < 0.55) {
    const y = r.next();
    if (y < 0.1) return null;
    if (y < 0.15) return true;
    if (y < 0.2) return false;
    if (y < 0.5) return randomInt(r);
    return randomString(r, stringLength(r));
  }
  if (x < 0.75) {
    const n = r.chance(0.15) ? 0 : r.int(8);
    const a: Json[] = [];
    for (let i = 0; i < n; i++) a.push(gen(r, depth + 1, budget));
    return a;
  }
  const many = r.chance(0.03);
  const n = r.chance(0.1) ? 0 : many ? 20 + r.int(200) : r.int(10);
  const o: { [k: string]: Json } = {};
  for (let i = 0; i < n; i++) o[randomKey(r)] = many ? randomInt(r) : gen(r, depth + 1, budget);
  return o;
}

/** A chain of containers `levels` deep (the kernel allows 512) with something at the bottom. */
function deep(r: Rng, levels: number): Json {
  let v: Json = r.chance(0.5) ? randomString(r, 5) : [];
  for (let i = 1; i < levels; i++) v = r.chance(0.5) ? [v] : { [randomKey(r)]: v };
  return v;
}

// ---- randomised writer

function ws(r: Rng): string {
  if (r.chance(0.7)) return '';
  return r.pick([' ', '\n', '\t', '\r\n', '  ', '\n    ', ' \t\r\n ']);
}

function hex4(r: Rng, n: number): string {
  const h = n.toString(16).padStart(4, '0');
  return '\\u' + (r.chance(0.5) ? h : h.toUpperCase());
}

const SHORT: Record<number, string> = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\', 0x2f: '\\/' };

function writeString(r: Rng, s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const short = SHORT[cp];
    if (cp < 0x20 || cp === 0x22 || cp === 0x5c) {
      out += short && r.chance(0.6) ? short : hex4(r, cp); // must be escaped
    } else if (cp > 0xffff) {
      out += r.chance(0.7) ? ch : hex4(r, ch.charCodeAt(0)) + hex4(r, ch.charCodeAt(1));
    } else if (r.chance(0.85)) {
      out += ch;
    } else {
      out += short && r.chance(0.5) ? short : hex4(r, cp);
    }
  }
  return out + '"';
}

function write(r: Rng, v: Json): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return writeString(r, v);
  if (Array.isArray(v)) return '[' + ws(r) + v.map((x) => write(r, x)).join(ws(r) + ',' + ws(r)) + ws(r) + ']';
  const keys = Object.keys(v);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const members = keys.map((k) => writeString(r, k) + ws(r) + ':' + ws(r) + write(r, v[k]!));
  return '{' + ws(r) + members.join(ws(r) + ',' + ws(r)) + ws(r) + '}';
}

test(`Wasm and reference give identical bytes on ${DOCS} generated documents`, () => {
  const r = new Rng(0x5eed1234);
  let bytesSeen = 0;
  let escapesSeen = 0;
  let deepest = 0;
  let dropped = 0;
  for (let i = 0; i < DOCS; i++) {
    let value: Json;
    if (i % 500 === 7) {
      const levels = 100 + r.int(413);
      deepest = Math.max(deepest, levels);
      value = deep(r, levels);
    } else if (i % 3 === 0) {
      // top-level objects like events, with members to drop
      const o = gen(r, 1, { n: 60 });
      value = { ...(typeof o === 'object' && o !== null && !Array.isArray(o) ? o : { v: o }), signatures: { s: { k: 'x' } }, unsigned: { age: r.int(9) } };
    } else {
      value = gen(r, 0, { n: 40 });
    }
    const text = write(r, value);
    const input = Buffer.from(text, 'utf8');
    bytesSeen += input.length;
    if (text.includes('\\u')) escapesSeen++;
    const expected = canonicalJsonRef(value);
    // the writer produced JSON for the same value
    assert.equal(canonicalJsonRef(JSON.parse(text)), expected, `doc ${i}: writer`);
    const got = canonicalJsonFromBytes(input).toString('utf8');
    if (got !== expected) assert.fail(`doc ${i} differs\ninput:    ${text.slice(0, 400)}\nexpected: ${expected.slice(0, 400)}\ngot:      ${got.slice(0, 400)}`);
    assert.equal(canonicalJson(value).toString('utf8'), expected, `doc ${i}: value path`);
    if (i % 10 === 0) {
      const digest = createHash('sha256').update(expected, 'utf8').digest();
      assert.deepEqual(sha256CanonicalFromBytes(input), digest, `doc ${i}: hash`);
    }
    if (i % 3 === 0 && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const keys = Object.keys(value);
      const drop = ['signatures', 'unsigned', ...keys.filter(() => r.chance(0.2))];
      const want = canonicalJsonRef(value, { drop });
      assert.equal(canonicalJsonFromBytes(input, { drop }).toString('utf8'), want, `doc ${i}: drop`);
      assert.equal(canonicalJson(value, { drop }).toString('utf8'), want, `doc ${i}: value path drop`);
      dropped++;
    }
  }
  // the generator really covered what it claims to
  assert.ok(bytesSeen > 2_000_000, `only ${bytesSeen} bytes generated`);
  assert.ok(escapesSeen > DOCS / 4, `only ${escapesSeen} documents with \\u escapes`);
  assert.ok(deepest > 400);
  assert.ok(dropped > DOCS / 4);
});
