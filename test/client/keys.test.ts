// End-to-end keys over real HTTP with real ed25519 signatures: upload, query, claim (one-time
// then fallback keys), the counts and device lists in /sync, /keys/changes, cross-signing and
// signature uploads.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { encodeBase64 } from '../../src/crypto/base64.js';
import { generateKeyPair } from '../../src/crypto/ed25519.js';
import { signJson } from '../../src/crypto/sign-json.js';
import type { SigningKey } from '../../src/crypto/signing-key.js';
import { login, TestClient, type Json } from '../helpers/client.js';
import { startHarness, user, createRoom, join, sync, ok, type Harness } from './extras-harness.js';

let h: Harness;
let alice: TestClient;
let bob: TestClient;

const enc = encodeURIComponent;

/** A fresh ed25519 key named `ed25519:<name>` (name null: its own public key). */
function newKey(name: string | null): SigningKey {
  const kp = generateKeyPair();
  const pub = encodeBase64(kp.publicKey);
  const version = name ?? pub;
  return { algorithm: 'ed25519', version, keyId: `ed25519:${version}`, seed: kp.seed, publicKey: kp.publicKey, secretKey: kp.secretKey, publicKeyBase64: pub };
}

interface Device {
  client: TestClient;
  key: SigningKey;
  keys: Json;
}

function deviceKeysFor(c: TestClient, key: SigningKey): Json {
  const body = {
    user_id: c.userId,
    device_id: c.deviceId,
    algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
    keys: { [`ed25519:${c.deviceId}`]: key.publicKeyBase64, [`curve25519:${c.deviceId}`]: encodeBase64(generateKeyPair().publicKey) },
  };
  return signJson(body, c.userId!, key);
}

async function uploadDevice(c: TestClient): Promise<Device> {
  const key = newKey(c.deviceId!);
  const keys = deviceKeysFor(c, key);
  ok(await c.post('/keys/upload', { device_keys: keys }), 'upload device keys');
  return { client: c, key, keys };
}

function otk(key: SigningKey, fallback = false): Json {
  return signJson({ key: encodeBase64(generateKeyPair().publicKey), ...(fallback ? { fallback: true } : {}) }, 'x', key);
}

before(async () => {
  h = await startHarness();
  alice = await user(h, 'alice');
  bob = await user(h, 'bob');
});
after(async () => {
  await h.stop();
});

