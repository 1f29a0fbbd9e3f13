// Canonical JSON: the appendix examples, every refusal the kernel promises (with position and
// reason), the lax and drop options, and the JS-value path's edge cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalJson,
  canonicalJsonAndSha256,
  canonicalJsonAndSha256FromBytes,
  canonicalJsonFromBytes,
  CanonicalJsonError,
  sha256,
  sha256Canonical,
  sha256CanonicalFromBytes,
} from '../../src/crypto/canonical.js';
import { canonicalJsonRef, canonicalJsonRefBytes, compareCodePoints } from '../../src/crypto/canonical-ref.js';
import { canonicalView, signedView } from '../../src/crypto/wasm-canonical.js';
import { createHash } from 'node:crypto';

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');
const wasm = (s: string | Uint8Array, opts?: { drop?: string[]; lax?: boolean }): string =>
  canonicalJsonFromBytes(typeof s === 'string' ? enc(s) : s, opts).toString('utf8');

// The appendix "Canonical JSON" examples, input text exactly as printed there.
const SPEC_EXAMPLES: [string, string][] = [
  ['{}', '{}'],
  ['{\n    "one": 1,\n    "two": "Two"\n}', '{"one":1,"two":"Two"}'],
  ['{\n    "b": "2",\n    "a": "1"\n}', '{"a":"1","b":"2"}'],
  ['{"b":"2","a":"1"}', '{"a":"1","b":"2"}'],
  [
    `{
    "auth": {
        "success": true,
        "mxid": "@john.doe:example.com",
        "profile": {
            "display_name": "John Doe",
            "three_pids": [
                {
                    "medium": "email",
                    "address": "john.doe@example.org"
                },
                {
                    "medium": "msisdn",
                    "address": "123456789"
                }
            ]
        }
    }
}`,
    '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}',
  ],
  ['{\n    "a": "日本語"\n}', '{"a":"日本語"}'],
  ['{\n    "本": 2,\n    "日": 1\n}', '{"日":1,"本":2}'],
  ['{\n    "a": "\\u65E5"\n}', '{"a":"日"}'],
  ['{\n    "a": null\n}', '{"a":null}'],
];

test('appendix examples: Wasm from bytes, the reference and the value path agree with the spec', () => {
  for (const [input, expected] of SPEC_EXAMPLES) {
    assert.equal(wasm(input), expected, input);
    const value: unknown = JSON.parse(input);
    assert.equal(canonicalJsonRef(value), expected, input);
    assert.equal(canonicalJson(value).toString('utf8'), expected, input);
    const digest = createHash('sha256').update(expected, 'utf8').digest();
    assert.deepEqual(sha256CanonicalFromBytes(enc(input)), digest);
    assert.deepEqual(sha256Canonical(value), digest);
  }
});

test('appendix example with -0 and 1e10: a parsed value canonicalises, raw bytes are refused', () => {
  // The appendix shows the value after a JSON library parsed it; raw text with -0 or an
  // exponent is not canonical-representable, so the bytes kernel refuses it.
  const input = '{\n    "a": -0,\n    "b": 1e10\n}';
  const value: unknown = JSON.parse(input);
  assert.equal(canonicalJson(value).toString(), '{"a":0,"b":10000000000}');
  assert.equal(canonicalJsonRef(value), '{"a":0,"b":10000000000}');
  assert.throws(() => wasm(input), (e: unknown) => e instanceof CanonicalJsonError && /negative zero/.test(e.message));
  assert.throws(() => wasm('{"b":1e10}'), (e: unknown) => e instanceof CanonicalJsonError && /not an integer/.test(e.message));
});

