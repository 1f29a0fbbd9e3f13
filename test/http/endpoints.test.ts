// The first endpoints, served by a whole Lattice server (real Postgres, real keys, real HTTP).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { decodeBase64 } from '../../src/crypto/base64.js';
import { checkJsonSignature } from '../../src/crypto/sign-json.js';

let srv: TestServer;

before(async () => {
  srv = await startTestServer({
    well_known: { server: 'matrix.test.local:443', client: 'https://matrix.test.local' },
    old_signing_keys: { 'ed25519:old1': { key: 'VGhpcyBzaG91bGQgYmUgeW91ciBvbGQga2V5J3MgZWQ', expired_ts: 1532645052628 } },
  });
});
after(async () => {
  await srv.stop();
});

test('GET /_matrix/federation/v1/version names the server', async () => {
  const res = await fetch(`${srv.baseUrl}/_matrix/federation/v1/version`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { server: { name: string; version: string } };
  assert.equal(body.server.name, 'Lattice');
  assert.match(body.server.version, /^\d+\.\d+\.\d+/);
});

test('GET /_matrix/key/v2/server verifies with its own published key', async () => {
  const before = Date.now();
  const res = await fetch(`${srv.baseUrl}/_matrix/key/v2/server`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as {
    server_name: string;
    verify_keys: Record<string, { key: string }>;
    old_verify_keys: Record<string, { key: string; expired_ts: number }>;
    valid_until_ts: number;
    signatures: Record<string, Record<string, string>>;
  };
  assert.equal(body.server_name, 'test.local');
  const ids = Object.keys(body.verify_keys);
  assert.equal(ids.length, 1);
  const keyId = ids[0]!;
  assert.match(keyId, /^ed25519:[a-zA-Z0-9_]+$/);
  const publicKey = decodeBase64(body.verify_keys[keyId]!.key);
  assert.equal(checkJsonSignature(body, 'test.local', keyId, publicKey), 'ok');
  // Tampering breaks it: the signature really covers the content.
  assert.equal(checkJsonSignature({ ...body, valid_until_ts: body.valid_until_ts + 1 }, 'test.local', keyId, publicKey), 'bad');
  const validity = srv.config.key_validity_ms;
  assert.ok(body.valid_until_ts >= before + validity && body.valid_until_ts <= Date.now() + validity);
  assert.deepEqual(body.old_verify_keys, { 'ed25519:old1': { key: 'VGhpcyBzaG91bGQgYmUgeW91ciBvbGQga2V5J3MgZWQ', expired_ts: 1532645052628 } });
});

test('GET /_matrix/client/versions lists spec versions, with CORS headers', async () => {
  const res = await fetch(`${srv.baseUrl}/_matrix/client/versions`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  const body = (await res.json()) as { versions: string[] };
  assert.ok(body.versions.includes('v1.1'));
});

test('well-known documents are served when configured', async () => {
  const s = await fetch(`${srv.baseUrl}/.well-known/matrix/server`);
  assert.deepEqual(await s.json(), { 'm.server': 'matrix.test.local:443' });
  const c = await fetch(`${srv.baseUrl}/.well-known/matrix/client`);
  assert.deepEqual(await c.json(), { 'm.homeserver': { base_url: 'https://matrix.test.local' } });
});

test('well-known documents are absent when not configured', async () => {
  const other = await startTestServer();
  try {
    const res = await fetch(`${other.baseUrl}/.well-known/matrix/server`);
    assert.equal(res.status, 404);
  } finally {
    await other.stop();
  }
});
