// Accounts over real HTTP: registration, login, tokens, logout, devices, password change,
// deactivation and shared-secret registration, against a whole server with its own database.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, login, registerUser } from '../helpers/client.js';
import { openPool } from '../helpers/database.js';
import { registrationMac } from '../../src/api/admin/register.js';

const SECRET = 'a shared secret for tests';
const PW = 'correct horse battery staple';

let srv: TestServer;
let anon: TestClient;

before(async () => {
  srv = await startTestServer({
    enable_registration: true,
    registration_shared_secret: SECRET,
    rate_limits: { login: null, login_failures: null, registration: null },
  });
  anon = new TestClient(srv.baseUrl);
});
after(async () => {
  await srv.stop();
});

describe('registration', () => {
  test('GET /login offers password login', async () => {
    const r = await anon.get('/login');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { flows: [{ type: 'm.login.password' }] });
  });

  test('the dummy flow: 401 with flows and a session, then the account and a working token', async () => {
    const first = await anon.post('/register', { username: 'alice', password: PW, initial_device_display_name: 'Alice phone' });
    assert.equal(first.status, 401);
    assert.deepEqual(first.body.flows, [{ stages: ['m.login.dummy'] }]);
    assert.equal(typeof first.body.session, 'string');
    assert.equal(first.body.errcode, undefined, 'a first challenge is not an error');

    const done = await anon.post('/register', {
      username: 'alice',
      password: PW,
      initial_device_display_name: 'Alice phone',
      auth: { type: 'm.login.dummy', session: first.body.session },
    });
    assert.equal(done.status, 200);
    assert.equal(done.body.user_id, '@alice:test.local');
    assert.equal(done.body.home_server, 'test.local');
    assert.match(done.body.access_token, /^[A-Za-z0-9_-]{43}$/);
    assert.match(done.body.device_id, /^[A-Z]{10}$/);

    const me = new TestClient(srv.baseUrl, done.body.access_token);
    const who = await me.get('/account/whoami');
    assert.equal(who.status, 200);
    assert.deepEqual(who.body, { user_id: '@alice:test.local', device_id: done.body.device_id, is_guest: false });
    const dev = await me.get(`/devices/${done.body.device_id}`);
    assert.equal(dev.body.display_name, 'Alice phone');

    // The session was used up: replaying it registers nothing.
    const replay = await anon.post('/register', { username: 'alice2', password: PW, auth: { type: 'm.login.dummy', session: first.body.session } });
    assert.equal(replay.status, 400);
  });

  test('the stored token is a hash, not the token', async () => {
    const c = await registerUser(srv.baseUrl, 'hashcheck');
    const pool = openPool(srv.config.databaseUrl!, 1);
    try {
      const rows = await pool`SELECT token_hash FROM access_tokens WHERE user_id = ${c.userId!}`;
      assert.equal(rows.length, 1);
      const stored = rows[0]!.token_hash as Buffer;
      assert.equal(stored.length, 32);
      assert.ok(!stored.equals(Buffer.from(c.accessToken!)));
      const users = await pool`SELECT password_hash FROM users WHERE user_id = ${c.userId!}`;
      assert.match(users[0]!.password_hash as string, /^\$argon2id\$v=19\$m=\d+,t=\d+,p=1\$/);
    } finally {
      await pool.end();
    }
  });

  test('a client-chosen device id is used; inhibit_login returns no token', async () => {
    const c = await registerUser(srv.baseUrl, 'dora', PW, { device_id: 'DORADEVICE' });
    assert.equal(c.deviceId, 'DORADEVICE');
    assert.equal((await c.get('/account/whoami')).body.device_id, 'DORADEVICE');

    const first = await anon.post('/register', { username: 'quiet', password: PW, inhibit_login: true });
    const done = await anon.post('/register', { username: 'quiet', password: PW, inhibit_login: true, auth: { type: 'm.login.dummy', session: first.body.session } });
    assert.equal(done.status, 200);
    assert.equal(done.body.user_id, '@quiet:test.local');
    assert.equal(done.body.access_token, undefined);
    assert.equal(done.body.device_id, undefined);
    await login(srv.baseUrl, 'quiet', PW);
  });

  test('invalid and taken usernames are refused before authentication starts', async () => {
    for (const username of ['bad name', 'émile', 'a:b', '@x', '']) {
      const r = await anon.post('/register', { username, password: PW });
      assert.equal(r.status, 400, username);
      assert.equal(r.body.errcode, 'M_INVALID_USERNAME', username);
      assert.equal(r.body.session, undefined);
    }
    const long = await anon.post('/register', { username: 'x'.repeat(250), password: PW });
    assert.equal(long.body.errcode, 'M_INVALID_USERNAME');

    const taken = await anon.post('/register', { username: 'alice', password: PW });
    assert.equal(taken.status, 400);
    assert.equal(taken.body.errcode, 'M_USER_IN_USE');
    // Upper case folds onto the same (taken) id.
    assert.equal((await anon.post('/register', { username: 'ALICE', password: PW })).body.errcode, 'M_USER_IN_USE');
  });

  test('upper-case usernames are registered lower-case; no username gets a generated one', async () => {
    const c = await registerUser(srv.baseUrl, 'Carol');
    assert.equal(c.userId, '@carol:test.local');

    const first = await anon.post('/register', { password: PW });
    const done = await anon.post('/register', { password: PW, auth: { type: 'm.login.dummy', session: first.body.session } });
    assert.equal(done.status, 200);
    assert.match(done.body.user_id, /^@[a-z0-9._=\-/+]+:test\.local$/);
  });

  test('GET /register/available', async () => {
    assert.deepEqual((await anon.get('/register/available?username=nobody_yet')).body, { available: true });
    const taken = await anon.get('/register/available?username=alice');
    assert.equal(taken.status, 400);
    assert.equal(taken.body.errcode, 'M_USER_IN_USE');
    assert.equal((await anon.get('/register/available?username=no%20spaces')).body.errcode, 'M_INVALID_USERNAME');
    assert.equal((await anon.get('/register/available')).body.errcode, 'M_MISSING_PARAM');
  });

  test('UIA: an unexpected stage gets a 401 with an error; an unknown session a 400; guests are refused', async () => {
    const first = await anon.post('/register', { username: 'erin', password: PW });
    const wrong = await anon.post('/register', { username: 'erin', password: PW, auth: { type: 'm.login.password', session: first.body.session } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.errcode, 'M_FORBIDDEN');
    assert.equal(wrong.body.session, first.body.session);
    assert.deepEqual(wrong.body.flows, [{ stages: ['m.login.dummy'] }]);

    const unknown = await anon.post('/register', { username: 'erin', password: PW, auth: { type: 'm.login.dummy', session: 'nope' } });
    assert.equal(unknown.status, 400);

    const noPassword = await anon.post('/register', { username: 'erin', auth: { type: 'm.login.dummy', session: first.body.session } });
    assert.equal(noPassword.status, 400);
    assert.equal(noPassword.body.errcode, 'M_MISSING_PARAM');

    const guest = await anon.post('/register?kind=guest', {});
    assert.equal(guest.status, 403);
    assert.equal(guest.body.errcode, 'M_FORBIDDEN');

    const notObject = await anon.request('POST', '/register', undefined, { rawBody: '[1,2]' });
    assert.equal(notObject.status, 400);
    assert.equal(notObject.body.errcode, 'M_NOT_JSON');
  });
});