test('strings: only the grammar escapes are written, everything else is literal UTF-8', () => {
  const cases: [string, string][] = [
    ['"\\b\\t\\n\\f\\r\\"\\\\"', '"\\b\\t\\n\\f\\r\\"\\\\"'],
    ['"\\u0008\\u0009\\u000A\\u000c\\u000D\\u0022\\u005C"', '"\\b\\t\\n\\f\\r\\"\\\\"'],
    ['"\\u0000\\u0001\\u0007\\u000B\\u000e\\u001F"', '"\\u0000\\u0001\\u0007\\u000b\\u000e\\u001f"'],
    ['"\\/"', '"/"'],
    ['"\\u002F\\u0041"', '"/A"'],
    ['"\\u007f\u007f"', '"\u007f\u007f"'],
    ['"\\u2028\\u2029\u2028"', '"\u2028\u2029\u2028"'],
    ['"\\uD83D\\uDE00\\ud83d\\ude00😀"', '"😀😀😀"'],
    ['"\\uDBFF\\uDFFF"', '"\u{10FFFF}"'],
    ['"\\u00e9\\u00E9é"', '"ééé"'],
    ['"\\uFFFF\\uE000"', '"\uFFFF\uE000"'],
    ['"plain ascii without escapes, long enough to cross sixteen-byte blocks"', '"plain ascii without escapes, long enough to cross sixteen-byte blocks"'],
    ['"x\\ny' + 'z'.repeat(100) + '\\u0041"', '"x\\ny' + 'z'.repeat(100) + 'A"'],
  ];
  for (const [input, expected] of cases) assert.equal(wasm(input), expected, input);
});

test('keys sort by code point after decoding escapes', () => {
  // U+E000 sorts before an astral character in code-point order (not in UTF-16 order).
  assert.equal(wasm('{"😀":1,"\uE000":2,"\uFFFF":3}'), '{"\uE000":2,"\uFFFF":3,"😀":1}');
  assert.equal(wasm('{"\\ud83d\\ude00":1,"\\ue000":2}'), '{"\uE000":2,"😀":1}');
  // "\u0041" is "A" (0x41), which sorts before "B" even though the escape starts with "\".
  assert.equal(wasm('{"B":1,"\\u0041":2}'), '{"A":2,"B":1}');
  // Control characters sort below everything printable, but are written escaped.
  assert.equal(wasm('{" ":1,"\\n":2,"\\u0000":3}'), '{"\\u0000":3,"\\n":2," ":1}');
  // Prefixes sort first; keys equal for 8+ bytes are ordered by what follows.
  assert.equal(
    wasm('{"abcdefghij2":1,"abcdefgh":2,"abcdefghij1":3,"abcdefghij":4,"a":5,"":6,"a\\u0000":7}'),
    '{"":6,"a":5,"a\\u0000":7,"abcdefgh":2,"abcdefghij":4,"abcdefghij1":3,"abcdefghij2":1}',
  );
  // Keys that differ only past an escape.
  assert.equal(wasm('{"x\\ny2":1,"x\\ny1":2,"x\\u000ay0":3}'), '{"x\\ny0":3,"x\\ny1":2,"x\\ny2":1}');
  assert.ok(compareCodePoints('\uE000', '😀') < 0);
});

test('large objects (merge sort path) sort like the reference', () => {
  const obj: Record<string, number> = {};
  for (let i = 0; i < 500; i++) obj[`k${(i * 7919) % 1000}-${'é'.repeat(i % 3)}`] = i;
  const text = JSON.stringify(obj);
  assert.equal(wasm(text), canonicalJsonRef(JSON.parse(text)));
});

interface Refusal {
  input: string | Buffer;
  reason: RegExp;
  position?: number;
}

