// The uWebSockets.js front end on a real loopback socket, with routes built for the test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import uws from 'uWebSockets.js';
import { pino } from 'pino';
import { Router } from '../../src/http/router.js';
import { HttpFrontEnd } from '../../src/http/server.js';
import { rawExchange } from '../helpers/raw-http.js';
import { forbidden, MatrixError } from '../../src/http/errors.js';
import type { BodyGrant, RouteOptions, StreamedBody } from '../../src/http/types.js';

const logged: unknown[] = [];
const log = pino({ level: 'error' }, { write: (s: string) => void logged.push(JSON.parse(s)) });
let front: HttpFrontEnd;
let base: string;
let port: number;
let slowFinished = 0;
let spool: string;
let released = 0;
/** What the streaming handler saw: the file's bytes while it ran. */
let seen: { upload: StreamedBody; bytes: Buffer } | undefined;

const streamed = (maxBytes: number, grantBytes = maxBytes): RouteOptions => ({
  body: 'stream',
  maxBytes,
  authorize: async (req) => {
    await new Promise((r) => setTimeout(r, 5));
    if (req.headers.authorization !== 'Bearer ok') throw new MatrixError(401, 'M_MISSING_TOKEN', 'no');
    const g: BodyGrant = { dir: spool, maxBytes: grantBytes, release: () => void released++ };
    if (grantBytes < maxBytes) g.overLimit = () => forbidden('quota');
    return g;
  },
});

before(async () => {
  spool = await mkdtemp(join(tmpdir(), 'lattice-spool-'));
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
    .add(
      'PUT',
      '/stream',
      async (req) => {
        seen = { upload: req.upload!, bytes: await readFile(req.upload!.path) };
        return { body: { size: req.upload!.size } };
      },
      streamed(64 * 1024),
    )
    .add('PUT', '/stream-quota', (req) => ({ body: { size: req.upload!.size } }), streamed(64 * 1024, 1000))
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
  await rm(spool, { recursive: true, force: true });
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

/** Waits until the spool directory is empty (temporary files are removed asynchronously). */
async function spoolEmpty(): Promise<void> {
  for (let i = 0; i < 50 && (await readdir(spool)).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(await readdir(spool), []);
}

test('a streamed body reaches the handler as a file with its size and SHA-256; the file is gone afterwards', async () => {
  released = 0;
  const body = Buffer.alloc(50_000, 'abc');
  const res = await fetch(`${base}/stream`, { method: 'PUT', headers: { Authorization: 'Bearer ok' }, body });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { size: body.length });
  assert.ok(seen);
  assert.deepEqual(seen.bytes, body);
  assert.deepEqual(seen.upload.sha256, createHash('sha256').update(body).digest());
  await spoolEmpty();
  assert.equal(released, 1);
  // Chunked, too: the same.
  const chunked = new ReadableStream({
    start(c) {
      for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(1000).fill(i));
      c.close();
    },
  });
  const r2 = await fetch(`${base}/stream`, { method: 'PUT', headers: { Authorization: 'Bearer ok' }, body: chunked, duplex: 'half' } as RequestInit);
  assert.deepEqual(await r2.json(), { size: 5000 });
  assert.equal(released, 2);
});

test('a refused streamed upload is answered before its body is read, and says the connection closes', async () => {
  released = 0;
  const reply = await rawExchange(port, 'PUT /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n', 'M_MISSING_TOKEN', Buffer.alloc(1000));
  assert.match(reply, /^HTTP\/1\.1 401 /);
  assert.match(reply, /\r\nConnection: close\r\n/i);
  assert.equal(released, 0, 'nothing was granted');
  await spoolEmpty();
});

test('a streamed body past the cap or the grant is refused and its file removed', async () => {
  released = 0;
  const big = (n: number) =>
    new ReadableStream({
      start(c) {
        for (let i = 0; i < n; i++) c.enqueue(new Uint8Array(1000));
        c.close();
      },
    });
  const over = await fetch(`${base}/stream`, { method: 'PUT', headers: { Authorization: 'Bearer ok' }, body: big(70), duplex: 'half' } as RequestInit).catch((e: Error) => e);
  // The server may close before the client finishes sending; when the answer arrives, it is 413.
  if (!(over instanceof Error)) assert.equal(over.status, 413);
  const quota = await fetch(`${base}/stream-quota`, { method: 'PUT', headers: { Authorization: 'Bearer ok' }, body: Buffer.alloc(1500) });
  assert.equal(quota.status, 403);
  assert.equal(((await quota.json()) as { error: string }).error, 'quota');
  const fits = await fetch(`${base}/stream-quota`, { method: 'PUT', headers: { Authorization: 'Bearer ok' }, body: Buffer.alloc(1000) });
  assert.deepEqual(await fits.json(), { size: 1000 });
  await spoolEmpty();
  assert.equal(released, 3);
});

test('a client going away mid-upload frees its grant and its file', async () => {
  released = 0;
  await new Promise<void>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write('PUT /stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ok\r\nContent-Length: 60000\r\n\r\n');
      s.write(Buffer.alloc(20_000));
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 100);
    });
  });
  await spoolEmpty();
  for (let i = 0; i < 50 && released === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(released, 1);
});

test('every response carries its request id; a 500 is one error line with that id, the stack only at debug', async () => {
  logged.length = 0;
  const res = await fetch(`${base}/boom`);
  const id = res.headers.get('x-request-id');
  assert.ok(id);
  assert.match(res.headers.get('access-control-expose-headers') ?? '', /X-Request-Id/, 'readable by browser clients');
  const body = (await res.json()) as { errcode: string; error: string };
  assert.equal(body.errcode, 'M_UNKNOWN');
  assert.doesNotMatch(JSON.stringify(body), /kaboom|at .*\.js/, 'no error details or stack in the body');
  assert.match(body.error, new RegExp(id));
  assert.equal(logged.length, 1);
  const line = logged[0] as { level: number; req_id: string; status: number; path: string; error: { message: string; stack?: string } };
  assert.equal(line.level, 50);
  assert.equal(line.req_id, id);
  assert.equal(line.status, 500);
  assert.equal(line.path, '/boom');
  assert.equal(line.error.message, 'kaboom');
  assert.equal(line.error.stack, undefined);
  const other = await fetch(`${base}/echo/x`, { method: 'POST', body: '{}' });
  assert.notEqual(other.headers.get('x-request-id'), id);
  assert.ok((await fetch(`${base}/nope`)).headers.get('x-request-id'), 'also on a 404');

  const debugLines: Array<{ error?: { stack?: string } }> = [];
  const debugLog = pino({ level: 'debug' }, { write: (s: string) => void debugLines.push(JSON.parse(s)) });
  const debugFront = new HttpFrontEnd(new Router().add('GET', '/boom', () => { throw new Error('kaboom'); }), debugLog, { maxJsonBytes: 1024, maxRequestBytes: 1024 });
  const debugPort = await debugFront.listen(debugFront.attach(uws.App()), '127.0.0.1', 0);
  try {
    assert.equal((await fetch(`http://127.0.0.1:${debugPort}/boom`)).status, 500);
    assert.equal(debugLines.length, 1);
    assert.match(debugLines[0]!.error?.stack ?? '', /kaboom\n\s+at /);
  } finally {
    await debugFront.close(1000);
  }
});