describe('login and tokens', () => {
  let frank: TestClient;
  before(async () => {
    frank = await registerUser(srv.baseUrl, 'frank');
  });

  test('by localpart, full user id, upper case, and the legacy user field', async () => {
    for (const user of ['frank', '@frank:test.local', 'FRANK']) {
      const c = await login(srv.baseUrl, user, PW);
      assert.equal(c.userId, '@frank:test.local');
      assert.equal((await c.get('/account/whoami')).body.user_id, '@frank:test.local');
    }
    const legacy = await anon.post('/login', { type: 'm.login.password', user: 'frank', password: PW });
    assert.equal(legacy.status, 200);
    assert.equal(legacy.body.user_id, '@frank:test.local');
    assert.notEqual(legacy.body.device_id, frank.deviceId);
  });

  test('wrong password, unknown user, other server, third-party ids and other types fail', async () => {
    const bad = (body: Record<string, unknown>) => anon.post('/login', { type: 'm.login.password', password: PW, ...body });
    const wrong = await bad({ identifier: { type: 'm.id.user', user: 'frank' }, password: 'not it' });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.errcode, 'M_FORBIDDEN');
    assert.equal((await bad({ identifier: { type: 'm.id.user', user: 'nobody' } })).status, 403);
    assert.equal((await bad({ identifier: { type: 'm.id.user', user: '@frank:elsewhere.example' } })).status, 403);
    assert.equal((await bad({ identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'f@example.org' } })).status, 403);
    const noId = await bad({});
    assert.equal(noId.status, 400);
    assert.equal(noId.body.errcode, 'M_MISSING_PARAM');
    const token = await anon.post('/login', { type: 'm.login.token', token: 'abc' });
    assert.equal(token.status, 400);
    assert.equal(token.body.errcode, 'M_UNKNOWN');
  });

  test('logging in again with a device id keeps the device and revokes its old token', async () => {
    const a = await login(srv.baseUrl, 'frank', PW, { device_id: 'FRANKLAPTOP', initial_device_display_name: 'laptop' });
    assert.equal(a.deviceId, 'FRANKLAPTOP');
    assert.equal((await a.get('/account/whoami')).status, 200); // cached from here on
    const b = await login(srv.baseUrl, 'frank', PW, { device_id: 'FRANKLAPTOP', initial_device_display_name: 'ignored' });
    assert.equal(b.deviceId, 'FRANKLAPTOP');
    assert.notEqual(a.accessToken, b.accessToken);
    const old = await a.get('/account/whoami');
    assert.equal(old.status, 401);
    assert.equal(old.body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal((await b.get('/account/whoami')).status, 200);
    const list = (await b.get('/devices')).body.devices as Array<{ device_id: string; display_name?: string }>;
    const laptops = list.filter((d) => d.device_id === 'FRANKLAPTOP');
    assert.equal(laptops.length, 1);
    assert.equal(laptops[0]!.display_name, 'laptop');
  });

  test('missing and unknown tokens', async () => {
    const missing = await anon.get('/account/whoami');
    assert.equal(missing.status, 401);
    assert.equal(missing.body.errcode, 'M_MISSING_TOKEN');
    const unknown = await anon.get('/account/whoami', { token: 'not-a-real-token' });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal(unknown.body.soft_logout, false);
    const notBearer = await anon.get('/account/whoami', { headers: { Authorization: `Basic ${frank.accessToken}` } });
    assert.equal(notBearer.body.errcode, 'M_MISSING_TOKEN');
  });

  test('the deprecated access_token query parameter works', async () => {
    const r = await anon.get(`/account/whoami?access_token=${encodeURIComponent(frank.accessToken!)}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.user_id, '@frank:test.local');
  });

  test('r0 paths reach the same endpoints', async () => {
    const r = await frank.get('/_matrix/client/r0/account/whoami');
    assert.equal(r.status, 200);
    assert.equal(r.body.user_id, '@frank:test.local');
  });

  test('logout ends the session and deletes its device', async () => {
    const c = await login(srv.baseUrl, 'frank', PW);
    assert.equal((await c.get('/account/whoami')).status, 200); // now cached
    const out = await c.request('POST', '/logout');
    assert.equal(out.status, 200);
    assert.deepEqual(out.body, {});
    const after = await c.get('/account/whoami');
    assert.equal(after.status, 401);
    assert.equal(after.body.errcode, 'M_UNKNOWN_TOKEN');
    const ids = ((await frank.get('/devices')).body.devices as Array<{ device_id: string }>).map((d) => d.device_id);
    assert.ok(!ids.includes(c.deviceId!));
    assert.ok(ids.includes(frank.deviceId!));
  });

  test('logout/all ends every session', async () => {
    const g1 = await registerUser(srv.baseUrl, 'gina');
    const g2 = await login(srv.baseUrl, 'gina', PW);
    for (const c of [g1, g2]) assert.equal((await c.get('/account/whoami')).status, 200);
    assert.equal((await g2.post('/logout/all')).status, 200);
    for (const c of [g1, g2]) assert.equal((await c.get('/account/whoami')).body.errcode, 'M_UNKNOWN_TOKEN');
    const g3 = await login(srv.baseUrl, 'gina', PW);
    assert.deepEqual(((await g3.get('/devices')).body.devices as Array<{ device_id: string }>).map((d) => d.device_id), [g3.deviceId]);
  });
});

describe('devices', () => {
  let h1: TestClient;
  let h2: TestClient;
  before(async () => {
    h1 = await registerUser(srv.baseUrl, 'hank', PW, { initial_device_display_name: 'desk' });
    h2 = await login(srv.baseUrl, 'hank', PW, { initial_device_display_name: 'phone' });
  });

  test('list and get, with last-seen data', async () => {
    const list = await h1.get('/devices');
    assert.equal(list.status, 200);
    const devices = list.body.devices as Array<Record<string, unknown>>;
    assert.deepEqual(devices.map((d) => d.device_id).sort(), [h1.deviceId, h2.deviceId].sort());
    for (const d of devices) {
      assert.equal(typeof d.last_seen_ts, 'number');
      assert.ok((d.last_seen_ts as number) <= Date.now());
      assert.equal(typeof d.last_seen_ip, 'string');
    }
    const one = await h1.get(`/devices/${h2.deviceId}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.device_id, h2.deviceId);
    assert.equal(one.body.display_name, 'phone');
    const missing = await h1.get('/devices/NOSUCHDEVICE');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errcode, 'M_NOT_FOUND');
    // Another user's device is not found either.
    const other = await registerUser(srv.baseUrl, 'ivan');
    assert.equal((await other.get(`/devices/${h1.deviceId}`)).status, 404);
  });

  test('rename', async () => {
    assert.equal((await h1.put(`/devices/${h2.deviceId}`, { display_name: 'old phone' })).status, 200);
    assert.equal((await h2.get(`/devices/${h2.deviceId}`)).body.display_name, 'old phone');
    assert.equal((await h1.put(`/devices/${h2.deviceId}`, {})).status, 200);
    assert.equal((await h2.get(`/devices/${h2.deviceId}`)).body.display_name, 'old phone');
    const missing = await h1.put('/devices/NOSUCHDEVICE', { display_name: 'x' });
    assert.equal(missing.status, 404);
    assert.equal((await h1.put(`/devices/${h2.deviceId}`, { display_name: 7 })).status, 400);
  });

  test('delete needs the password, then takes the device and its token', async () => {
    const h3 = await login(srv.baseUrl, 'hank', PW);
    assert.equal((await h3.get('/account/whoami')).status, 200);
    const first = await h1.delete(`/devices/${h3.deviceId}`);
    assert.equal(first.status, 401);
    assert.deepEqual(first.body.flows, [{ stages: ['m.login.password'] }]);
    const session = first.body.session as string;

    const wrong = await h1.delete(`/devices/${h3.deviceId}`, { auth: h1.passwordAuth('wrong', session) });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.errcode, 'M_FORBIDDEN');
    assert.equal(wrong.body.session, session);
    assert.equal((await h3.get('/account/whoami')).status, 200);

    // The session is bound to this device: it cannot delete another.
    const elsewhere = await h1.delete(`/devices/${h2.deviceId}`, { auth: h1.passwordAuth(PW, session) });
    assert.equal(elsewhere.status, 403);

    const ok = await h1.delete(`/devices/${h3.deviceId}`, { auth: h1.passwordAuth(PW, session) });
    assert.equal(ok.status, 200);
    assert.equal((await h3.get('/account/whoami')).body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal((await h1.get(`/devices/${h3.deviceId}`)).status, 404);

    // Already gone: still 200 (after auth).
    const again = await h1.delete(`/devices/${h3.deviceId}`, { auth: h1.passwordAuth(PW) });
    assert.equal(again.status, 200);
  });

  test("another user's password does not authorise", async () => {
    const ivan = await login(srv.baseUrl, 'ivan', PW);
    const r = await h1.delete(`/devices/${h2.deviceId}`, { auth: ivan.passwordAuth(PW) });
    assert.equal(r.status, 401);
    assert.equal(r.body.errcode, 'M_FORBIDDEN');
    assert.equal((await h2.get('/account/whoami')).status, 200);
  });

  test('delete_devices removes several at once', async () => {
    const a = await login(srv.baseUrl, 'hank', PW);
    const b = await login(srv.baseUrl, 'hank', PW);
    const first = await h1.post('/delete_devices', { devices: [a.deviceId, b.deviceId, 'NEVEREXISTED'] });
    assert.equal(first.status, 401);
    const ok = await h1.post('/delete_devices', { devices: [a.deviceId, b.deviceId, 'NEVEREXISTED'], auth: h1.passwordAuth(PW, first.body.session) });
    assert.equal(ok.status, 200);
    for (const c of [a, b]) assert.equal((await c.get('/account/whoami')).body.errcode, 'M_UNKNOWN_TOKEN');
    const ids = ((await h1.get('/devices')).body.devices as Array<{ device_id: string }>).map((d) => d.device_id).sort();
    assert.deepEqual(ids, [h1.deviceId, h2.deviceId].sort());
    assert.equal((await h1.post('/delete_devices', {})).body.errcode, 'M_MISSING_PARAM');
  });
});