const REFUSALS: Refusal[] = [
  // numbers canonical JSON cannot hold
  { input: '1.5', reason: /not an integer/, position: 0 },
  { input: '{"a":1.0}', reason: /not an integer/, position: 5 },
  { input: '1e3', reason: /not an integer/ },
  { input: '1E3', reason: /not an integer/ },
  { input: '[-1e-3]', reason: /not an integer/, position: 1 },
  { input: '9007199254740992', reason: /outside/, position: 0 },
  { input: '-9007199254740992', reason: /outside/ },
  { input: '[1,12345678901234567890]', reason: /outside/, position: 3 },
  { input: '-0', reason: /negative zero/, position: 0 },
  { input: '{"a":[-0]}', reason: /negative zero/, position: 6 },
  { input: '01', reason: /invalid number/ },
  { input: '-', reason: /unexpected end|invalid number/ },
  { input: '+1', reason: /expected a JSON value/ },
  { input: '.5', reason: /expected a JSON value/ },
  { input: '-a', reason: /invalid number/ },
  // duplicate keys, compared after decoding
  { input: '{"a":1,"a":2}', reason: /duplicate key/, position: 8 },
  { input: '{"a":1,"\\u0061":2}', reason: /duplicate key/, position: 8 },
  { input: '{"x":{"k":1,"j":2,"k":3}}', reason: /duplicate key/, position: 19 },
  {
    input: '{' + Array.from({ length: 40 }, (_, i) => `"key${i}":${i}`).join(',') + ',"key17":0}',
    reason: /duplicate key/,
  },
  // invalid UTF-8
  { input: Buffer.from([0x22, 0xc0, 0x80, 0x22]), reason: /UTF-8/, position: 1 },
  { input: Buffer.from([0x22, 0xc1, 0xbf, 0x22]), reason: /UTF-8/ },
  { input: Buffer.from([0x22, 0xe0, 0x80, 0x80, 0x22]), reason: /UTF-8/ },
  { input: Buffer.from([0x22, 0xf0, 0x80, 0x80, 0x80, 0x22]), reason: /UTF-8/ },
  { input: Buffer.from([0x22, 0x61, 0xed, 0xa0, 0x80, 0x22]), reason: /UTF-8/, position: 2 },
  { input: Buffer.from([0x22, 0xed, 0xbf, 0xbf, 0x22]), reason: /UTF-8/ },
  { input: Buffer.from([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]), reason: /UTF-8/ },
  { input: Buffer.from([0x22, 0xf5, 0x80, 0x80, 0x80, 0x22]), reason: /UTF-8/ },
  { input: Buffer.from([0x22, 0xff, 0x22]), reason: /UTF-8/ },
  { input: Buffer.from([0x22, 0x80, 0x22]), reason: /UTF-8/ },
  { input: Buffer.from([0x22, 0xe6, 0x97, 0x22]), reason: /UTF-8/ },
  { input: Buffer.from([0x22, 0xf0, 0x9f, 0x98, 0x22]), reason: /UTF-8/ },
  { input: Buffer.from([0x22, 0xe6]), reason: /UTF-8/ },
  { input: Buffer.from([0x7b, 0x22, 0xe6, 0x97, 0x22, 0x3a, 0x31, 0x7d]), reason: /UTF-8/ },
  { input: Buffer.from([0x22, 0x5c, 0x6e, 0xe6, 0x97, 0x22]), reason: /UTF-8/ },
  // lone surrogate escapes
  { input: '"\\ud800"', reason: /lone surrogate/, position: 1 },
  { input: '"\\uDC00"', reason: /lone surrogate/ },
  { input: '"\\ud800\\u0041"', reason: /lone surrogate/ },
  { input: '"\\ud800x"', reason: /lone surrogate/ },
  { input: '"\\ude00\\ud83d"', reason: /lone surrogate/ },
  { input: '{"\\udfff":1}', reason: /lone surrogate/ },
  // raw control characters inside strings
  { input: '"a\u0001b"', reason: /control character/, position: 2 },
  { input: '"tab\there"', reason: /control character/ },
  { input: '"line\nbreak"', reason: /control character/ },
  { input: '{"k\u001f":1}', reason: /control character/ },
  // invalid escapes
  { input: '"\\x"', reason: /escape/ },
  { input: '"\\u12"', reason: /escape/ },
  { input: '"\\u00G0"', reason: /escape/ },
  { input: '"\\U0041"', reason: /escape/ },
  { input: "'a'", reason: /expected a JSON value/ },
  // trailing garbage
  { input: '{} {}', reason: /after the JSON value/, position: 3 },
  { input: '1 2', reason: /after the JSON value/ },
  { input: '"a"x', reason: /after the JSON value/ },
  { input: 'nulll', reason: /after the JSON value/ },
  { input: Buffer.from('{}\u0000'), reason: /after the JSON value/ },
  // bad literals
  { input: 'tru', reason: /invalid literal/ },
  { input: 'nul', reason: /invalid literal/ },
  { input: 'falsy', reason: /invalid literal/ },
  { input: '[truE]', reason: /invalid literal/ },
  { input: 'True', reason: /expected a JSON value/ },
  // structure
  { input: '', reason: /unexpected end/ },
  { input: '   ', reason: /unexpected end/ },
  { input: '{', reason: /unexpected end/ },
  { input: '[1,2', reason: /unexpected end/ },
  { input: '"abc', reason: /unterminated string/ },
  { input: '{"a" 1}', reason: /expected ':'/ },
  { input: '{"a":1,}', reason: /string object key/ },
  { input: '{1:2}', reason: /string object key/ },
  { input: '[1,]', reason: /expected a JSON value/ },
  { input: '[1 2]', reason: /expected ','/ },
  { input: '{"a":1]', reason: /expected ','/ },
  // excessive nesting
  { input: '['.repeat(513) + ']'.repeat(513), reason: /nested deeper/, position: 512 },
  { input: '{"a":'.repeat(513) + '1' + '}'.repeat(513), reason: /nested deeper/ },
];