describe('device keys', () => {
  let aliceDev: Device;

  test('upload: signed device keys are stored and returned by query with the display name', async () => {
    ok(await alice.put(`/devices/${alice.deviceId}`, { display_name: 'Alice laptop' }));
    aliceDev = await uploadDevice(alice);
    const q = ok(await bob.post('/keys/query', { device_keys: { [alice.userId!]: [] } }));
    const got = q.device_keys[alice.userId!][alice.deviceId!];
    assert.deepEqual(got.keys, aliceDev.keys.keys);
    assert.deepEqual(got.signatures, aliceDev.keys.signatures);
    assert.equal(got.unsigned.device_display_name, 'Alice laptop');
    assert.deepEqual(q.failures, {});
    // Asking for one device, an unknown device, an unknown user, a remote user.
    const q2 = ok(
      await bob.post('/keys/query', {
        device_keys: { [alice.userId!]: ['NOPE', alice.deviceId], '@ghost:test.local': [], '@x:remote.example': [] },
      }),
    );
    assert.deepEqual(Object.keys(q2.device_keys[alice.userId!]), [alice.deviceId]);
    assert.deepEqual(q2.device_keys['@ghost:test.local'], {});
    assert.ok(q2.failures['remote.example']);
  });

  test('upload: wrong user, wrong device, bad signature are refused', async () => {
    const key = newKey(alice.deviceId!);
    const forged = signJson({ ...deviceKeysFor(alice, key), signatures: undefined }, alice.userId!, newKey(alice.deviceId!));
    const r1 = await alice.post('/keys/upload', { device_keys: forged });
    assert.equal(r1.status, 400);
    assert.equal(r1.body.errcode, 'M_INVALID_SIGNATURE');
    const other = { ...deviceKeysFor(alice, key), device_id: 'OTHER' };
    assert.equal((await alice.post('/keys/upload', { device_keys: other })).body.errcode, 'M_BAD_JSON');
    const asBob = { ...deviceKeysFor(alice, key), user_id: bob.userId };
    assert.equal((await alice.post('/keys/upload', { device_keys: asBob })).body.errcode, 'M_BAD_JSON');
    assert.equal((await alice.post('/keys/upload', { one_time_keys: { nocolon: 'x' } })).body.errcode, 'M_BAD_JSON');
    assert.equal((await alice.post('/keys/query', { device_keys: { [bob.userId!]: 'all' } })).body.errcode, 'M_BAD_JSON');
    assert.equal((await alice.post('/keys/claim', {})).body.errcode, 'M_BAD_JSON');
    // Nothing changed.
    const q = ok(await bob.post('/keys/query', { device_keys: { [alice.userId!]: [] } }));
    assert.deepEqual(q.device_keys[alice.userId!][alice.deviceId!].keys, aliceDev.keys.keys);
  });

  test('one-time keys: counts, claims oldest first and each once, then the fallback key', async () => {
    const k1 = { 'signed_curve25519:AAAA1': otk(aliceDev.key), 'signed_curve25519:AAAA2': otk(aliceDev.key) };
    const counts = ok(await alice.post('/keys/upload', { one_time_keys: k1 })).one_time_key_counts;
    assert.equal(counts.signed_curve25519, 2);
    const k2 = { 'signed_curve25519:BBBB1': otk(aliceDev.key) };
    const fb = { 'signed_curve25519:FFFF1': otk(aliceDev.key, true) };
    assert.equal(ok(await alice.post('/keys/upload', { one_time_keys: k2, fallback_keys: fb })).one_time_key_counts.signed_curve25519, 3);
    // Re-uploading the same key is fine; the same id with other content is not.
    ok(await alice.post('/keys/upload', { one_time_keys: k2 }));
    const clash = await alice.post('/keys/upload', { one_time_keys: { 'signed_curve25519:BBBB1': otk(aliceDev.key) } });
    assert.equal(clash.body.errcode, 'M_INVALID_PARAM');

    const s = await sync(alice);
    assert.equal(s.device_one_time_keys_count.signed_curve25519, 3);
    assert.deepEqual(s.device_unused_fallback_key_types, ['signed_curve25519']);

    const claimed: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = ok(await bob.post('/keys/claim', { one_time_keys: { [alice.userId!]: { [alice.deviceId!]: 'signed_curve25519' } } }));
      claimed.push(...Object.keys(c.one_time_keys[alice.userId!][alice.deviceId!]));
    }
    assert.deepEqual(claimed.slice(0, 2).sort(), ['signed_curve25519:AAAA1', 'signed_curve25519:AAAA2'], 'the first batch goes first');
    assert.equal(claimed[2], 'signed_curve25519:BBBB1');
    // Out of one-time keys: the fallback key, as often as asked, and it is marked used.
    for (let i = 0; i < 2; i++) {
      const c = ok(await bob.post('/keys/claim', { one_time_keys: { [alice.userId!]: { [alice.deviceId!]: 'signed_curve25519' } } }));
      const got = c.one_time_keys[alice.userId!][alice.deviceId!];
      assert.deepEqual(Object.keys(got), ['signed_curve25519:FFFF1']);
      assert.equal(got['signed_curve25519:FFFF1'].fallback, true);
    }
    const s2 = await sync(alice);
    assert.equal(s2.device_one_time_keys_count.signed_curve25519, 0);
    assert.deepEqual(s2.device_unused_fallback_key_types, []);
    // A new fallback key is unused again.
    ok(await alice.post('/keys/upload', { fallback_keys: { 'signed_curve25519:FFFF2': otk(aliceDev.key, true) } }));
    assert.deepEqual((await sync(alice)).device_unused_fallback_key_types, ['signed_curve25519']);
    // Unknown devices and algorithms claim nothing.
    const none = ok(await bob.post('/keys/claim', { one_time_keys: { [alice.userId!]: { NOPE: 'signed_curve25519', [alice.deviceId!]: 'other_alg' } } }));
    assert.deepEqual(none.one_time_keys, {});
  });

  test('concurrent claims never hand out the same key twice', async () => {
    const c = await login(h.baseUrl, 'bob', 'correct horse battery staple');
    const dev = await uploadDevice(c);
    const keys: Json = {};
    for (let i = 0; i < 20; i++) keys[`signed_curve25519:K${i}`] = otk(dev.key);
    ok(await c.post('/keys/upload', { one_time_keys: keys }));
    const claims = await Promise.all(
      Array.from({ length: 20 }, () => alice.post('/keys/claim', { one_time_keys: { [c.userId!]: { [c.deviceId!]: 'signed_curve25519' } } })),
    );
    const ids = claims.map((r) => Object.keys(ok(r).one_time_keys[c.userId!][c.deviceId!])[0]);
    assert.equal(new Set(ids).size, 20);
  });
});