describe('password and deactivation', () => {
  test('changing the password keeps this session and, by default, ends the others', async () => {
    const j1 = await registerUser(srv.baseUrl, 'judy');
    const j2 = await login(srv.baseUrl, 'judy', PW);
    assert.equal((await j2.get('/account/whoami')).status, 200);
    const first = await j1.post('/account/password', { new_password: 'new secret' });
    assert.equal(first.status, 401);
    assert.deepEqual(first.body.flows, [{ stages: ['m.login.password'] }]);
    const ok = await j1.post('/account/password', { new_password: 'new secret', auth: j1.passwordAuth(PW, first.body.session) });
    assert.equal(ok.status, 200);
    assert.equal((await j1.get('/account/whoami')).status, 200);
    assert.equal((await j2.get('/account/whoami')).body.errcode, 'M_UNKNOWN_TOKEN');
    assert.equal((await anon.post('/login', { type: 'm.login.password', user: 'judy', password: PW })).status, 403);
    const j3 = await login(srv.baseUrl, 'judy', 'new secret');

    // logout_devices: false leaves the other sessions alone.
    const again = await j1.post('/account/password', { new_password: 'third', logout_devices: false, auth: j1.passwordAuth('new secret') });
    assert.equal(again.status, 200);
    assert.equal((await j3.get('/account/whoami')).status, 200);
    await login(srv.baseUrl, 'judy', 'third');
  });

  test('deactivation ends every session and login', async () => {
    const k = await registerUser(srv.baseUrl, 'kate');
    const first = await k.post('/account/deactivate', {});
    assert.equal(first.status, 401);
    const ok = await k.post('/account/deactivate', { auth: k.passwordAuth(PW, first.body.session) });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { id_server_unbind_result: 'success' });
    assert.equal((await k.get('/account/whoami')).body.errcode, 'M_UNKNOWN_TOKEN');
    const r = await anon.post('/login', { type: 'm.login.password', user: 'kate', password: PW });
    assert.equal(r.status, 403);
    // The id stays taken.
    assert.equal((await anon.post('/register', { username: 'kate', password: PW })).body.errcode, 'M_USER_IN_USE');
  });
});

