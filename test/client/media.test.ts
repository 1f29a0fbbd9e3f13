// The content repository over real HTTP: uploads (direct and to ids from /create), downloads
// with their headers, limits (size, type, quota, pending ids), and thumbnails made by sharp.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { TestClient } from '../helpers/client.js';
import { startHarness, user, ok, type Harness } from './extras-harness.js';
import { startTestServer } from '../helpers/server.js';
import { rawExchange } from '../helpers/raw-http.js';

let h: Harness;
let alice: TestClient;
let bob: TestClient;

const MAX_UPLOAD = 600_000;

before(async () => {
  h = await startHarness({
    media: {
      max_upload_bytes: MAX_UPLOAD,
      allowed_content_types: ['image/*', 'text/plain', 'text/html', 'application/octet-stream'],
      user_quota_bytes: 2_000_000,
      max_pending_uploads: 3,
      max_thumbnail_source_pixels: 800_000,
    },
  });
  alice = await user(h, 'alice');
  bob = await user(h, 'bob');
});
after(async () => {
  await h.stop();
});

async function upload(c: TestClient, body: Buffer, contentType: string | null, filename?: string): Promise<Response> {
  const q = filename === undefined ? '' : `?filename=${encodeURIComponent(filename)}`;
  const headers: Record<string, string> = { Authorization: `Bearer ${c.accessToken}` };
  if (contentType !== null) headers['Content-Type'] = contentType;
  return fetch(`${h.baseUrl}/_matrix/media/v3/upload${q}`, { method: 'POST', headers, body });
}

async function uploadOk(c: TestClient, body: Buffer, contentType: string, filename?: string): Promise<{ server: string; id: string }> {
  const r = await upload(c, body, contentType, filename);
  assert.equal(r.status, 200, await r.clone().text());
  const uri = ((await r.json()) as { content_uri: string }).content_uri;
  const m = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(uri);
  assert.ok(m, uri);
  return { server: m[1]!, id: m[2]! };
}

function get(c: TestClient | null, path: string): Promise<Response> {
  return fetch(`${h.baseUrl}/_matrix/client/v1/media/${path}`, { headers: c ? { Authorization: `Bearer ${c.accessToken}` } : {} });
}

async function errcode(r: Response): Promise<string> {
  return ((await r.json()) as { errcode: string }).errcode;
}

const image = (width: number, height: number, format: 'png' | 'jpeg' = 'png', alpha = false) =>
  sharp({ create: { width, height, channels: alpha ? 4 : 3, background: { r: 200, g: 30, b: 90, alpha: alpha ? 0.5 : 1 } } })
    [format]()
    .toBuffer();