test('UTF-8 validation agrees with a strict decoder on every 1-3 byte lead/continuation mix', () => {
  const strict = new TextDecoder('utf-8', { fatal: true });
  const bytes: number[] = [0x41];
  for (let b = 0x80; b <= 0xff; b++) bytes.push(b);
  // the lead and second byte carry every range rule (E0, ED, F0, F4); later bytes only need
  // to be continuation bytes or not
  const tails = [0x41, 0x80, 0xbf, 0xc0];
  let checked = 0;
  for (const b0 of bytes) {
    for (const b1 of bytes) {
      for (const b2 of tails) {
        for (const b3 of b0 >= 0xf0 ? [0x41, 0x80, 0xbf] : [0x41]) {
          const input = Buffer.from([0x22, b0, b1, b2, b3, 0x22]);
          let valid = true;
          try {
            strict.decode(input);
          } catch {
            valid = false;
          }
          let accepted = true;
          try {
            canonicalJsonFromBytes(input);
          } catch (e) {
            assert.ok(e instanceof CanonicalJsonError && /UTF-8/.test(e.message), e instanceof Error ? e.message : String(e));
            accepted = false;
          }
          if (accepted !== valid) assert.fail(`bytes ${input.toString('hex')}: decoder says ${valid}, kernel says ${accepted}`);
          checked++;
        }
      }
    }
  }
  assert.ok(checked > 80_000);
});

test('refusals: each bad input throws CanonicalJsonError with its reason and position', () => {
  for (const { input, reason, position } of REFUSALS) {
    const label = typeof input === 'string' ? JSON.stringify(input.slice(0, 60)) : input.toString('hex');
    assert.throws(
      () => wasm(input),
      (e: unknown) => {
        assert.ok(e instanceof CanonicalJsonError, `${label}: ${String(e)}`);
        assert.match(e.message, reason, label);
        assert.equal(typeof e.position, 'number', label);
        assert.match(e.message, / at byte \d+$/, label);
        if (position !== undefined) assert.equal(e.position, position, `${label}: ${e.message}`);
        return true;
      },
      label,
    );
    // the hashing entry point refuses the same inputs
    assert.throws(() => sha256CanonicalFromBytes(typeof input === 'string' ? enc(input) : input), CanonicalJsonError);
  }
});

test('accepted edges: limits of range and nesting, whitespace, scalars at top level', () => {
  assert.equal(wasm('9007199254740991'), '9007199254740991');
  assert.equal(wasm('-9007199254740991'), '-9007199254740991');
  assert.equal(wasm('[0,-1,1000000000000000]'), '[0,-1,1000000000000000]');
  assert.equal(wasm('['.repeat(512) + ']'.repeat(512)), '['.repeat(512) + ']'.repeat(512));
  assert.equal(wasm(' \t\r\n{ "a" :\n[ 1 , true,false , null ,{ } , [ ] ] }\n '), '{"a":[1,true,false,null,{},[]]}');
  assert.equal(wasm('"x"'), '"x"');
  assert.equal(wasm('true'), 'true');
  assert.equal(wasm('null'), 'null');
  assert.equal(wasm('""'), '""');
  assert.equal(wasm('{"":""}'), '{"":""}');
  const long = 'é'.repeat(50_000) + 'a'.repeat(70_001);
  assert.equal(wasm(JSON.stringify({ long })), JSON.stringify({ long }));
});

test('the reference refuses the same nesting depth as the kernel', () => {
  let deep: unknown = [];
  for (let i = 0; i < 511; i++) deep = [deep];
  assert.equal(canonicalJsonRef(deep), '['.repeat(512) + ']'.repeat(512));
  assert.throws(() => canonicalJsonRef([deep]), CanonicalJsonError);
  assert.throws(() => canonicalJson([deep]), CanonicalJsonError);
});

