// The account building blocks on their own: rate limiter, user-interactive auth sessions,
// password hashing, user id rules.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { LimitExceeded, RateLimiter } from '../../src/services/rate-limit.js';
import { Uia, UiaChallenge, dummyStage, type StageHandler } from '../../src/services/uia.js';
import { PasswordHasher, accessTokenOf, newAccessToken, hashToken } from '../../src/services/auth.js';
import { identifiedUserId, localUserId, newUserId } from '../../src/services/accounts.js';
import { MatrixError } from '../../src/http/errors.js';
import type { Request } from '../../src/http/types.js';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

async function challenge(p: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof UiaChallenge, `expected a UIA challenge, got ${String(e)}`);
    assert.equal(e.status, 401);
    return e.toJSON();
  }
  assert.fail('expected a 401 challenge');
}

describe('RateLimiter', () => {
  test('allows the burst, then refuses with the wait until the next token', () => {
    const c = clock();
    const rl = new RateLimiter({ per_second: 0.5, burst: 3 }, c.now);
    for (let i = 0; i < 3; i++) rl.take('ip');
    assert.throws(() => rl.take('ip'), (e: unknown) => e instanceof LimitExceeded && e.retryAfterMs === 2000 && e.toJSON().retry_after_ms === 2000);
    c.t += 1500;
    assert.throws(() => rl.take('ip'), (e: unknown) => e instanceof LimitExceeded && e.retryAfterMs === 500);
    c.t += 500;
    rl.take('ip');
    // Other keys have their own bucket.
    rl.take('other');
  });

  test('refills up to the burst only; check() does not take; consume() never throws', () => {
    const c = clock();
    const rl = new RateLimiter({ per_second: 1, burst: 2 }, c.now);
    rl.take('k');
    c.t += 3_600_000;
    rl.check('k');
    rl.take('k');
    rl.take('k');
    assert.throws(() => rl.check('k'), LimitExceeded);
    rl.consume('k');
    rl.check('fresh'); // no bucket yet: allowed, and still none created
    rl.take('fresh');
    rl.take('fresh');
    assert.throws(() => rl.take('fresh'), LimitExceeded);
  });

  test('null settings never limit', () => {
    const rl = new RateLimiter(null);
    for (let i = 0; i < 1000; i++) rl.take('x');
  });
});

describe('Uia', () => {
  const ok: StageHandler = async () => ({});
  const proves = (userId: string): StageHandler => async () => ({ userId });
  const failing: StageHandler = async () => {
    throw new MatrixError(403, 'M_FORBIDDEN', 'no');
  };

  test('stages must be completed in the order of a flow; completed is reported', async () => {
    const uia = new Uia({ 'a.one': ok, 'a.two': ok, 'b.only': ok });
    const req = { op: 'x', userId: null, flows: [{ stages: ['a.one', 'a.two'] }, { stages: ['b.only', 'a.two'] }] };
    const first = await challenge(uia.authenticate({}, req));
    assert.deepEqual(first.flows, req.flows);
    assert.deepEqual(first.params, {});
    assert.equal(first.completed, undefined);
    const session = first.session as string;

    const outOfOrder = await challenge(uia.authenticate({ auth: { type: 'a.two', session } }, req));
    assert.equal(outOfOrder.errcode, 'M_FORBIDDEN');

    const second = await challenge(uia.authenticate({ auth: { type: 'a.one', session } }, req));
    assert.deepEqual(second.completed, ['a.one']);
    assert.equal(second.errcode, undefined);
    // Retrying a completed stage changes nothing.
    assert.deepEqual((await challenge(uia.authenticate({ auth: { type: 'a.one', session } }, req))).completed, ['a.one']);
    // Only the session (completed out of band): still a challenge.
    assert.deepEqual((await challenge(uia.authenticate({ auth: { session } }, req))).completed, ['a.one']);

    assert.deepEqual(await uia.authenticate({ auth: { type: 'a.two', session } }, req), { userId: null });
    // Used up.
    await assert.rejects(uia.authenticate({ auth: { type: 'a.two', session } }, req), (e: unknown) => e instanceof MatrixError && e.status === 400);
  });

  test('a failed stage is a 401 with the error, and may be retried', async () => {
    let fail = true;
    const uia = new Uia({ 'x.pw': (a, c) => (fail ? failing(a, c) : proves('@u:s')(a, c)) });
    const req = { op: 'x', userId: null, flows: [{ stages: ['x.pw'] }] };
    const r = await challenge(uia.authenticate({ auth: { type: 'x.pw' } }, req));
    assert.equal(r.errcode, 'M_FORBIDDEN');
    assert.equal(r.error, 'no');
    fail = false;
    assert.deepEqual(await uia.authenticate({ auth: { type: 'x.pw', session: r.session } }, req), { userId: '@u:s' });
  });

  test('sessions are bound to their operation and user, and expire', async () => {
    const c = clock();
    const uia = new Uia({ 'm.login.dummy': dummyStage, 'x.two': ok }, { ttlMs: 60_000, now: c.now });
    const flows = [{ stages: ['m.login.dummy', 'x.two'] }];
    const s = (await challenge(uia.authenticate({}, { op: 'delete A', userId: '@a:s', flows }))).session;
    await assert.rejects(uia.authenticate({ auth: { type: 'm.login.dummy', session: s } }, { op: 'delete B', userId: '@a:s', flows }), (e: unknown) => e instanceof MatrixError && e.status === 403);
    await assert.rejects(uia.authenticate({ auth: { type: 'm.login.dummy', session: s } }, { op: 'delete A', userId: '@b:s', flows }), (e: unknown) => e instanceof MatrixError && e.status === 403);
    await challenge(uia.authenticate({ auth: { type: 'm.login.dummy', session: s } }, { op: 'delete A', userId: '@a:s', flows }));
    c.t += 60_000;
    await assert.rejects(uia.authenticate({ auth: { type: 'x.two', session: s } }, { op: 'delete A', userId: '@a:s', flows }), (e: unknown) => e instanceof MatrixError && e.status === 400);
  });

  test('offering a stage with no handler is a programming error', async () => {
    const uia = new Uia({});
    await assert.rejects(uia.authenticate({}, { op: 'x', userId: null, flows: [{ stages: ['m.login.dummy'] }] }), /no handler/);
  });
});