describe('upload and download', () => {
  test('round trip with content type, disposition and security headers; stored under the data directory', async () => {
    const png = await image(64, 48);
    const { server, id } = await uploadOk(alice, png, 'image/png', 'cat.png');
    assert.equal(server, 'test.local');
    assert.ok(existsSync(join(h.config.dataDir, 'media', 'local', id.slice(0, 2), id.slice(2, 4), id.slice(4))));
    const r = await get(bob, `download/${server}/${id}`);
    assert.equal(r.status, 200);
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), png);
    assert.equal(r.headers.get('content-type'), 'image/png');
    assert.equal(r.headers.get('content-disposition'), 'inline; filename="cat.png"');
    assert.match(r.headers.get('content-security-policy') ?? '', /sandbox/);
    assert.equal(r.headers.get('cross-origin-resource-policy'), 'cross-origin');
    // A file name in the path replaces the stored one; non-ASCII names are RFC 5987-encoded.
    const named = await get(bob, `download/${server}/${id}/${encodeURIComponent('chat noir é.png')}`);
    assert.equal(named.headers.get('content-disposition'), "inline; filename*=utf-8''chat%20noir%20%C3%A9.png");
    assert.equal((await get(null, `download/${server}/${id}`)).status, 401);
  });

  test('risky types are served as attachments; no content type is octet-stream', async () => {
    const html = await uploadOk(alice, Buffer.from('<script>alert(1)</script>'), 'text/html; charset=utf-8', 'x.html');
    const r = await get(bob, `download/test.local/${html.id}`);
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(r.headers.get('content-disposition'), 'attachment; filename="x.html"');
    const blob = await uploadOk(alice, Buffer.from([1, 2, 3]), 'application/octet-stream');
    const r2 = await get(bob, `download/test.local/${blob.id}`);
    assert.equal(r2.headers.get('content-type'), 'application/octet-stream');
    assert.equal(r2.headers.get('content-disposition'), 'attachment');
    const none = await upload(alice, Buffer.from('x'), null);
    assert.equal(none.status, 200);
  });

  test('unknown, remote and malformed ids are 404', async () => {
    for (const path of ['download/test.local/doesnotexist', 'download/remote.example/abc', 'download/test.local/..%2F..%2Fetc']) {
      const r = await get(alice, path);
      assert.equal(r.status, 404, path);
      assert.equal(await errcode(r), 'M_NOT_FOUND');
    }
  });

  test('limits: size (413), type (403), quota (403)', async () => {
    const big = await upload(alice, Buffer.alloc(MAX_UPLOAD + 1), 'image/png');
    assert.equal(big.status, 413);
    assert.equal(await errcode(big), 'M_TOO_LARGE');
    const zip = await upload(alice, Buffer.from('PK'), 'application/zip');
    assert.equal(zip.status, 403);
    assert.equal(await errcode(zip), 'M_FORBIDDEN');
    assert.equal((await upload(alice, Buffer.from('x'), 'text/plain', 'a\u0001b')).status, 400);
    // Bob fills his 2 MB quota with 500 kB files.
    for (let i = 0; i < 4; i++) assert.equal((await upload(bob, Buffer.alloc(500_000, i), 'application/octet-stream')).status, 200);
    const over = await upload(bob, Buffer.alloc(10), 'application/octet-stream');
    assert.equal(over.status, 403);
    assert.equal(await errcode(over), 'M_FORBIDDEN');
  });

  test('uploads are refused from their headers alone, before any body is sent', async () => {
    // Only the head is sent: an answer proves the server did not wait for the body.
    const port = Number(new URL(h.baseUrl).port);
    const head = (method: string, path: string, headers: Record<string, string>) =>
      rawExchange(port, `${method} ${path} HTTP/1.1\r\nHost: x\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, '"errcode"');
    const auth = (c: TestClient) => ({ Authorization: `Bearer ${c.accessToken}`, 'Content-Length': '100' });
    assert.match(await head('POST', '/_matrix/media/v3/upload', { 'Content-Length': '100' }), /^HTTP\/1\.1 401 [^]*M_MISSING_TOKEN/);
    // Bob's quota is full (previous test).
    assert.match(await head('POST', '/_matrix/media/v3/upload', auth(bob)), /^HTTP\/1\.1 403 [^]*media quota/);
    assert.match(await head('POST', '/_matrix/media/v3/upload', { ...auth(alice), 'Content-Type': 'application/zip' }), /^HTTP\/1\.1 403 [^]*application\/zip/);
    assert.match(await head('POST', '/_matrix/media/v3/upload', { ...auth(alice), 'Content-Length': String(MAX_UPLOAD + 1) }), /^HTTP\/1\.1 413 /);
    assert.match(await head('PUT', '/_matrix/media/v3/upload/test.local/nosuchid', auth(alice)), /^HTTP\/1\.1 404 /);
  });

  test('config', async () => {
    const r = await get(alice, 'config');
    assert.deepEqual(await r.json(), { 'm.upload.size': MAX_UPLOAD });
  });
});

describe('create, then upload', () => {
  test('pending ids: 504 before the upload, a waiting download gets it, one upload only', async () => {
    const created = ok(await alice.post('/_matrix/media/v1/create', {}));
    assert.ok(created.unused_expires_at > Date.now());
    const id = (created.content_uri as string).split('/').pop()!;
    const early = await get(bob, `download/test.local/${id}?timeout_ms=0`);
    assert.equal(early.status, 504);
    assert.equal(await errcode(early), 'M_NOT_YET_UPLOADED');
    const waiting = get(bob, `download/test.local/${id}?timeout_ms=5000`);
    await new Promise((r) => setTimeout(r, 100));
    const put = (c: TestClient, body: string) =>
      fetch(`${h.baseUrl}/_matrix/media/v3/upload/test.local/${id}?filename=late.txt`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${c.accessToken}`, 'Content-Type': 'text/plain' },
        body,
      });
    const byBob = await put(bob, 'not mine');
    assert.equal(byBob.status, 403);
    assert.equal((await put(alice, 'hello later')).status, 200);
    const r = await waiting;
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'hello later');
    assert.equal(r.headers.get('content-disposition'), 'inline; filename="late.txt"');
    const again = await put(alice, 'overwrite');
    assert.equal(again.status, 409);
    assert.equal(await errcode(again), 'M_CANNOT_OVERWRITE_MEDIA');
    const unknown = await fetch(`${h.baseUrl}/_matrix/media/v3/upload/test.local/nosuchid`, { method: 'PUT', headers: { Authorization: `Bearer ${alice.accessToken}` }, body: 'x' });
    assert.equal(unknown.status, 404);
  });

  test('too many pending ids: 429', async () => {
    for (let i = 0; i < 3; i++) ok(await bob.post('/_matrix/media/v1/create', {}));
    const r = await bob.post('/_matrix/media/v1/create', {});
    assert.equal(r.status, 429);
    assert.equal(r.body.errcode, 'M_LIMIT_EXCEEDED');
  });
});

