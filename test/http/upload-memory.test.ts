// Stalled large uploads against the server as its own process: unauthenticated ones and ones
// past the in-flight cap are refused before their body is read, and authorised ones stream to
// disk, so resident memory stays near idle while they hang and after they are gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServerProcess, type ServerProcess } from '../../bench/lib/server-process.js';

const DECLARED = 49 * 1024 * 1024;
// Enough body per connection that buffering it all in memory would show in RSS (160 MB in all).
const SENT = 8 * 1024 * 1024;
let srv: ServerProcess;
let token: string;

before(async () => {
  srv = await startServerProcess({
    config: {
      enable_registration: true,
      rate_limits: { login: null, login_failures: null, registration: null },
      media: { max_uploads_in_flight_per_user: 2, max_uploads_in_flight: 4 },
    },
  });
  const r = await fetch(`${srv.baseUrl}/_matrix/client/v3/register`, {
    method: 'POST',
    body: JSON.stringify({ username: 'uploader', password: 'uploader-secret-1', auth: { type: 'm.login.dummy' } }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  token = ((await r.json()) as { access_token: string }).access_token;
});

after(async () => {
  await srv?.stop();
});

interface Stalled {
  socket: net.Socket;
  /** Everything the server wrote back. */
  reply: () => string;
  closed: Promise<void>;
}

/** Sends the headers of a 49 MB upload and 8 MB of its body, then sends nothing more. */
function stalledUpload(port: number, auth: string | null): Promise<Stalled> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('data', (d) => (reply += d.toString('latin1')));
    // A server that refuses resets the connection in the end, with the body still unsent.
    socket.on('error', () => {});
    socket.once('connect', () => {
      const head =
        `POST /_matrix/media/v3/upload?filename=big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Content-Type: application/octet-stream\r\nContent-Length: ${DECLARED}\r\n` +
        (auth ? `Authorization: Bearer ${auth}\r\n` : '') +
        '\r\n';
      socket.write(head);
      // Queued, not awaited: a server that does not read never lets this write finish.
      socket.write(Buffer.alloc(SENT, 7));
      resolve({ socket, reply: () => reply, closed });
    });
    socket.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('20 stalled 49 MB uploads keep resident memory within 100 MB of idle', async () => {
  // A first small upload warms up the upload path so idle includes it.
  const warm = await fetch(`${srv.baseUrl}/_matrix/media/v3/upload`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: 'warm' });
  assert.equal(warm.status, 200);
  await sleep(500);
  const idle = await srv.rssMiB();

  // All at once, well inside uWS's 10 s idle timeout, which ends the stalled ones in the end.
  const conns = await Promise.all([...Array(20).keys()].map((i) => stalledUpload(srv.port, i < 10 ? null : token)));
  await sleep(2000);
  const loaded = await srv.rssMiB();

  assert.ok(loaded - idle < 100, `RSS grew by ${(loaded - idle).toFixed(1)} MiB while stalled (idle ${idle.toFixed(1)})`);
  const unauth = conns.slice(0, 10);
  const authed = conns.slice(10);
  for (const c of unauth) assert.match(c.reply(), /^HTTP\/1\.1 401 /, 'an unauthenticated upload is refused at once');
  const refused = authed.filter((c) => /^HTTP\/1\.1 429 /.test(c.reply()));
  assert.equal(refused.length, 8, 'uploads past the per-user cap of 2 are refused at once');
  // Refused connections are closed (by the idle timeout when the client does not) without the
  // server reading their bodies.
  await Promise.all([...unauth, ...refused].map((c) => Promise.race([c.closed, sleep(15_000).then(() => assert.fail('refused connection left open'))])));

  for (const c of conns) c.socket.destroy();
  await sleep(1500);
  const after = await srv.rssMiB();
  assert.ok(after - idle < 100, `RSS stayed ${(after - idle).toFixed(1)} MiB above idle after the uploads closed`);

  // The slots are free again: a normal upload succeeds.
  const ok = await fetch(`${srv.baseUrl}/_matrix/media/v3/upload`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: 'after' });
  assert.equal(ok.status, 200);
});