test('lax: integers outside ±(2^53−1) keep their digits; floats and -0 are still refused', () => {
  const lax = { lax: true };
  assert.equal(wasm('9007199254740993', lax), '9007199254740993');
  assert.equal(wasm('{"b":-123456789012345678901234567890,"a":[18446744073709551616]}', lax), '{"a":[18446744073709551616],"b":-123456789012345678901234567890}');
  assert.throws(() => wasm('9007199254740993'), /outside/);
  assert.throws(() => wasm('1.5', lax), /not an integer/);
  assert.throws(() => wasm('1e400', lax), /not an integer/);
  assert.throws(() => wasm('-0', lax), /negative zero/);
  // the value path: bigints keep every digit; numbers past 1e21 are written in full
  assert.equal(canonicalJson({ n: 123456789012345678901234567890n }, lax).toString(), '{"n":123456789012345678901234567890}');
  assert.equal(canonicalJson({ n: 1e21 }, lax).toString(), '{"n":1000000000000000000000}');
  assert.throws(() => canonicalJson({ n: 2 ** 53 }), CanonicalJsonError);
  assert.equal(canonicalJson({ n: 2 ** 53 }, lax).toString(), '{"n":9007199254740992}');
});

test('drop: named top-level keys only; dropped members are parsed but not held to canonical rules', () => {
  const drop = ['signatures', 'unsigned'];
  const text = '{"unsigned":{"age":1.5,"x":"\\udc00","dup":1,"dup":2},"b":{"signatures":1,"unsigned":2},"signatures":{"s":{"k":"v"}},"a":-1}';
  assert.equal(wasm(text, { drop }), '{"a":-1,"b":{"signatures":1,"unsigned":2}}');
  // without dropping, the float inside "unsigned" is refused
  assert.throws(() => wasm(text), /not an integer/);
  // the dropped member still has to be JSON
  assert.throws(() => wasm('{"unsigned":{"a":01},"b":1}', { drop }), /invalid number/);
  assert.throws(() => wasm('{"unsigned":"\u0001","b":1}', { drop }), /control character/);
  assert.throws(() => wasm(Buffer.from([0x7b, 0x22, 0x75, 0x22, 0x3a, 0x22, 0xc0, 0x80, 0x22, 0x7d]), { drop: ['u'] }), /UTF-8/);
  // keys are matched after decoding; non-object roots are untouched
  assert.equal(wasm('{"\\u0073ignatures":1,"z":2}', { drop }), '{"z":2}');
  assert.equal(wasm('[{"signatures":1}]', { drop }), '[{"signatures":1}]');
  assert.equal(wasm('{"signatures":1}', { drop }), '{}');
  // a different drop list on the next call is honoured (the kernel caches the list)
  assert.equal(wasm('{"hashes":1,"signatures":2,"x":3}', { drop: ['hashes'] }), '{"signatures":2,"x":3}');
  assert.equal(wasm('{"hashes":1,"signatures":2,"x":3}', { drop: ['signatures', 'unsigned'] }), '{"hashes":1,"x":3}');
  assert.equal(wasm('{"hashes":1,"signatures":2,"x":3}'), '{"hashes":1,"signatures":2,"x":3}');
  const reused = ['x'];
  assert.equal(wasm('{"x":1,"y":2}', { drop: reused }), '{"y":2}');
  reused.push('y');
  assert.equal(wasm('{"x":1,"y":2}', { drop: reused }), '{}');
  // the value path
  const obj = { x: 1, signatures: { a: 1 }, unsigned: { age: 5 }, hashes: { sha256: 'abc' } };
  assert.equal(canonicalJson(obj, { drop: ['signatures', 'unsigned', 'hashes'] }).toString(), '{"x":1}');
  assert.equal(canonicalJsonRef(obj, { drop }), '{"hashes":{"sha256":"abc"},"x":1}');
});