describe('shared-secret registration', () => {
  const nonce = async () => {
    const r = await anon.get('/_synapse/admin/v1/register');
    assert.equal(r.status, 200);
    assert.match(r.body.nonce, /^[0-9a-f]{64}$/);
    return r.body.nonce as string;
  };

  test('the MAC is HMAC-SHA1 over the NUL-separated fields (vectors from Python hmac)', () => {
    assert.equal(registrationMac('sekrit', 'abcdef0123', 'alice', 'päss', true), '116ba9a866cd8a1a86c0c35e0a9816a7fabe8b34');
    assert.equal(registrationMac('sekrit', 'abcdef0123', 'bob', 'pw', false, 'bot'), 'c2f9637071b4886c7eb5da666f04a3aeff41cf32');
  });

  test('a good MAC registers (an admin here) and logs in', async () => {
    const n = await nonce();
    const r = await anon.post('/_synapse/admin/v1/register', {
      nonce: n,
      username: 'root',
      password: PW,
      admin: true,
      mac: registrationMac(SECRET, n, 'root', PW, true),
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.user_id, '@root:test.local');
    const c = new TestClient(srv.baseUrl, r.body.access_token);
    assert.equal((await c.get('/account/whoami')).body.user_id, '@root:test.local');
    const pool = openPool(srv.config.databaseUrl!, 1);
    try {
      const rows = await pool`SELECT is_admin FROM users WHERE user_id = '@root:test.local'`;
      assert.equal(rows[0]!.is_admin, true);
    } finally {
      await pool.end();
    }
    await login(srv.baseUrl, 'root', PW);
  });

  test('a bad MAC is refused and uses the nonce up; unknown nonces are refused', async () => {
    const n = await nonce();
    const body = { nonce: n, username: 'mallory', password: PW, admin: true, mac: registrationMac('wrong secret', n, 'mallory', PW, true) };
    const bad = await anon.post('/_synapse/admin/v1/register', body);
    assert.equal(bad.status, 403);
    assert.equal(bad.body.errcode, 'M_FORBIDDEN');
    // Same nonce again, now with the right MAC: the nonce is gone.
    const retry = await anon.post('/_synapse/admin/v1/register', { ...body, mac: registrationMac(SECRET, n, 'mallory', PW, true) });
    assert.equal(retry.status, 400);
    const made = await anon.get('/register/available?username=mallory');
    assert.deepEqual(made.body, { available: true });
    const unknown = await anon.post('/_synapse/admin/v1/register', { ...body, nonce: 'f'.repeat(64) });
    assert.equal(unknown.status, 400);
  });

  test('a nonce cannot be reused after a success; admin: false makes a normal user', async () => {
    const n = await nonce();
    const body = { nonce: n, username: 'norm', password: PW, admin: false, mac: registrationMac(SECRET, n, 'norm', PW, false) };
    assert.equal((await anon.post('/_synapse/admin/v1/register', body)).status, 200);
    const reuse = await anon.post('/_synapse/admin/v1/register', { ...body, username: 'norm2', mac: registrationMac(SECRET, n, 'norm2', PW, false) });
    assert.equal(reuse.status, 400);
    // The admin flag is covered by the MAC.
    const n2 = await nonce();
    const flipped = await anon.post('/_synapse/admin/v1/register', { nonce: n2, username: 'sneaky', password: PW, admin: true, mac: registrationMac(SECRET, n2, 'sneaky', PW, false) });
    assert.equal(flipped.status, 403);
  });

  test('taken and invalid names', async () => {
    const n = await nonce();
    const taken = await anon.post('/_synapse/admin/v1/register', { nonce: n, username: 'alice', password: PW, mac: registrationMac(SECRET, n, 'alice', PW, false) });
    assert.equal(taken.status, 400);
    assert.equal(taken.body.errcode, 'M_USER_IN_USE');
    const n2 = await nonce();
    const invalid = await anon.post('/_synapse/admin/v1/register', { nonce: n2, username: 'not valid', password: PW, mac: registrationMac(SECRET, n2, 'not valid', PW, false) });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.errcode, 'M_INVALID_USERNAME');
  });
});
