// Defaults that refuse (registration off, no shared secret) and rate limiting of login and
// registration, each against its own server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, registerUser } from '../helpers/client.js';

const PW = 'correct horse battery staple';

let closed: TestServer;
let limited: TestServer;

before(async () => {
  [closed, limited] = await Promise.all([
    startTestServer(),
    startTestServer({
      enable_registration: true,
      // A refill far slower than the test: only the burst counts.
      rate_limits: {
        registration: { per_second: 0.001, burst: 2 },
        login: { per_second: 0.001, burst: 4 },
        login_failures: { per_second: 0.001, burst: 2 },
      },
    }),
  ]);
});
after(async () => {
  await Promise.all([closed.stop(), limited.stop()]);
});

test('registration is off by default', async () => {
  const c = new TestClient(closed.baseUrl);
  const r = await c.post('/register', { username: 'alice', password: PW });
  assert.equal(r.status, 403);
  assert.equal(r.body.errcode, 'M_FORBIDDEN');
  const withAuth = await c.post('/register', { username: 'alice', password: PW, auth: { type: 'm.login.dummy' } });
  assert.equal(withAuth.status, 403);
  assert.equal((await c.get('/register/available?username=alice')).status, 403);
});

test('shared-secret registration is off without a secret', async () => {
  const c = new TestClient(closed.baseUrl);
  const n = await c.get('/_synapse/admin/v1/register');
  assert.equal(n.status, 400);
  assert.equal(n.body.errcode, 'M_FORBIDDEN');
  const r = await c.post('/_synapse/admin/v1/register', { nonce: 'x', username: 'a', password: 'b', mac: '00' });
  assert.equal(r.status, 400);
  assert.equal(r.body.errcode, 'M_FORBIDDEN');
});

function assertLimited(r: { status: number; body: { errcode?: string; retry_after_ms?: number }; headers: Headers }): void {
  assert.equal(r.status, 429);
  assert.equal(r.body.errcode, 'M_LIMIT_EXCEEDED');
  assert.ok(typeof r.body.retry_after_ms === 'number' && r.body.retry_after_ms > 0);
  const retryAfter = Number(r.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1);
  assert.equal(retryAfter, Math.ceil(r.body.retry_after_ms! / 1000));
}

test('registration requests are limited per client address', async () => {
  // The two requests of one registration use the whole burst.
  await registerUser(limited.baseUrl, 'alice');
  const c = new TestClient(limited.baseUrl);
  assertLimited(await c.post('/register', { username: 'bob', password: PW }));
  assertLimited(await c.get('/register/available?username=bob'));
});

test('wrong passwords lock the account for a while; logins are limited per address', async () => {
  const c = new TestClient(limited.baseUrl);
  const attempt = (user: string, password: string) => c.post('/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password });
  assert.equal((await attempt('alice', 'wrong')).status, 403);
  assert.equal((await attempt('alice', 'wrong again')).status, 403);
  // alice's failure budget is spent: even the right password must wait.
  assertLimited(await attempt('alice', PW));
  // Another account is not affected...
  assert.equal((await attempt('carol', 'whatever')).status, 403);
  // ...but this address has now used its four logins.
  assertLimited(await attempt('carol', 'whatever'));
});