test('value path: edge cases behave as the reference does', () => {
  const same = (v: unknown, opts?: { lax?: boolean }): void => {
    let ref: string | Error;
    try {
      ref = canonicalJsonRef(v, opts);
    } catch (e) {
      ref = e as Error;
    }
    if (ref instanceof Error) {
      assert.throws(() => canonicalJson(v, opts), CanonicalJsonError);
      assert.throws(() => sha256Canonical(v, opts), CanonicalJsonError);
    } else {
      assert.equal(canonicalJson(v, opts).toString('utf8'), ref);
      assert.deepEqual(sha256Canonical(v, opts), sha256(Buffer.from(ref, 'utf8')));
    }
  };
  same({ a: 'lone \ud800 surrogate' });
  same({ '\udc00': 1 });
  same({ a: 1.5 });
  same({ a: -0 });
  same({ a: NaN });
  same([Infinity]);
  same([undefined]);
  same({ a: undefined, b: 1 });
  same({ a: null, b: [null] });
  same({ a: 10n });
  same({ a: 2n ** 60n });
  same({ a: 2n ** 60n }, { lax: true });
  same({ a: 2 ** 60 });
  same({ a: 2 ** 60 }, { lax: true });
  same({ a: 1e21 }, { lax: true });
  same({ a: () => 1 });
  same({ '\u2028': '\u2029', '😀': 'x\u0000y', '\uE000': '\u007f' });
  same('top-level string');
  same(42);
  same(null);
  // members to drop are left out before stringifying; an own "__proto__" key survives
  const drop = ['signatures', 'unsigned'];
  const withProto = JSON.parse('{"__proto__":{"x":1},"signatures":2,"a":3}') as unknown;
  assert.equal(canonicalJson(withProto, { drop }).toString(), '{"__proto__":{"x":1},"a":3}');
  assert.equal(canonicalJsonRef(withProto, { drop }), '{"__proto__":{"x":1},"a":3}');
  const big = { a: 2n ** 70n, unsigned: { age: 1.5 } };
  assert.equal(canonicalJson(big, { drop, lax: true }).toString(), '{"a":1180591620717411303424}');
  assert.throws(() => canonicalJson(big, { drop }), CanonicalJsonError);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => canonicalJson(cyclic), CanonicalJsonError);
});

test('canonical bytes and hash in one call', () => {
  const text = '{"b":[1,2],"a":"\\u00e9"}';
  const both = canonicalJsonAndSha256FromBytes(enc(text));
  assert.equal(both.canonical.toString(), '{"a":"é","b":[1,2]}');
  assert.deepEqual(both.sha256, createHash('sha256').update(both.canonical).digest());
  const fromValue = canonicalJsonAndSha256(JSON.parse(text));
  assert.deepEqual(fromValue, both);
  // results are independent copies, not views that the next call overwrites
  const first = canonicalJsonFromBytes(enc('{"z":1}'));
  canonicalJsonFromBytes(enc('{"y":2222222}'));
  assert.equal(first.toString(), '{"z":1}');
  assert.equal(canonicalJsonRefBytes({ z: 1 }).toString(), '{"z":1}');
});

test('input buffers are not modified and large inputs grow Wasm memory', () => {
  const input = enc('{"k":"\\n\\u00e9\\ud83d\\ude00"}');
  const copy = Buffer.from(input);
  assert.equal(wasm(input), '{"k":"\\né😀"}');
  assert.deepEqual(input, copy);
  const big: Record<string, string> = {};
  for (let i = 0; i < 20000; i++) big[`key-${i}`] = `value ${i} \u2028 😀`;
  const text = JSON.stringify(big, null, 2);
  assert.equal(wasm(text), canonicalJsonRef(big));
  assert.equal(wasm('{"small":true}'), '{"small":true}');
  // a view of the kernel's own output can be fed back in, even when memory must grow
  const view = canonicalView('{"b":"' + 'x'.repeat(100) + '","a":1}').bytes;
  assert.equal(wasm(view), '{"a":1,"b":"' + 'x'.repeat(100) + '"}');
  const huge = '["' + 'y'.repeat(3_000_000) + '"]';
  const hugeView = canonicalView(Buffer.from(huge)).bytes;
  assert.equal(canonicalView(hugeView).bytes.toString(), huge);
});

test('signedView: signed bytes and the signature, found without JSON.parse', () => {
  const text = '{"signatures":{"a.org":{"ed25519:x":"c2ln"},"b.org":{"ed25519:y":"second"}},"unsigned":{"u":1},"z":1,"a":2}';
  const v = signedView(enc(text), 'b.org', 'ed25519:y');
  assert.equal(v.signed.toString(), '{"a":2,"z":1}');
  assert.equal(v.signature, 'second');
  assert.equal(signedView(enc(text), 'a.org', 'ed25519:x').signature, 'c2ln');
  assert.equal(signedView(enc(text), 'a.org', 'ed25519:y').signature, undefined);
  assert.equal(signedView(enc(text), 'c.org', 'ed25519:x').signature, undefined);
  assert.equal(signedView(enc('{"signatures":{"a.org":{"ed25519:x":5}}}'), 'a.org', 'ed25519:x').signature, undefined);
  assert.equal(signedView(enc('{"signatures":[1]}'), 'a.org', 'ed25519:x').signature, undefined);
  assert.equal(signedView(enc('{"signatures":{"a.org":{"ed\\u0032":"esc"}}}'), 'a.org', 'ed2').signature, 'esc');
});
