import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../src/http/router.js';
import { MatrixError } from '../../src/http/errors.js';

const ok = () => ({ body: {} });

function errOf(fn: () => unknown): MatrixError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof MatrixError, 'expected a MatrixError');
    return e;
  }
  assert.fail('expected a throw');
}

test('matches literal routes and decodes parameters', () => {
  const r = new Router().add('GET', '/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}', ok);
  const m = r.match('GET', '/_matrix/client/v3/rooms/!abc%3Aexample.org/state/m.room.member/%40alice%3Aexample.org');
  assert.equal(m.route.pattern, '/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}');
  assert.deepEqual(m.params, { roomId: '!abc:example.org', eventType: 'm.room.member', stateKey: '@alice:example.org' });
});

test('an encoded slash stays inside its parameter', () => {
  const r = new Router().add('GET', '/x/{a}/y', ok);
  assert.deepEqual(r.match('GET', '/x/a%2Fb/y').params, { a: 'a/b' });
  assert.equal(errOf(() => r.match('GET', '/x/a/b/y')).status, 404);
});

test('literal segments win over parameters, with backtracking', () => {
  const r = new Router().add('GET', '/r/{id}/messages', ok).add('GET', '/r/joined/{x}', ok);
  assert.equal(r.match('GET', '/r/joined/abc').route.pattern, '/r/joined/{x}');
  assert.equal(r.match('GET', '/r/joined/messages').route.pattern, '/r/joined/{x}');
  assert.deepEqual(r.match('GET', '/r/abc/messages').params, { id: 'abc' });
  // "joined" literal branch dead-ends for this path, so the parameter branch must be tried.
  const r2 = new Router().add('GET', '/r/{id}/messages', ok).add('GET', '/r/joined', ok);
  assert.deepEqual(r2.match('GET', '/r/joined/messages').params, { id: 'joined' });
});

test('unknown path is 404 M_UNRECOGNIZED, wrong method 405 M_UNRECOGNIZED', () => {
  const r = new Router().add('GET', '/a/b', ok);
  const e404 = errOf(() => r.match('GET', '/a/c'));
  assert.equal(e404.status, 404);
  assert.equal(e404.errcode, 'M_UNRECOGNIZED');
  const e405 = errOf(() => r.match('POST', '/a/b'));
  assert.equal(e405.status, 405);
  assert.equal(e405.errcode, 'M_UNRECOGNIZED');
});

test('HEAD falls back to GET; empty parameter segments do not match', () => {
  const r = new Router().add('GET', '/a/{x}', ok);
  assert.equal(r.match('HEAD', '/a/1').route.method, 'GET');
  assert.equal(errOf(() => r.match('GET', '/a/')).status, 404);
});

test('malformed percent-encoding in a parameter is M_INVALID_PARAM', () => {
  const r = new Router().add('GET', '/a/{x}', ok);
  const e = errOf(() => r.match('GET', '/a/%E0%A4%A'));
  assert.equal(e.status, 400);
  assert.equal(e.errcode, 'M_INVALID_PARAM');
});

test('duplicate registration and clashing parameter names are refused', () => {
  const r = new Router().add('GET', '/a/{x}', ok);
  assert.throws(() => r.add('GET', '/a/{x}', ok), /registered twice/);
  assert.throws(() => r.add('PUT', '/a/{y}', ok), /clashes/);
});
