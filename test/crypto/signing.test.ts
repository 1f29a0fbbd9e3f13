// The appendix's "Cryptographic Test Vectors" (Signing Key, JSON Signing) and "Unpadded Base64".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBase64, decodeBase64Url, encodeBase64, encodeBase64Url, Base64Error } from '../../src/crypto/base64.js';
import { signingKeyFromSeed, parseSigningKeys } from '../../src/crypto/signing-key.js';
import { checkJsonSignature, signJson, signedBytes, verifyJsonSignature } from '../../src/crypto/sign-json.js';
import { signedView } from '../../src/crypto/wasm-canonical.js';
import { verify } from '../../src/crypto/ed25519.js';

// The appendix's seed string ends in "1": its last character carries two non-zero bits past
// the 32 bytes, which the strict decoder refuses (two strings must not decode alike). Node's
// lenient decoder drops them; the canonical spelling of the same seed ends in "0".
const SEED_B64 = 'YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1';
const SEED = Buffer.from(SEED_B64, 'base64');
const SERVER = 'domain';
const KEY_ID = 'ed25519:1';
const key = signingKeyFromSeed('1', SEED);

test('signing key from the appendix seed', () => {
  assert.equal(SEED.length, 32);
  assert.throws(() => decodeBase64(SEED_B64), /trailing bits/);
  assert.equal(encodeBase64(SEED), SEED_B64.slice(0, -1) + '0');
  assert.deepEqual(decodeBase64(encodeBase64(SEED)), SEED);
  assert.equal(key.keyId, KEY_ID);
  assert.equal(key.version, '1');
  assert.deepEqual(key.seed, SEED);
  assert.equal(key.publicKey.length, 32);
  assert.equal(key.publicKeyBase64, encodeBase64(key.publicKey));
  // the key file format reads back the same key
  const [parsed] = parseSigningKeys(`ed25519 1 ${encodeBase64(SEED)}\n`);
  assert.deepEqual(parsed!.publicKey, key.publicKey);
});

test('JSON signing vector: empty object', () => {
  const signed = signJson({}, SERVER, key);
  assert.deepEqual(signed, {
    signatures: {
      domain: {
        'ed25519:1': 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ',
      },
    },
  });
  assert.equal(checkJsonSignature(signed, SERVER, KEY_ID, key.publicKey), 'ok');
});

test('JSON signing vector: object with data', () => {
  const signed = signJson({ one: 1, two: 'Two' }, SERVER, key);
  assert.deepEqual(signed, {
    one: 1,
    signatures: {
      domain: {
        'ed25519:1': 'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw',
      },
    },
    two: 'Two',
  });
  assert.equal(verifyJsonSignature(signed, SERVER, KEY_ID, key.publicKey), true);
});

test('the appendix signed JSON verifies from raw bytes through the Wasm kernel', () => {
  const text = `{
    "one": 1,
    "signatures": {
        "domain": {
            "ed25519:1": "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
        }
    },
    "two": "Two"
}`;
  const v = signedView(Buffer.from(text), SERVER, KEY_ID);
  assert.equal(v.signed.toString(), '{"one":1,"two":"Two"}');
  assert.ok(verify(decodeBase64(v.signature!), v.signed, key.publicKey));
  // a changed value no longer verifies
  const tampered = signedView(Buffer.from(text.replace('"Two"', '"Tw0"')), SERVER, KEY_ID);
  assert.ok(!verify(decodeBase64(tampered.signature!), tampered.signed, key.publicKey));
});

test('signatures and unsigned are not covered; a tampered object fails', () => {
  const signed = signJson({ a: 1, unsigned: { age: 5 } }, SERVER, key);
  assert.equal(signedBytes(signed).toString(), '{"a":1}');
  assert.equal(checkJsonSignature({ ...signed, unsigned: { age: 6 } }, SERVER, KEY_ID, key.publicKey), 'ok');
  assert.equal(checkJsonSignature({ ...signed, a: 2 }, SERVER, KEY_ID, key.publicKey), 'bad');
  assert.equal(checkJsonSignature(signed, 'other', KEY_ID, key.publicKey), 'missing');
  const badB64 = { ...signed, signatures: { domain: { [KEY_ID]: '!!!' } } };
  assert.equal(checkJsonSignature(badB64, SERVER, KEY_ID, key.publicKey), 'bad');
});

test('unpadded base64: the appendix examples, both ways', () => {
  const examples: [string, string][] = [
    ['', ''],
    ['f', 'Zg'],
    ['fo', 'Zm8'],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg'],
    ['fooba', 'Zm9vYmE'],
    ['foobar', 'Zm9vYmFy'],
  ];
  for (const [plain, b64] of examples) {
    assert.equal(encodeBase64(Buffer.from(plain)), b64);
    assert.equal(decodeBase64(b64).toString(), plain);
    assert.equal(encodeBase64Url(Buffer.from(plain)), b64);
    assert.equal(decodeBase64Url(b64).toString(), plain);
  }
  // padding is accepted when decoding, as the appendix recommends
  assert.equal(decodeBase64('Zg==').toString(), 'f');
  assert.equal(decodeBase64('Zm8=').toString(), 'fo');
  // the URL-safe alphabet uses - and _ for 62 and 63
  const bytes = Buffer.from([0xfb, 0xff, 0xbf]);
  assert.equal(encodeBase64(bytes), '+/+/');
  assert.equal(encodeBase64Url(bytes), '-_-_');
  assert.deepEqual(decodeBase64Url('-_-_'), bytes);
});

test('base64 decoding is strict', () => {
  const bad = ['Z', 'Zm9vY', 'Zg=', 'Zg===', 'Z===', '=Zg', 'Zm9v=', 'Zh', 'Zm9', 'Zm8A=', 'Zm 9v', 'Zm9v\n', 'Zm9v!', '-_-_', 'Zm9v.'];
  for (const s of bad) assert.throws(() => decodeBase64(s), Base64Error, s);
  for (const s of ['+/+/', 'Zh', 'Z', 'ab=c']) assert.throws(() => decodeBase64Url(s), Base64Error, s);
});
