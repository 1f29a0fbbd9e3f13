// What an operator relies on, over real HTTP against a whole server: rate limits keyed on the
// real client behind a trusted reverse proxy, access-log lines without secrets, and GET /health.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { pino } from 'pino';
import { checkHealth } from '../../src/services/health.js';
import { ProxyTrust, normaliseAddress } from '../../src/http/client-address.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { registerUser } from '../helpers/client.js';
import { adminUrl } from '../helpers/database.js';
import { connectionFromUrl, createPool } from '../../src/storage/pool.js';

const CHEAP = { password_hashing: { ops_limit: 1, mem_limit_kib: 8 } };
// Two attempts per client, then a long wait: the third attempt from one client is refused.
const TIGHT_LOGIN = { ...CHEAP, rate_limits: { login: { per_second: 0.001, burst: 2 }, login_failures: null, registration: null } };

/** POST /login with a wrong password, from "behind" a proxy that reports `forwardedFor`. */
async function loginStatus(t: TestServer, forwardedFor?: string): Promise<number> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (forwardedFor !== undefined) headers['X-Forwarded-For'] = forwardedFor;
  const r = await fetch(`${t.baseUrl}/_matrix/client/v3/login`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'nobody' }, password: 'wrong-password' }),
  });
  await r.body?.cancel();
  return r.status;
}

describe('client address behind a reverse proxy', () => {
  test('the right-most untrusted address of X-Forwarded-For, only from a trusted peer', () => {
    const trust = new ProxyTrust(['127.0.0.0/8', '::1', '10.0.0.0/8']);
    assert.equal(trust.clientAddress('127.0.0.1', '203.0.113.9'), '203.0.113.9');
    // A client can prepend anything; the proxies' own entries are skipped from the right.
    assert.equal(trust.clientAddress('127.0.0.1', '198.51.100.1, 203.0.113.9, 10.1.2.3'), '203.0.113.9');
    // Every hop trusted: the left-most is the client.
    assert.equal(trust.clientAddress('127.0.0.1', '10.0.0.5, 10.0.0.6'), '10.0.0.5');
    // A malformed entry ends the walk at the last good hop.
    assert.equal(trust.clientAddress('127.0.0.1', '203.0.113.9, not-an-ip'), '127.0.0.1');
    assert.equal(trust.clientAddress('127.0.0.1', 'not-an-ip, 10.0.0.7'), '10.0.0.7');
    // From an untrusted peer the header means nothing.
    assert.equal(trust.clientAddress('192.0.2.4', '203.0.113.9'), '192.0.2.4');
    assert.equal(trust.clientAddress('127.0.0.1', undefined), '127.0.0.1');
    // IPv6, and IPv4 written IPv4-mapped, match the ranges as the same addresses.
    assert.equal(trust.clientAddress('::ffff:127.0.0.1', '2001:DB8::0:1'), '2001:db8::1');
    assert.equal(trust.clientAddress('0000:0000:0000:0000:0000:0000:0000:0001', '[2001:db8::2]'), '2001:db8::2');
    assert.equal(normaliseAddress('::ffff:7f00:1'), '127.0.0.1');
    assert.equal(normaliseAddress('300.1.1.1'), undefined);
  });

  test('two clients behind a trusted proxy have separate login limits', async () => {
    const t = await startTestServer(TIGHT_LOGIN, { xForwarded: true });
    try {
      assert.equal(await loginStatus(t, '203.0.113.1'), 403);
      assert.equal(await loginStatus(t, '198.51.100.77, 203.0.113.1'), 403, 'a forged left part does not make a new client');
      assert.equal(await loginStatus(t, '203.0.113.1'), 429);
      // Another client behind the same proxy still has its own attempts.
      assert.equal(await loginStatus(t, '203.0.113.2'), 403);
      assert.equal(await loginStatus(t, '203.0.113.2, 127.0.0.1'), 403, 'a trusted hop on the right is skipped');
      assert.equal(await loginStatus(t, '203.0.113.2'), 429);
    } finally {
      await t.stop();
    }
  });

  test('from a peer that is not a trusted proxy, or on a listener without x_forwarded, the header is ignored', async () => {
    for (const [overrides, xForwarded] of [
      [{ ...TIGHT_LOGIN, trusted_proxies: ['10.9.9.9'] }, true],
      [TIGHT_LOGIN, false],
    ] as const) {
      const t = await startTestServer(overrides, { xForwarded });
      try {
        assert.equal(await loginStatus(t, '203.0.113.1'), 403);
        assert.equal(await loginStatus(t, '203.0.113.2'), 403);
        assert.equal(await loginStatus(t, '203.0.113.3'), 429, 'every request is the peer 127.0.0.1');
      } finally {
        await t.stop();
      }
    }
  });
});

