// The worker pool against single-thread results: verify, hash and sign batches.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { CryptoPool } from '../../src/crypto/pool.js';
import { CanonicalJsonError, sha256CanonicalFromBytes } from '../../src/crypto/canonical.js';
import { signingKeyFromSeed } from '../../src/crypto/signing-key.js';
import { checkJsonSignature, signatureOf, signJson, type JsonObject } from '../../src/crypto/sign-json.js';
import { verifySignedJson } from '../../workers/crypto.js';

const pool = new CryptoPool({ threads: 2 });
after(() => pool.close());

const keyA = signingKeyFromSeed('a1', Buffer.alloc(32, 1));
const keyB = signingKeyFromSeed('b2', Buffer.alloc(32, 2));

function event(i: number): JsonObject {
  return {
    type: i % 2 ? 'm.room.message' : 'm.room.member',
    room_id: '!room:a.example',
    sender: `@user${i}:a.example`,
    origin_server_ts: 1_700_000_000_000 + i,
    depth: i,
    content: i % 2 ? { msgtype: 'm.text', body: `message ${i} 日本語 😀 \u2028 "quoted"\n` } : { membership: 'join', displayname: `User ${i}` },
    prev_events: [`$prev${i}`],
    auth_events: ['$create', '$power'],
    hashes: { sha256: 'aGFzaA' },
    unsigned: { age: i },
  };
}

const enc = (v: unknown, pretty = false): Buffer => Buffer.from(JSON.stringify(v, null, pretty ? 2 : undefined), 'utf8');

test('verifyBatch matches single-thread verification, including tampered and malformed items', async () => {
  const items = [];
  for (let i = 0; i < 120; i++) {
    const key = i % 3 ? keyA : keyB;
    const server = i % 3 ? 'a.example' : 'b.example';
    let signed: JsonObject = signJson(event(i), server, key);
    let publicKey: Uint8Array = key.publicKey;
    let keyId = key.keyId;
    switch (i % 10) {
      case 1: // content changed after signing
        signed = { ...signed, content: { ...(signed.content as JsonObject), body: 'tampered' } };
        break;
      case 2: // wrong public key
        publicKey = (key === keyA ? keyB : keyA).publicKey;
        break;
      case 3: // unknown key id
        keyId = 'ed25519:nope';
        break;
      case 4: // unsigned data is not covered
        signed = { ...signed, unsigned: { age: 99999 } };
        break;
      case 5: // signature that is not base64
        signed = { ...signed, signatures: { [server]: { [key.keyId]: '***' } } };
        break;
    }
    items.push({ json: enc(signed, i % 4 === 0), serverName: server, keyId, publicKey });
  }
  items.push({ json: Buffer.from('{"not":"closed"'), serverName: 'a.example', keyId: keyA.keyId, publicKey: keyA.publicKey });
  items.push({ json: enc(signJson({ f: 1 }, 'a.example', keyA)), serverName: 'a.example', keyId: keyA.keyId, publicKey: Buffer.alloc(5) });

  const expected = items.map((it) => {
    let obj: JsonObject;
    try {
      obj = JSON.parse(Buffer.from(it.json).toString('utf8')) as JsonObject;
    } catch {
      return false;
    }
    return it.publicKey.length === 32 && checkJsonSignature(obj, it.serverName, it.keyId, it.publicKey) === 'ok';
  });
  const single = items.map((it) => verifySignedJson(it.json, it.serverName, it.keyId, it.publicKey));
  const pooled = await pool.verifyBatch(items);
  assert.deepEqual(single, expected);
  assert.deepEqual(pooled, expected);
  assert.ok(expected.filter(Boolean).length >= 60, 'most items verify');
  assert.equal(pooled[1], false, 'tampered');
  assert.equal(pooled[4], true, 'unsigned changed');
  // the caller's buffers are still usable: the pool packs copies before transferring
  assert.ok(items[0]!.json.byteLength > 0);
  assert.deepEqual(await pool.verifyBatch([]), []);
});

test('hashBatch matches single-thread hashes; refusals come back per item', async () => {
  const texts: Uint8Array[] = [];
  for (let i = 0; i < 700; i++) texts.push(enc(event(i), i % 2 === 0));
  texts.push(Buffer.from('{"a":1.5}'));
  texts.push(Buffer.from('{"a":1,"a":2}'));
  const res = await pool.hashBatch(texts);
  assert.equal(res.length, texts.length);
  for (let i = 0; i < 700; i++) assert.deepEqual(res[i], sha256CanonicalFromBytes(texts[i]!), `item ${i}`);
  assert.ok(res[700] instanceof CanonicalJsonError && /not an integer/.test(res[700].message));
  assert.ok(res[701] instanceof CanonicalJsonError && /duplicate key/.test(res[701].message));
  const drop = ['unsigned', 'hashes'];
  const dropped = await pool.hashBatch(texts.slice(0, 300), { drop });
  for (let i = 0; i < 300; i++) assert.deepEqual(dropped[i], sha256CanonicalFromBytes(texts[i]!, { drop }));
  assert.notDeepEqual(dropped[0], res[0]);
});

test('signBatch gives the signatures signJson gives', async () => {
  const objects = Array.from({ length: 60 }, (_, i) => event(i));
  const texts = objects.map((o, i) => enc(o, i % 2 === 0));
  const fromBytes = await pool.signBatch(texts, keyA.seed);
  const fromValues = await pool.signBatch(objects, keyA.seed);
  const expected = objects.map((o) => signatureOf(o, keyA));
  assert.deepEqual(fromBytes, expected);
  assert.deepEqual(fromValues, expected);
  // and they verify
  const signed = signJson(objects[0]!, 'a.example', keyA);
  assert.equal((signed.signatures as Record<string, Record<string, string>>)['a.example']![keyA.keyId], fromBytes[0]);
  const other = await pool.signBatch(objects.slice(0, 3), keyB.seed);
  assert.deepEqual(other, objects.slice(0, 3).map((o) => signatureOf(o, keyB)));
  assert.notEqual(other[0], fromBytes[0]);
  await assert.rejects(pool.signBatch([Buffer.from('{"x":1.5}')], keyA.seed), (e: unknown) => e instanceof CanonicalJsonError && /object 0/.test(e.message));
  await assert.rejects(pool.signBatch([{}], Buffer.alloc(3)), /32 bytes/);
});
