// A whole server for the client-data tests, like test/helpers/server.ts, that also hands the
// tests its ServerContext (to reach services and sync contributors directly) and offers
// registration and small room helpers over HTTP.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import uws from 'uWebSockets.js';
import { validateConfig, type ResolvedConfig } from '../../src/config/load.js';
import { loadOrCreateSigningKeys } from '../../src/crypto/signing-key.js';
import { Router } from '../../src/http/router.js';
import { HttpFrontEnd } from '../../src/http/server.js';
import { registerApi } from '../../src/api/index.js';
import { ServerKeys } from '../../src/services/server-keys.js';
import { closeContext, createContext } from '../../src/services/index.js';
import type { ServerContext } from '../../src/services/context.js';
import { openDatabase } from '../../src/storage/database.js';
import { createLogger } from '../../src/util/logger.js';
import { registerRooms } from '../../src/api/client/rooms.js';
import { registerRoomEvents } from '../../src/api/client/room-events.js';
import { registerSync } from '../../src/api/client/sync.js';
import { createTestDatabase } from '../helpers/database.js';
import { TestClient, registerUser, type Json } from '../helpers/client.js';

export interface Harness {
  baseUrl: string;
  config: ResolvedConfig;
  ctx: ServerContext;
  stop(): Promise<void>;
}

export async function startHarness(overrides: Record<string, unknown> = {}): Promise<Harness> {
  const dir = await mkdtemp(joinPath(tmpdir(), 'lattice-extras-'));
  const tdb = await createTestDatabase();
  const config = validateConfig(
    {
      server_name: 'test.local',
      log_level: process.env.LATTICE_TEST_LOG ?? 'silent',
      enable_registration: true,
      rate_limits: { login: null, login_failures: null, registration: null },
      password_hashing: { ops_limit: 1, mem_limit_kib: 8 },
      ...overrides,
    },
    dir,
    { DATABASE_URL: tdb.url },
  );
  const log = createLogger(config.log_level);
  const { keys } = await loadOrCreateSigningKeys(config.signingKeyPath);
  const serverKeys = new ServerKeys(config.server_name, keys, config.old_signing_keys, config.key_validity_ms);
  const db = await openDatabase(config, log);
  const ctx = await createContext(config, log, db.sql, serverKeys);
  const router = new Router();
  registerApi(router, ctx);
  // Room and sync endpoints, for as long as the API registry does not list them yet.
  if (!router.has('/_matrix/client/v3/createRoom')) registerRooms(router, ctx);
  if (!router.has('/_matrix/client/v3/rooms/x/send/m.room.message/t')) registerRoomEvents(router, ctx);
  if (!router.has('/_matrix/client/v3/sync')) registerSync(router, ctx);
  const fe = new HttpFrontEnd(router, log, { maxJsonBytes: config.max_json_body_bytes, maxRequestBytes: config.max_request_body_bytes });
  const port = await fe.listen(fe.attach(uws.App()), '127.0.0.1', 0);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    config,
    ctx,
    async stop() {
      await fe.close(2000);
      await closeContext(ctx);
      await db.close();
      await tdb.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function ok(r: { status: number; body: Json }, what = 'request'): Json {
  if (r.status !== 200) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function user(h: Harness, name: string): Promise<TestClient> {
  return registerUser(h.baseUrl, name);
}

export async function createRoom(c: TestClient, body: Record<string, unknown> = {}): Promise<string> {
  return ok(await c.post('/createRoom', body), 'createRoom').room_id as string;
}

export async function join(c: TestClient, roomId: string): Promise<void> {
  ok(await c.post(`/rooms/${encodeURIComponent(roomId)}/join`, {}), 'join');
}

export async function send(c: TestClient, roomId: string, content: Record<string, unknown> = { msgtype: 'm.text', body: 'hi' }, type = 'm.room.message'): Promise<string> {
  const txn = `t${Math.random().toString(36).slice(2)}`;
  return ok(await c.put(`/rooms/${encodeURIComponent(roomId)}/send/${type}/${txn}`, content), 'send').event_id as string;
}

export async function sync(c: TestClient, since?: string, extra = ''): Promise<Json> {
  const q = since ? `?since=${encodeURIComponent(since)}&timeout=0${extra}` : `?timeout=0${extra}`;
  return ok(await c.get(`/sync${q}`), 'sync');
}