describe('passwords and tokens', () => {
  // The smallest libsodium allows: these tests check behaviour, not cost.
  const hasher = new PasswordHasher({ opsLimit: 1, memLimitBytes: 8192 });

  test('argon2id hashes verify the right password only', async () => {
    const h = await hasher.hash('pässword');
    assert.match(h, /^\$argon2id\$v=19\$m=8,t=1,p=1\$/);
    assert.notEqual(h, await hasher.hash('pässword'), 'salted');
    assert.equal(await hasher.verify(h, 'pässword'), true);
    assert.equal(await hasher.verify(h, 'password'), false);
    assert.equal(await hasher.verify(h, ''), false);
    assert.equal(await hasher.verify(null, 'pässword'), false);
    assert.equal(await hasher.verify('garbage', 'pässword'), false);
    await assert.rejects(hasher.hash(''));
  });

  test('a hash made with other limits needs re-hashing', async () => {
    const h = await hasher.hash('x');
    assert.equal(hasher.needsRehash(h), false);
    assert.equal(new PasswordHasher({ opsLimit: 2, memLimitBytes: 8192 }).needsRehash(h), true);
  });

  test('tokens are 256-bit url-safe strings stored as their SHA-256', () => {
    const a = newAccessToken();
    const b = newAccessToken();
    assert.match(a.token, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.token, b.token);
    assert.deepEqual(a.hash, hashToken(a.token));
    assert.equal(a.hash.toString('hex'), createHash('sha256').update(a.token).digest('hex'));
  });

  test('the token comes from the Bearer header, else the access_token parameter', () => {
    const req = (headers: Record<string, string>, query = '') => ({ headers, query: new URLSearchParams(query) }) as unknown as Request;
    assert.equal(accessTokenOf(req({ authorization: 'Bearer abc' })), 'abc');
    assert.equal(accessTokenOf(req({ authorization: 'bearer  abc ' })), 'abc');
    assert.equal(accessTokenOf(req({ authorization: 'Basic abc' }, 'access_token=q')), undefined);
    assert.equal(accessTokenOf(req({}, 'access_token=q')), 'q');
    assert.equal(accessTokenOf(req({})), undefined);
  });
});

describe('user ids', () => {
  test('new ids follow the grammar, folding upper case', () => {
    assert.equal(newUserId('Alice', 'hs.example'), '@alice:hs.example');
    assert.equal(newUserId('a.b_c=d-e/f+g', 'hs.example'), '@a.b_c=d-e/f+g:hs.example');
    for (const bad of ['', 'a b', 'a:b', 'é', '@a', 'a\u0000']) {
      assert.throws(() => newUserId(bad, 'hs.example'), (e: unknown) => e instanceof MatrixError && e.errcode === 'M_INVALID_USERNAME', bad);
    }
    const longest = 'x'.repeat(255 - '@:hs.example'.length);
    assert.equal(newUserId(longest, 'hs.example').length, 255);
    assert.throws(() => newUserId(longest + 'x', 'hs.example'));
  });

  test('login names: localpart or full id of this server', () => {
    assert.equal(localUserId('bob', 'hs'), '@bob:hs');
    assert.equal(localUserId('@Bob:hs', 'hs'), '@bob:hs');
    assert.equal(localUserId('@bob:other', 'hs'), undefined);
    assert.equal(localUserId('', 'hs'), undefined);
    assert.equal(identifiedUserId({ identifier: { type: 'm.id.user', user: 'bob' } }, 'hs'), '@bob:hs');
    assert.equal(identifiedUserId({ user: '@bob:hs' }, 'hs'), '@bob:hs');
    const code = (d: Record<string, unknown>) => {
      try {
        identifiedUserId(d, 'hs');
      } catch (e) {
        return (e as MatrixError).errcode;
      }
      return 'none';
    };
    assert.equal(code({ identifier: { type: 'm.id.phone', country: 'GB', phone: '1' } }), 'M_FORBIDDEN');
    assert.equal(code({ medium: 'email', address: 'a@b' }), 'M_FORBIDDEN');
    assert.equal(code({ identifier: { type: 'm.id.weird' } }), 'M_UNKNOWN');
    assert.equal(code({ identifier: { type: 'm.id.user', user: 5 } }), 'M_BAD_JSON');
    assert.equal(code({}), 'M_MISSING_PARAM');
  });
});
