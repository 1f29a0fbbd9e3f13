// The uWebSockets.js front end on a real loopback socket, with routes built for the test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import uws from 'uWebSockets.js';
import { pino } from 'pino';
import { Router } from '../../src/http/router.js';
import { HttpFrontEnd } from '../../src/http/server.js';
import { forbidden } from '../../src/http/errors.js';

const logged: unknown[] = [];
const log = pino({ level: 'error' }, { write: (s: string) => void logged.push(JSON.parse(s)) });
let front: HttpFrontEnd;
let base: string;
let port: number;
let slowFinished = 0;

before(async () => {
  const router = new Router()
    .add('POST', '/echo/{name}', (req) => ({ body: { name: req.params.name, json: req.json, q: req.query.get('q') } }))
    .add('PUT', '/raw', (req) => ({ body: { length: req.body.length } }), { body: 'raw', maxBytes: 4096 })
    .add('GET', '/boom', () => {
      throw new Error('kaboom');
    })
    .add('GET', '/async-boom', async () => {
      await new Promise((r) => setTimeout(r, 5));
      throw new TypeError('async kaboom');
    })
    .add('GET', '/forbidden', () => {
      throw forbidden('no');
    })
    .add('GET', '/slow', async () => {
      await new Promise((r) => setTimeout(r, 300));
      slowFinished++;
      return { body: { slow: true } };
    });
  front = new HttpFrontEnd(router, log, { maxJsonBytes: 1024, maxRequestBytes: 8192 });
  port = await front.listen(front.attach(uws.App()), '127.0.0.1', 0);
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  await front.close(2000);
});

test('JSON body, decoded params and query string reach the handler', async () => {
  const res = await fetch(`${base}/echo/a%20b%2Fc?q=x%26y`, { method: 'POST', body: JSON.stringify({ k: [1, 'é'] }) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.deepEqual(await res.json(), { name: 'a b/c', json: { k: [1, 'é'] }, q: 'x&y' });
});

test('an empty JSON body reads as {}', async () => {
  const res = await fetch(`${base}/echo/e`, { method: 'POST' });
  assert.deepEqual(((await res.json()) as { json: unknown }).json, {});
});

test('malformed JSON is 400 M_NOT_JSON', async () => {
  const res = await fetch(`${base}/echo/x`, { method: 'POST', body: '{"a":' });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { errcode: string }).errcode, 'M_NOT_JSON');
});

test('a declared body over the cap is 413 M_TOO_LARGE', async () => {
  const res = await fetch(`${base}/echo/x`, { method: 'POST', body: JSON.stringify({ pad: 'x'.repeat(2000) }) });
  assert.equal(res.status, 413);
  assert.equal(((await res.json()) as { errcode: string }).errcode, 'M_TOO_LARGE');
});

test('a chunked body that grows over the route cap is 413 and the server keeps serving', async () => {
  const body = new ReadableStream({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(1000));
      c.close();
    },
  });
  const res = await fetch(`${base}/raw`, { method: 'PUT', body, duplex: 'half' } as RequestInit);
  assert.equal(res.status, 413);
  const ok = await fetch(`${base}/raw`, { method: 'PUT', body: new Uint8Array(100) });
  assert.deepEqual(await ok.json(), { length: 100 });
});

// (uWS's own parser drops connections declaring absurd lengths, around 1 GB and up, before any handler.)
test('413 is sent without waiting for the rest of a 10 MB declared body', async () => {
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`POST /echo/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{"a":`);
    });
    let data = '';
    s.on('data', (d) => {
      data += d.toString();
      if (data.includes('M_TOO_LARGE')) {
        s.destroy();
        resolve(data);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(data));
  });
  assert.match(reply, /^HTTP\/1\.1 413/);
});

test('unknown path 404 M_UNRECOGNIZED, wrong method 405 M_UNRECOGNIZED', async () => {
  const a = await fetch(`${base}/_matrix/nothing/here`);
  assert.equal(a.status, 404);
  assert.deepEqual(await a.json(), { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  const b = await fetch(`${base}/echo/x`);
  assert.equal(b.status, 405);
  assert.equal(((await b.json()) as { errcode: string }).errcode, 'M_UNRECOGNIZED');
});

test('CORS headers on responses and on OPTIONS, which runs no handler', async () => {
  const res = await fetch(`${base}/forbidden`);
  assert.equal(res.status, 403);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.match(res.headers.get('access-control-allow-methods') ?? '', /OPTIONS/);
  assert.match(res.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  const before = slowFinished;
  const opt = await fetch(`${base}/slow`, { method: 'OPTIONS' });
  assert.equal(opt.status, 204);
  assert.equal(opt.headers.get('access-control-allow-origin'), '*');
  await new Promise((r) => setTimeout(r, 350));
  assert.equal(slowFinished, before, 'OPTIONS must not run the endpoint logic');
});

test('an exception in a handler is 500 M_UNKNOWN with a log line, and the process lives', async () => {
  logged.length = 0;
  for (const p of ['/boom', '/async-boom']) {
    const res = await fetch(`${base}${p}`);
    assert.equal(res.status, 500);
    assert.equal(((await res.json()) as { errcode: string }).errcode, 'M_UNKNOWN');
  }
  assert.equal(logged.length, 2);
  assert.match(JSON.stringify(logged[0]), /kaboom/);
  const again = await fetch(`${base}/echo/ok`, { method: 'POST', body: '{}' });
  assert.equal(again.status, 200);
});

test('clients aborting mid-body or before the response do not crash or leak', async () => {
  // Abort half-way through a declared body.
  await new Promise<void>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write('POST /echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"a":"');
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 20);
    });
  });
  // Abort while an async handler is still working.
  const ctl = new AbortController();
  const pending = fetch(`${base}/slow`, { signal: ctl.signal }).catch((e: Error) => e.name);
  setTimeout(() => ctl.abort(), 50);
  assert.equal(await pending, 'AbortError');
  await new Promise((r) => setTimeout(r, 400));
  const res = await fetch(`${base}/echo/after`, { method: 'POST', body: '{"still":"alive"}' });
  assert.equal(res.status, 200);
  // Nothing is left in flight: closing does not wait out its timeout.
  const t0 = Date.now();
  const probe = new HttpFrontEnd(new Router(), log, { maxJsonBytes: 10, maxRequestBytes: 10 });
  await probe.close(5000);
  assert.ok(Date.now() - t0 < 1000);
});
