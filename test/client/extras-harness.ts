// The client-data tests' server: test/helpers/server.ts plus its ServerContext (to reach services
// and sync contributors directly), and small registration and room helpers over HTTP.
import type { ResolvedConfig } from '../../src/config/load.js';
import type { ServerContext } from '../../src/services/context.js';
import { startTestServer, OPEN_REGISTRATION } from '../helpers/server.js';
import { TestClient, registerUser, type Json } from '../helpers/client.js';

export interface Harness {
  baseUrl: string;
  config: ResolvedConfig;
  ctx: ServerContext;
  stop(): Promise<void>;
}

/** A whole test server (test/helpers/server.ts) with open registration and cheap password hashes. */
export async function startHarness(overrides: Record<string, unknown> = {}): Promise<Harness> {
  const t = await startTestServer({ ...OPEN_REGISTRATION, password_hashing: { ops_limit: 1, mem_limit_kib: 8 }, ...overrides });
  return { baseUrl: t.baseUrl, config: t.config, ctx: t.server.context, stop: () => t.stop() };
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