describe('thumbnails', () => {
  test('crop and scale sizes are never smaller than asked; cached; small images come back as they are', async () => {
    const jpeg = await image(800, 400, 'jpeg');
    const { id } = await uploadOk(alice, jpeg, 'image/jpeg');
    const crop = await get(bob, `thumbnail/test.local/${id}?width=90&height=90&method=crop`);
    assert.equal(crop.status, 200);
    assert.equal(crop.headers.get('content-type'), 'image/jpeg');
    assert.match(crop.headers.get('content-disposition') ?? '', /^inline/);
    const cropBytes = Buffer.from(await crop.arrayBuffer());
    const cm = await sharp(cropBytes).metadata();
    assert.deepEqual([cm.width, cm.height], [96, 96]);
    const scale = await get(bob, `thumbnail/test.local/${id}?width=300&height=200&method=scale`);
    const sm = await sharp(Buffer.from(await scale.arrayBuffer())).metadata();
    assert.ok(sm.width! >= 320 && sm.height! >= 240, `${sm.width}x${sm.height}`);
    assert.equal(sm.width! / sm.height!, 2, 'aspect ratio kept');
    // Cached: the same bytes, and a row for it.
    const again = Buffer.from(await (await get(bob, `thumbnail/test.local/${id}?width=90&height=90&method=crop`)).arrayBuffer());
    assert.deepEqual(again, cropBytes);
    const rows = await h.ctx.sql`SELECT width, height, method FROM media_thumbnails WHERE media_id = ${id} ORDER BY width`;
    assert.deepEqual(rows.map((r) => `${r.width}x${r.height}-${r.method}`), ['96x96-crop', '320x240-scale']);

    const small = await image(20, 20, 'png', true);
    const s = await uploadOk(alice, small, 'image/png');
    const st = await get(bob, `thumbnail/test.local/${s.id}?width=96&height=96`);
    assert.deepEqual(Buffer.from(await st.arrayBuffer()), small);
  });

  test('images with transparency stay PNG; animated GIFs can become animated WebP', async () => {
    const { id } = await uploadOk(alice, await image(400, 400, 'png', true), 'image/png');
    const t = await get(bob, `thumbnail/test.local/${id}?width=32&height=32&method=crop`);
    assert.equal(t.headers.get('content-type'), 'image/png');
    const frame = (r: number) => sharp({ create: { width: 200, height: 150, channels: 3, background: { r, g: 0, b: 0 } } }).png().toBuffer();
    const gif = await sharp([await frame(255), await frame(120), await frame(10)], { join: { animated: true } }).gif().toBuffer();
    const g = await uploadOk(alice, gif, 'image/gif');
    const anim = await get(bob, `thumbnail/test.local/${g.id}?width=96&height=96&method=crop&animated=true`);
    assert.equal(anim.headers.get('content-type'), 'image/webp');
    const am = await sharp(Buffer.from(await anim.arrayBuffer()), { animated: true }).metadata();
    assert.equal(am.pages, 3);
    const still = await get(bob, `thumbnail/test.local/${g.id}?width=96&height=96&method=crop`);
    assert.notEqual(still.headers.get('content-type'), 'image/webp');
  });

  test('errors: parameters, non-images, corrupt images, too many pixels', async () => {
    const { id } = await uploadOk(alice, await image(100, 100), 'image/png');
    const cases: Array<[string, number, string]> = [
      [`thumbnail/test.local/${id}?height=10`, 400, 'M_MISSING_PARAM'],
      [`thumbnail/test.local/${id}?width=abc&height=10`, 400, 'M_INVALID_PARAM'],
      [`thumbnail/test.local/${id}?width=0&height=10`, 400, 'M_INVALID_PARAM'],
      [`thumbnail/test.local/${id}?width=10&height=10&method=stretch`, 400, 'M_INVALID_PARAM'],
      [`thumbnail/test.local/${id}?width=10&height=10&animated=maybe`, 400, 'M_INVALID_PARAM'],
      ['thumbnail/test.local/nosuch?width=10&height=10', 404, 'M_NOT_FOUND'],
    ];
    for (const [path, status, code] of cases) {
      const r = await get(bob, path);
      assert.equal(r.status, status, path);
      assert.equal(await errcode(r), code, path);
    }
    const txt = await uploadOk(alice, Buffer.from('hello'), 'text/plain');
    const r1 = await get(bob, `thumbnail/test.local/${txt.id}?width=10&height=10`);
    assert.equal(r1.status, 400);
    assert.equal(await errcode(r1), 'M_UNKNOWN');
    const corrupt = await uploadOk(alice, Buffer.from('\x89PNG\r\n\x1a\nnot really'), 'image/png');
    const r2 = await get(bob, `thumbnail/test.local/${corrupt.id}?width=10&height=10`);
    assert.equal(r2.status, 400);
    const huge = await uploadOk(alice, await image(1000, 1000, 'jpeg'), 'image/jpeg');
    const r3 = await get(bob, `thumbnail/test.local/${huge.id}?width=32&height=32&method=crop`);
    assert.equal(r3.status, 413);
    assert.equal(await errcode(r3), 'M_TOO_LARGE');
  });
});

test('partial uploads abandoned by a crash are swept at start; recent ones are kept', async () => {
  const t = await startTestServer();
  try {
    const tmp = join(t.config.dataDir, 'media', 'tmp');
    await mkdir(tmp, { recursive: true });
    const stale = join(tmp, 'abandoned.part');
    const fresh = join(tmp, 'recent.part');
    await writeFile(stale, Buffer.alloc(1024));
    await writeFile(fresh, Buffer.alloc(1024));
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    await t.restart();
    for (let i = 0; i < 50 && existsSync(stale); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(existsSync(stale), false, 'the abandoned file is removed');
    assert.equal(existsSync(fresh), true, 'a file written recently may be a live upload');
  } finally {
    await t.stop();
  }
});