test('one access-log line per request, with id, user and status, and no access token anywhere', async () => {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  const t = await startTestServer({ ...CHEAP, enable_registration: true, rate_limits: { login: null, login_failures: null, registration: null } }, { log });
  try {
    const alice = await registerUser(t.baseUrl, 'alice');
    const token = alice.accessToken!;
    lines.length = 0;
    const r = await fetch(`${t.baseUrl}/_matrix/client/v3/account/whoami?access_token=${token}&x=1`);
    assert.equal(r.status, 200);
    const id = r.headers.get('x-request-id');
    assert.ok(id);
    const bad = await fetch(`${t.baseUrl}/_matrix/client/v3/account/whoami`, { headers: { Authorization: `Bearer ${token}x` } });
    assert.equal(bad.status, 401);
    const badId = bad.headers.get('x-request-id');

    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const ok = parsed.filter((l) => l.req_id === id);
    assert.equal(ok.length, 1, 'one line for the request');
    assert.deepEqual(
      { level: ok[0]!.level, method: ok[0]!.method, path: ok[0]!.path, status: ok[0]!.status, user: ok[0]!.user, ip: ok[0]!.ip },
      { level: 30, method: 'GET', path: '/_matrix/client/v3/account/whoami?access_token=<redacted>&x=1', status: 200, user: alice.userId, ip: '127.0.0.1' },
    );
    assert.equal(typeof ok[0]!.ms, 'number');
    const denied = parsed.filter((l) => l.req_id === badId);
    assert.equal(denied.length, 1);
    assert.equal(denied[0]!.level, 20, '4xx at debug');
    assert.equal(denied[0]!.status, 401);
    for (const l of lines) assert.ok(!l.includes(token), `a log line holds the access token: ${l}`);
  } finally {
    await t.stop();
  }
});

describe('GET /health', () => {
  test('200 OK while the database answers; 503 with a reason once it does not', async () => {
    const t = await startTestServer();
    try {
      const up = await fetch(`${t.baseUrl}/health`);
      assert.equal(up.status, 200);
      assert.equal(await up.text(), 'OK');
      // Take the database away under the running server.
      const dbName = connectionFromUrl(t.config.databaseUrl!).database;
      const admin = createPool(connectionFromUrl(adminUrl()), 1);
      try {
        await admin.unsafe(`DROP DATABASE ${dbName} WITH (FORCE)`);
      } finally {
        await admin.end({ timeout: 5 });
      }
      const t0 = Date.now();
      const down = await fetch(`${t.baseUrl}/health`);
      assert.equal(down.status, 503);
      assert.match(await down.text(), /database/);
      assert.ok(Date.now() - t0 < 5000, 'answers quickly');
    } finally {
      await t.stop();
    }
  });

  test('a database that accepts connections but never answers is unhealthy within the timeout', async () => {
    // A silent TCP peer: connecting succeeds, the startup handshake never completes.
    const held: net.Socket[] = [];
    const silent = net.createServer((sock) => void held.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const sql = createPool(connectionFromUrl(`postgres://postgres@127.0.0.1:${port}/nothing`), 1);
    const lines: string[] = [];
    try {
      const t0 = Date.now();
      const report = await checkHealth(sql, pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) }), 300);
      assert.deepEqual(report, { ok: false, reason: 'database unavailable' });
      assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
      assert.match(lines.join(''), /no answer within 300 ms/);
    } finally {
      for (const s of held) s.destroy();
      await sql.end({ timeout: 0 });
      silent.close();
    }
  });
});