describe('device lists', () => {
  test('sync reports device changes of room peers, newcomers and leavers; /keys/changes agrees', async () => {
    const carol = await user(h, 'carol');
    const dave = await user(h, 'dave');
    const room = await createRoom(alice, { preset: 'public_chat' });
    await join(carol, room);
    const start = await sync(alice);
    assert.equal(start.device_lists.changed.length, 0, 'an initial sync has no device_lists');

    await uploadDevice(carol);
    const s1 = await sync(alice, start.next_batch);
    assert.deepEqual(s1.device_lists.changed, [carol.userId]);
    // Dave shares no room: his change is not Alice's business.
    await uploadDevice(dave);
    const s2 = await sync(alice, s1.next_batch);
    assert.ok(!s2.device_lists.changed.includes(dave.userId));
    // Dave joins: now he is "changed" for Alice.
    await join(dave, room);
    const s3 = await sync(alice, s2.next_batch);
    assert.ok(s3.device_lists.changed.includes(dave.userId));
    // Carol leaves the only room they share: "left".
    ok(await carol.post(`/rooms/${enc(room)}/leave`, {}));
    const s4 = await sync(alice, s3.next_batch);
    assert.deepEqual(s4.device_lists.left, [carol.userId]);

    const changes = ok(await alice.get(`/keys/changes?from=${enc(start.next_batch)}&to=${enc(s4.next_batch)}`));
    assert.ok(changes.changed.includes(dave.userId));
    assert.deepEqual(changes.left, [carol.userId]);
    assert.equal((await alice.get('/keys/changes?from=nonsense&to=s1_0')).body.errcode, 'M_INVALID_PARAM');
    assert.equal((await alice.get('/keys/changes?to=s1_0')).body.errcode, 'M_MISSING_PARAM');
  });

  test("a user's own new device and deleted device show in its own sync", async () => {
    const erin = await user(h, 'erin');
    const s0 = await sync(erin);
    const second = await login(h.baseUrl, 'erin', 'correct horse battery staple');
    await uploadDevice(second);
    const s1 = await sync(erin, s0.next_batch);
    assert.deepEqual(s1.device_lists.changed, [erin.userId]);
    // Deleting the device (password auth) drops its keys and is a change too.
    const first = await erin.delete(`/devices/${second.deviceId}`, {});
    ok(await erin.delete(`/devices/${second.deviceId}`, { auth: { ...erin.passwordAuth('correct horse battery staple'), session: first.body.session } }));
    // The removal listener runs after the response: give it a moment.
    let s2: Json;
    for (let i = 0; i < 20; i++) {
      s2 = await sync(erin, s1.next_batch);
      if (s2.device_lists.changed.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(s2.device_lists.changed, [erin.userId]);
    const q = ok(await erin.post('/keys/query', { device_keys: { [erin.userId!]: [] } }));
    assert.deepEqual(q.device_keys[erin.userId!], {});
  });
});

describe('cross-signing', () => {
  test('upload master, self-signing and user-signing keys; query shows what each user may see', async () => {
    const frank = await user(h, 'frank');
    const dev = await uploadDevice(frank);
    const master = newKey(null);
    const ssk = newKey(null);
    const usk = newKey(null);
    const masterObj = { user_id: frank.userId, usage: ['master'], keys: { [master.keyId]: master.publicKeyBase64 } };
    const sskObj = signJson({ user_id: frank.userId, usage: ['self_signing'], keys: { [ssk.keyId]: ssk.publicKeyBase64 } }, frank.userId!, master);
    const uskObj = signJson({ user_id: frank.userId, usage: ['user_signing'], keys: { [usk.keyId]: usk.publicKeyBase64 } }, frank.userId!, master);
    // A first upload needs no password.
    ok(await frank.post('/keys/device_signing/upload', { master_key: masterObj, self_signing_key: sskObj, user_signing_key: uskObj }));
    // The same keys again: still none (idempotent retries).
    ok(await frank.post('/keys/device_signing/upload', { master_key: masterObj, self_signing_key: sskObj }));
    // New keys: user-interactive auth.
    const other = newKey(null);
    const replace = { master_key: { user_id: frank.userId, usage: ['master'], keys: { [other.keyId]: other.publicKeyBase64 } } };
    const challenge = await frank.post('/keys/device_signing/upload', replace);
    assert.equal(challenge.status, 401);
    assert.ok(challenge.body.flows);

    // A self-signing key not signed by the master key is refused (a first upload: no UIA).
    const hank = await user(h, 'hank');
    const hm = newKey(null);
    const hs = newKey(null);
    const badSsk = signJson({ user_id: hank.userId, usage: ['self_signing'], keys: { [hs.keyId]: hs.publicKeyBase64 } }, hank.userId!, other);
    const bad = await hank.post('/keys/device_signing/upload', {
      master_key: { user_id: hank.userId, usage: ['master'], keys: { [hm.keyId]: hm.publicKeyBase64 } },
      self_signing_key: badSsk,
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, 'M_INVALID_SIGNATURE');
    assert.deepEqual(ok(await alice.post('/keys/query', { device_keys: { [hank.userId!]: [] } })).master_keys, {}, 'nothing was stored');

    // Sign the device with the self-signing key, and the master key with the device.
    const signedDevice = signJson(dev.keys, frank.userId!, ssk);
    const signedMaster = signJson(masterObj, frank.userId!, dev.key);
    const up = ok(await frank.post('/keys/signatures/upload', { [frank.userId!]: { [frank.deviceId!]: signedDevice, [master.publicKeyBase64]: signedMaster } }));
    assert.deepEqual(up.failures, {});

    const q = ok(await alice.post('/keys/query', { device_keys: { [frank.userId!]: [] } }));
    assert.deepEqual(q.master_keys[frank.userId!].keys, masterObj.keys);
    assert.ok(q.master_keys[frank.userId!].signatures[frank.userId!][dev.key.keyId], 'device signature on the master key');
    assert.deepEqual(q.self_signing_keys[frank.userId!].keys, sskObj.keys);
    assert.equal(q.user_signing_keys[frank.userId!], undefined, "others do not see frank's user-signing key");
    assert.ok(q.device_keys[frank.userId!][frank.deviceId!].signatures[frank.userId!][ssk.keyId], 'self-signing signature on the device');
    const own = ok(await frank.post('/keys/query', { device_keys: { [frank.userId!]: [] } }));
    assert.deepEqual(own.user_signing_keys[frank.userId!].keys, uskObj.keys);

    // Frank signs Alice's master key with his user-signing key: only Frank sees that signature.
    const aMaster = newKey(null);
    const aMasterObj = { user_id: alice.userId, usage: ['master'], keys: { [aMaster.keyId]: aMaster.publicKeyBase64 } };
    ok(await alice.post('/keys/device_signing/upload', { master_key: aMasterObj }));
    const cross = ok(await frank.post('/keys/signatures/upload', { [alice.userId!]: { [aMaster.publicKeyBase64]: signJson(aMasterObj, frank.userId!, usk) } }));
    assert.deepEqual(cross.failures, {});
    const seenByFrank = ok(await frank.post('/keys/query', { device_keys: { [alice.userId!]: [] } }));
    assert.ok(seenByFrank.master_keys[alice.userId!].signatures?.[frank.userId!]?.[usk.keyId]);
    const seenByBob = ok(await bob.post('/keys/query', { device_keys: { [alice.userId!]: [] } }));
    assert.equal(seenByBob.master_keys[alice.userId!].signatures?.[frank.userId!], undefined);

    // Bad signatures and unknown keys are reported per key.
    const forged = { ...signedDevice, signatures: { [frank.userId!]: { [ssk.keyId]: encodeBase64(Buffer.alloc(64, 1)) } } };
    const f = ok(await frank.post('/keys/signatures/upload', { [frank.userId!]: { [frank.deviceId!]: forged, NOPE: signedDevice } }));
    assert.equal(f.failures[frank.userId!][frank.deviceId!].errcode, 'M_INVALID_SIGNATURE');
    assert.equal(f.failures[frank.userId!].NOPE.errcode, 'M_NOT_FOUND');
  });

  test('a master key upload without one stored or given is M_MISSING_PARAM', async () => {
    const gina = await user(h, 'gina');
    const k = newKey(null);
    const r = await gina.post('/keys/device_signing/upload', { self_signing_key: { user_id: gina.userId, usage: ['self_signing'], keys: { [k.keyId]: k.publicKeyBase64 } } });
    assert.equal(r.status, 400);
    assert.equal(r.body.errcode, 'M_MISSING_PARAM');
  });
});
