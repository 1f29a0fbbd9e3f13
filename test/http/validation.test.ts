// The validation layer: the body parser (src/http/json.ts), the route-schema check
// (src/http/validate.ts) and, over real HTTP against a whole server, that client input the
// spec refuses gets the spec's 400 rather than a 500, a hang or a silently altered value.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { MatrixError } from '../../src/http/errors.js';
import { MAX_JSON_DEPTH, parseJsonBody, scanJson } from '../../src/http/json.js';
import { queryObject, validateRequest } from '../../src/http/validate.js';
import type { Request } from '../../src/http/types.js';
import { eventContent, identifier, stateKey, userId } from '../../src/api/client/schemas.js';
import { OPEN_REGISTRATION, startTestServer, type TestServer } from '../helpers/server.js';
import { registerUser, type TestClient } from '../helpers/client.js';

const enc = encodeURIComponent;
const bytes = (s: string) => Buffer.from(s, 'utf8');

function errOf(f: () => unknown): MatrixError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof MatrixError, `expected a MatrixError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a refusal');
}

describe('parseJsonBody', () => {
  test('parses JSON; an empty body is {}', () => {
    assert.deepEqual(parseJsonBody(bytes('{"a":[1,{"b":"c"}]}')), { a: [1, { b: 'c' }] });
    assert.deepEqual(parseJsonBody(new Uint8Array(0)), {});
  });

  test('invalid UTF-8 is M_NOT_JSON, not U+FFFD', () => {
    for (const b of [[0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d], [0x22, 0xc3, 0x22], [0x22, 0xed, 0xa0, 0x80, 0x22]]) {
      const e = errOf(() => parseJsonBody(Uint8Array.from(b)));
      assert.equal(e.status, 400);
      assert.equal(e.errcode, 'M_NOT_JSON');
    }
    assert.equal(parseJsonBody(bytes('"é😀"')), 'é😀');
  });

  test('malformed JSON is M_NOT_JSON', () => {
    assert.equal(errOf(() => parseJsonBody(bytes('{nope'))).errcode, 'M_NOT_JSON');
  });

  test(`nesting: ${MAX_JSON_DEPTH} levels pass, one more is M_BAD_JSON, checked before parsing`, () => {
    const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
    assert.ok(Array.isArray(parseJsonBody(bytes(nest(MAX_JSON_DEPTH)))));
    assert.equal(errOf(() => parseJsonBody(bytes(nest(MAX_JSON_DEPTH + 1)))).errcode, 'M_BAD_JSON');
    // Unterminated 100k-deep input: refused by the scan, never handed to anything recursive.
    const e = errOf(() => parseJsonBody(bytes('{"a":'.repeat(100_000))));
    assert.equal(e.errcode, 'M_BAD_JSON');
    assert.match(e.message, /nested deeper/);
  });

  test('brackets and escapes inside strings do not count as nesting', () => {
    const s = JSON.stringify({ a: '['.repeat(500) + '\\"{{{' + '"\\' });
    assert.deepEqual(parseJsonBody(bytes(s)), JSON.parse(s));
    scanJson(bytes('["\\\\", [1]]'), 2);
    assert.throws(() => scanJson(bytes('["\\\\", [[1]]]'), 2));
  });

  test('lone surrogate escapes are M_BAD_JSON; pairs and other escapes pass', () => {
    for (const s of ['"\\ud800"', '"\\uDBFF x"', '"\\udc00"', '"\\ud800\\u0041"', '{"\\ud83d":1}', '"\\ud800\\ud800"', '"\\ud800']) {
      assert.equal(errOf(() => parseJsonBody(bytes(s))).errcode, 'M_BAD_JSON', s);
    }
    assert.equal(parseJsonBody(bytes('"\\ud83d\\ude00 \\u00e9 \\\\ud800"')), '😀 é \\ud800');
  });
});

function fakeRequest(p: Partial<Request>): Request {
  return { method: 'PUT', path: '/', params: {}, query: new URLSearchParams(), headers: {}, body: Buffer.alloc(0), json: undefined, remoteAddress: '', id: 'test', log: {}, signal: new AbortController().signal, ...p };
}

describe('validateRequest', () => {
  const schema = {
    params: z.object({ roomId: identifier() }),
    query: z.looseObject({ dir: z.enum(['b', 'f']).optional() }),
    body: z.looseObject({ user_id: userId, n: z.number().optional(), state: z.array(z.looseObject({ state_key: stateKey })).optional() }),
  };
  const check = (p: Partial<Request>) => validateRequest(schema, fakeRequest({ params: { roomId: '!r' }, json: { user_id: '@a:b' }, ...p }));

  test('a request that fits passes', () => {
    check({});
    check({ json: { user_id: '@a:b', extra: { anything: [1.5] } } });
  });

  test('path parameters: NUL, lone surrogates and over 255 bytes are M_INVALID_PARAM', () => {
    for (const roomId of ['!a\u0000b', '!\ud800', '!' + 'é'.repeat(128), '']) {
      const e = errOf(() => check({ params: { roomId } }));
      assert.equal(e.status, 400);
      assert.equal(e.errcode, 'M_INVALID_PARAM');
      assert.match(e.message, /roomId/);
    }
    check({ params: { roomId: '!' + 'é'.repeat(127) } }); // 255 bytes
  });

  test('query: first values, M_INVALID_PARAM', () => {
    assert.deepEqual(queryObject(new URLSearchParams('a=1&a=2&b=')), { a: '1', b: '' });
    assert.equal(errOf(() => check({ query: new URLSearchParams('dir=x') })).errcode, 'M_INVALID_PARAM');
    check({ query: new URLSearchParams('dir=f&dir=x') });
  });

  test('body: not an object is M_NOT_JSON, missing M_MISSING_PARAM, wrong M_BAD_JSON naming the field', () => {
    assert.equal(errOf(() => check({ json: [1] })).errcode, 'M_NOT_JSON');
    assert.equal(errOf(() => check({ json: {} })).errcode, 'M_MISSING_PARAM');
    const e = errOf(() => check({ json: { user_id: '@a:b', state: [{ state_key: 'x'.repeat(300) }] } }));
    assert.equal(e.errcode, 'M_BAD_JSON');
    assert.match(e.message, /^state\[0\]\.state_key: /);
    assert.equal(errOf(() => check({ json: { user_id: 'nope' } })).errcode, 'M_BAD_JSON');
    // No body read (a GET): nothing to check.
    validateRequest(schema, fakeRequest({ params: { roomId: '!r' } }));
  });

  test('event content: floats, unsafe integers, infinities and lone surrogates are M_BAD_JSON', () => {
    const content = (json: unknown) => validateRequest({ body: eventContent }, fakeRequest({ json }));
    content({ a: [1, -2, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER], b: { c: 'x\u0000' }, d: null, e: true });
    for (const bad of [{ a: 1.5 }, { a: [2 ** 53] }, { a: { b: -(2 ** 53) } }, { a: Infinity }, { a: 'x\ud800' }, { '\udc00': 1 }]) {
      assert.equal(errOf(() => content(bad)).errcode, 'M_BAD_JSON', JSON.stringify(bad));
    }
    assert.match(errOf(() => content({ a: { b: [0, 0.5] } })).message, /^a\.b\[1\]: floats/);
  });
});

describe('over HTTP', () => {
  let srv: TestServer;
  let alice: TestClient;
  let roomPath: string;

  before(async () => {
    srv = await startTestServer(OPEN_REGISTRATION);
    alice = await registerUser(srv.baseUrl, 'alice');
    const r = await alice.post('/createRoom', {});
    assert.equal(r.status, 200);
    roomPath = `/rooms/${enc(r.body.room_id)}`;
  });
  after(async () => {
    await srv?.stop();
  });

  const expect = async (p: Promise<{ status: number; body: { errcode?: string; error?: string } }>, status: number, errcode: string) => {
    const r = await p;
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.errcode, errcode, JSON.stringify(r.body));
    assert.equal(typeof r.body.error, 'string');
    assert.doesNotMatch(r.body.error!, /\n\s+at /); // never a stack trace
  };

  test('every route has a schema for its path parameters that zod can describe as JSON Schema', () => {
    const routes = srv.server.routes();
    assert.ok(routes.length > 50);
    for (const r of routes) {
      const s = r.options.schema;
      assert.ok(s, `${r.method} ${r.pattern} has no schema`);
      const names = [...r.pattern.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      if (names.length) {
        assert.ok(s.params instanceof z.ZodObject, `${r.method} ${r.pattern} has no params schema`);
        assert.deepEqual(Object.keys(s.params.shape).sort(), [...names].sort(), `${r.method} ${r.pattern}`);
      }
      for (const part of [s.params, s.query, s.body]) if (part) z.toJSONSchema(part);
    }
  });

  test('createRoom: an initial_state state_key or type over 255 bytes is 400, and nothing is stored', async () => {
    const before = (await alice.get('/joined_rooms')).body.joined_rooms.length;
    await expect(alice.post('/createRoom', { initial_state: [{ type: 'm.x', state_key: 'k'.repeat(300), content: {} }] }), 400, 'M_BAD_JSON');
    await expect(alice.post('/createRoom', { initial_state: [{ type: 't'.repeat(256), state_key: '', content: {} }] }), 400, 'M_BAD_JSON');
    await expect(alice.post('/createRoom', { initial_state: [{ type: 'm.x', state_key: 'a\u0000b', content: {} }] }), 400, 'M_BAD_JSON');
    assert.equal((await alice.get('/joined_rooms')).body.joined_rooms.length, before);
    const ok = await alice.post('/createRoom', { initial_state: [{ type: 'm.x', state_key: 'k'.repeat(255), content: {} }] });
    assert.equal(ok.status, 200);
  });

  test('100k-deep bodies are 400 M_BAD_JSON, and the server still answers', async () => {
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    const u = enc(alice.userId!);
    const targets: Array<[string, string]> = [
      ['PUT', `/user/${u}/account_data/org.example.deep`],
      ['POST', `/user/${u}/filter`],
      ['PUT', '/sendToDevice/m.x/deep1'],
      ['POST', '/keys/upload'],
      ['PUT', '/pushrules/global/override/deep'],
      ['PUT', `${roomPath}/send/m.room.message/deep1`],
    ];
    for (const [method, path] of targets) {
      await expect(alice.request(method, path, undefined, { rawBody: deep, headers: { 'Content-Type': 'application/json' } }), 400, 'M_BAD_JSON');
    }
    assert.equal((await alice.get('/account/whoami')).status, 200);
  });

  test('invalid UTF-8 in a body is 400 M_NOT_JSON, not stored as U+FFFD', async () => {
    const body = Buffer.concat([bytes('{"body":"'), Buffer.from([0xc3, 0x28]), bytes('"}')]);
    const res = await fetch(`${srv.baseUrl}/_matrix/client/v3${roomPath}/send/m.room.message/utf1`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${alice.accessToken}`, 'Content-Type': 'application/json' },
      body,
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { errcode: string }).errcode, 'M_NOT_JSON');
  });

  test('floats, 2^53, 1e400 and lone surrogates in event content are 400 M_BAD_JSON', async () => {
    const raws = ['{"n":1.5}', '{"n":9007199254740992}', '{"n":-9007199254740993}', '{"n":1e400}', '{"s":"\\ud800"}', '{"a":{"b":[0.1]}}'];
    let i = 0;
    for (const raw of raws) {
      const headers = { 'Content-Type': 'application/json' };
      await expect(alice.request('PUT', `${roomPath}/send/m.room.message/f${i++}`, undefined, { rawBody: raw, headers }), 400, 'M_BAD_JSON');
      await expect(alice.request('PUT', `${roomPath}/state/m.x/f${i++}`, undefined, { rawBody: raw, headers }), 400, 'M_BAD_JSON');
    }
    const cr = [
      { initial_state: [{ type: 'm.x', state_key: '', content: { n: 0.5 } }] },
      { creation_content: { n: 2 ** 53 } },
      { power_level_content_override: { users_default: 1.5 } },
    ];
    for (const body of cr) await expect(alice.post('/createRoom', body), 400, 'M_BAD_JSON');
    await expect(alice.put(`/profile/${enc(alice.userId!)}/displayname`, { displayname: 'x', n: 0.5 }), 400, 'M_BAD_JSON');
    // The largest safe integer is fine.
    const ok = await alice.put(`${roomPath}/send/m.room.message/safe`, { n: Number.MAX_SAFE_INTEGER, body: 'x' });
    assert.equal(ok.status, 200);
  });

  test('NUL or over-long path parameters are 400 M_INVALID_PARAM', async () => {
    const u = enc(alice.userId!);
    await expect(alice.put(`${roomPath}/send/m.room.message/a%00b`, { body: 'x' }), 400, 'M_INVALID_PARAM');
    await expect(alice.put(`${roomPath}/send/m.x%00y/t1`, { body: 'x' }), 400, 'M_INVALID_PARAM');
    await expect(alice.put(`${roomPath}/state/m.x/${'k'.repeat(256)}`, {}), 400, 'M_INVALID_PARAM');
    await expect(alice.get(`/rooms/!a%00b:test.local/messages`), 400, 'M_INVALID_PARAM');
    await expect(alice.put(`/user/${u}/account_data/a%00b`, {}), 400, 'M_INVALID_PARAM');
    await expect(alice.put(`/sendToDevice/m.x/${'t'.repeat(256)}`, { messages: {} }), 400, 'M_INVALID_PARAM');
    await expect(alice.get(`/devices/a%00b`), 400, 'M_INVALID_PARAM');
    await expect(alice.put(`/devices/a%00b`, {}), 400, 'M_INVALID_PARAM');
    await expect(alice.get(`/profile/@a%00b:test.local`), 400, 'M_INVALID_PARAM');
  });

  test('NUL in device fields of login and registration is 400, not a 500', async () => {
    const password = 'correct horse battery staple';
    const identifier = { type: 'm.id.user', user: 'alice' };
    await expect(alice.post('/login', { type: 'm.login.password', identifier, password, device_id: 'a\u0000' }), 400, 'M_BAD_JSON');
    await expect(alice.post('/login', { type: 'm.login.password', identifier, password, initial_device_display_name: 'a\u0000' }), 400, 'M_BAD_JSON');
    const first = await alice.post('/register', { username: 'nul', password }, { token: null });
    const auth = { type: 'm.login.dummy', session: first.body.session };
    await expect(alice.post('/register', { username: 'nul', password, auth, device_id: 'd\u0000' }, { token: null }), 400, 'M_BAD_JSON');
  });

});
