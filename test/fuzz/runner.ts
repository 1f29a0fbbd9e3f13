// Runs the route fuzzer against a real test server: builds a fixture of valid values through the
// API, walks the server's own route table, sends each route's variants and checks, per request,
// no 5xx, no hang and (for refused requests) no change of the database's state; per route, that
// the server still answers and its memory stays bounded.
import type { Route } from '../../src/http/router.js';
import { Rng } from '../../src/util/rng.js';
import { login, registerUser, TestClient } from '../helpers/client.js';
import { OPEN_REGISTRATION, startTestServer, type TestServer } from '../helpers/server.js';
import { buildRequest, variantGenerators, type Fixture, type JValue, type Variant } from './engine.js';
import { StateProbe, type Digest } from './state.js';

export interface Finding {
  /** 5xx, hang (no answer in time), crash (the server stopped answering), state-changed, memory. */
  kind: '5xx' | 'hang' | 'crash' | 'state-changed' | 'memory';
  route: string;
  method: string;
  cls: string;
  input: { url: string; body?: string };
  status?: number;
  body?: string;
  tables?: string[];
}

/** Not failures, but worth a look: the server dropped the connection and kept running. */
export interface Note {
  kind: 'dropped';
  route: string;
  cls: string;
  error: string;
}

export interface FuzzOptions {
  seed: number;
  /** Variants per route per pass. */
  perRoute: number;
  /** Passes over the route table; or a deadline. */
  passes?: number;
  durationMs?: number;
  /** Only routes whose "METHOD pattern" contains this. */
  filter?: string;
  /** Also the /r0 aliases of /v3 routes (same handlers). */
  includeAliases?: boolean;
  /** Allowed RSS growth over the start, in MB. */
  maxRssGrowthMb?: number;
  requestTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface FuzzReport {
  seed: number;
  routes: number;
  requests: number;
  statusCounts: Record<string, number>;
  maxRssMb: number;
  startRssMb: number;
  findings: Finding[];
  notes: Note[];
}

const PASSWORD = 'fuzz-password-1';
const excerpt = (s: string | Buffer | undefined, n = 300) => {
  if (s === undefined) return undefined;
  const t = typeof s === 'string' ? s : s.toString('latin1');
  return t.length > n ? `${t.slice(0, n)}…(${t.length} chars)` : t;
};
const rssMb = () => Math.round(process.memoryUsage().rss / 1048576);

/** The valid values the variants start from, created through the API. */
class ApiFixture implements Fixture {
  counter = 0;
  constructor(
    readonly alice: TestClient,
    readonly bob: TestClient,
    readonly v: { roomId: string; alias: string; eventId: string; filterId: string; mediaId: string; device2: string },
  ) {}

  param(name: string, route: Route): string {
    const { v } = this;
    switch (name) {
      case 'userId':
        return this.alice.userId!;
      case 'roomId':
        return v.roomId;
      case 'roomIdOrAlias':
        return this.counter % 2 ? v.alias : v.roomId;
      case 'roomAlias':
        return v.alias;
      case 'eventId':
        return v.eventId;
      case 'eventType':
        return route.pattern.includes('/state/') ? 'org.fuzz.state' : 'org.fuzz.event';
      case 'stateKey':
        return 'k';
      case 'txnId':
        return `fz${++this.counter}`;
      case 'type':
        return 'org.fuzz.data';
      case 'tag':
        return 'u.fuzz';
      case 'keyName':
        return 'displayname';
      case 'filterId':
        return v.filterId;
      case 'receiptType':
        return 'm.read';
      case 'deviceId':
        return v.device2;
      case 'serverName':
        return 'test.local';
      case 'mediaId':
        return v.mediaId;
      case 'fileName':
        return 'f.bin';
      case 'kind':
        return 'override';
      case 'ruleId':
        return 'fuzz.rule';
      default:
        return 'x';
    }
  }

  body(route: Route): JValue | undefined {
    const p = route.pattern.replace(/^\/_matrix\/client\/(v3|r0)/, '');
    const { v } = this;
    const alice = this.alice.userId!;
    const bob = this.bob.userId!;
    const n = ++this.counter;
    if (p.startsWith('/rooms/{roomId}/send/')) return { msgtype: 'm.text', body: 'fuzz' };
    if (p.startsWith('/rooms/{roomId}/state/')) return { k: 'v', n: 1 };
    if (p.startsWith('/pushrules/global/{kind}/{ruleId}/enabled')) return { enabled: true };
    if (p.startsWith('/pushrules/global/{kind}/{ruleId}/actions')) return { actions: ['notify'] };
    if (p.startsWith('/pushrules/global/{kind}/{ruleId}')) return { actions: ['notify'], conditions: [{ kind: 'event_match', key: 'content.body', pattern: 'x' }] };
    const bodies: Record<string, JValue> = {
      '/createRoom': { name: 'fuzz', topic: 't', preset: 'private_chat', room_alias_name: `fz${n}`, invite: [bob], initial_state: [{ type: 'org.fuzz', state_key: '', content: { a: 1 } }], creation_content: {}, power_level_content_override: {} },
      '/rooms/{roomId}/redact/{eventId}/{txnId}': { reason: 'r' },
      '/rooms/{roomId}/invite': { user_id: bob, reason: 'r' },
      '/rooms/{roomId}/kick': { user_id: bob, reason: 'r' },
      '/rooms/{roomId}/ban': { user_id: bob, reason: 'r' },
      '/rooms/{roomId}/unban': { user_id: bob, reason: 'r' },
      '/rooms/{roomId}/join': { reason: 'r' },
      '/join/{roomIdOrAlias}': { reason: 'r' },
      '/knock/{roomIdOrAlias}': { reason: 'r' },
      '/rooms/{roomId}/leave': { reason: 'r' },
      '/rooms/{roomId}/forget': {},
      '/rooms/{roomId}/receipt/{receiptType}/{eventId}': { thread_id: 'main' },
      '/rooms/{roomId}/read_markers': { 'm.fully_read': v.eventId, 'm.read': v.eventId },
      '/rooms/{roomId}/typing/{userId}': { typing: true, timeout: 30000 },
      '/presence/{userId}/status': { presence: 'online', status_msg: 'hi' },
      '/profile/{userId}/{keyName}': { displayname: 'Alice' },
      '/user/{userId}/account_data/{type}': { k: 'v' },
      '/user/{userId}/rooms/{roomId}/account_data/{type}': { k: 'v' },
      '/user/{userId}/rooms/{roomId}/tags/{tag}': { order: 0.5 },
      '/user/{userId}/filter': { room: { timeline: { limit: 10, types: ['m.room.message'] } }, event_fields: ['type'] },
      '/sendToDevice/{eventType}/{txnId}': { messages: { [bob]: { '*': { k: 'v' } } } },
      '/keys/upload': { one_time_keys: { 'signed_curve25519:AAAA': { key: 'k', signatures: { [alice]: { 'ed25519:X': 's' } } } } },
      '/keys/query': { device_keys: { [alice]: [], [bob]: [] }, timeout: 1000 },
      '/keys/claim': { one_time_keys: { [alice]: { [v.device2]: 'signed_curve25519' } } },
      '/keys/device_signing/upload': { master_key: { user_id: alice, usage: ['master'], keys: { 'ed25519:K': 'K' } } },
      '/keys/signatures/upload': { [alice]: { [v.device2]: { user_id: alice, device_id: v.device2, algorithms: [], keys: {}, signatures: {} } } },
      '/devices/{deviceId}': { display_name: 'd' },
      '/delete_devices': { devices: [v.device2] },
      '/directory/room/{roomAlias}': { room_id: v.roomId },
      '/directory/list/room/{roomId}': { visibility: 'public' },
      '/publicRooms': { limit: 10, filter: { generic_search_term: 'fuzz' }, since: '' },
      // A wrong password: the login is refused, and makes no device.
      '/login': { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'wrong', device_id: 'FZ' },
      '/register': { username: `fz${n}`, password: PASSWORD, auth: { type: 'm.login.dummy' } },
      '/account/password': { new_password: PASSWORD, logout_devices: false },
      '/account/deactivate': { erase: false },
      '/_synapse/admin/v1/register': { nonce: 'n', username: `fzs${n}`, password: PASSWORD, mac: '00', admin: false },
    };
    return bodies[p];
  }

  query(route: Route): [string, string][] {
    const p = route.pattern;
    if (p.endsWith('/sync')) return [['timeout', '0']];
    if (p.endsWith('/messages')) return [['dir', 'b'], ['limit', '5']];
    if (p.includes('/thumbnail/')) return [['width', '32'], ['height', '32'], ['timeout_ms', '0']];
    if (p.includes('/download/')) return [['timeout_ms', '0']];
    if (p.endsWith('/register/available')) return [['username', 'fzfree']];
    if (p.endsWith('/keys/changes')) return [['from', 's0_0'], ['to', 's1_0']];
    return [];
  }
}

async function buildFixture(baseUrl: string): Promise<ApiFixture> {
  const ok = (r: { status: number; body: unknown }, what: string) => {
    if (r.status !== 200) throw new Error(`fuzz fixture: ${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as Record<string, string>;
  };
  const alice = await registerUser(baseUrl, 'alice', PASSWORD);
  const bob = await registerUser(baseUrl, 'bob', PASSWORD);
  const second = await login(baseUrl, 'alice', PASSWORD);
  // A public room, so that alice can join again when a fuzzed request made her leave.
  const room = ok(await alice.post('/createRoom', { preset: 'public_chat', room_alias_name: 'fuzz', name: 'fuzz' }), 'createRoom');
  const roomId = room.room_id!;
  const r = encodeURIComponent(roomId);
  ok(await bob.post(`/rooms/${r}/join`, {}), 'join');
  const eventId = ok(await alice.put(`/rooms/${r}/send/m.room.message/fx1`, { msgtype: 'm.text', body: 'hello' }), 'send').event_id!;
  ok(await alice.put(`/rooms/${r}/state/org.fuzz.state/k`, { k: 'v' }), 'state');
  const filterId = ok(await alice.post(`/user/${encodeURIComponent(alice.userId!)}/filter`, { room: { timeline: { limit: 5 } } }), 'filter').filter_id!;
  const up = await fetch(`${baseUrl}/_matrix/media/v3/upload?filename=f.bin`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${alice.accessToken}`, 'Content-Type': 'application/octet-stream' },
    body: Buffer.from('fuzz media'),
  });
  const uri = ((await up.json()) as { content_uri: string }).content_uri;
  const mediaId = uri.split('/').pop()!;
  ok(await alice.put('/pushrules/global/override/fuzz.rule', { actions: ['notify'], conditions: [] }), 'push rule');
  return new ApiFixture(alice, bob, { roomId, alias: room.room_alias ?? '#fuzz:test.local', eventId, filterId, mediaId, device2: second.deviceId! });
}

/** Picks `n` generators, round-robin over the input families so each family gets its turn. */
function sample<T extends { cls: string }>(gens: T[], n: number, rng: Rng): T[] {
  const families = new Map<string, T[]>();
  for (const g of gens) {
    const parts = g.cls.split(':');
    // token:*, query:*: one family each; param:<name>:*, body:<kind>:*, schema:<kind>:*: one per name/kind.
    const fam = parts[0] === 'token' || parts[0] === 'query' ? parts[0] : parts.slice(0, 2).join(':');
    let l = families.get(fam);
    if (!l) families.set(fam, (l = []));
    l.push(g);
  }
  const pools = [...families.values()];
  const out: T[] = [];
  for (let round = 0; out.length < n && pools.some((p) => p.length); round++) {
    for (const p of pools) {
      if (out.length >= n) break;
      if (p.length) out.push(p.splice(rng.int(p.length), 1)[0]!);
    }
  }
  return out;
}

export async function fuzzServer(t: TestServer, opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => {});
  const rng = new Rng(opts.seed);
  const timeoutMs = opts.requestTimeoutMs ?? 10_000;
  const fx = await buildFixture(t.baseUrl);
  const probe = await StateProbe.open(t.config.databaseUrl!);
  const report: FuzzReport = { seed: opts.seed, routes: 0, requests: 0, statusCounts: {}, maxRssMb: rssMb(), startRssMb: rssMb(), findings: [], notes: [] };
  const bound = report.startRssMb + (opts.maxRssGrowthMb ?? 512);
  let routes = t.server.routes().filter((r) => opts.includeAliases || !r.pattern.startsWith('/_matrix/client/r0/'));
  if (opts.filter) routes = routes.filter((r) => `${r.method} ${r.pattern}`.includes(opts.filter!));
  report.routes = routes.length;

  const alive = async () => {
    try {
      const r = await fetch(`${t.baseUrl}/_matrix/client/versions`, { signal: AbortSignal.timeout(5000) });
      await r.arrayBuffer();
      return r.status === 200;
    } catch {
      return false;
    }
  };

  // After a request that succeeded, put back what the fixture relies on: alice's session, her
  // membership of the room, the room's alias.
  const repair = async () => {
    const { alice, v } = fx;
    if ((await alice.get('/account/whoami')).status === 401) {
      const fresh = await login(t.baseUrl, 'alice', PASSWORD);
      alice.accessToken = fresh.accessToken;
      alice.deviceId = fresh.deviceId;
    }
    const joined = (await alice.get('/joined_rooms')).body?.joined_rooms as string[] | undefined;
    if (joined && !joined.includes(v.roomId)) await alice.post(`/rooms/${encodeURIComponent(v.roomId)}/join`, {});
    const a = encodeURIComponent(v.alias);
    if ((await alice.get(`/directory/room/${a}`)).status === 404) await alice.put(`/directory/room/${a}`, { room_id: v.roomId });
  };

  let before: Digest | undefined;
  const deadline = opts.durationMs !== undefined ? Date.now() + opts.durationMs : undefined;
  const passes = opts.passes ?? 1;
  let stop = false;
  try {
    for (let pass = 0; !stop && (deadline !== undefined ? Date.now() < deadline : pass < passes); pass++) {
      for (const route of routes) {
        if (stop || (deadline !== undefined && Date.now() >= deadline)) break;
        const name = `${route.method} ${route.pattern}`;
        const gens = variantGenerators(route, fx);
        for (const g of sample(gens, opts.perRoute, rng)) {
          const v: Variant = g.make(rng);
          const { url, headers } = buildRequest(route, v, { own: fx.alice.accessToken!, other: fx.bob.accessToken! });
          const input = { url: excerpt(url)!, ...(v.body !== undefined ? { body: excerpt(v.body)! } : {}) };
          before ??= await probe.digest();
          report.requests++;
          let status: number;
          let text: string;
          try {
            const withBody = route.method !== 'GET' && route.method !== 'HEAD' && v.body !== undefined;
            const res = await fetch(t.baseUrl + url, { method: route.method, headers, ...(withBody ? { body: v.body } : {}), signal: AbortSignal.timeout(timeoutMs) });
            status = res.status;
            text = await res.text();
          } catch (e) {
            const err = e as Error;
            if (err.name === 'TimeoutError') {
              report.findings.push({ kind: 'hang', route: name, method: route.method, cls: v.cls, input });
            } else if (!(await alive())) {
              report.findings.push({ kind: 'crash', route: name, method: route.method, cls: v.cls, input, body: String(err.cause ?? err) });
              stop = true;
              break;
            } else {
              report.notes.push({ kind: 'dropped', route: name, cls: v.cls, error: String((err.cause as Error | undefined)?.message ?? err.message) });
            }
            before = undefined;
            continue;
          }
          report.statusCounts[status] = (report.statusCounts[status] ?? 0) + 1;
          if (process.env.FUZZ_TRACE) log(`${status} ${name} ${v.cls} ${excerpt(text, 120)}`);
          if (status >= 500) {
            report.findings.push({ kind: '5xx', route: name, method: route.method, cls: v.cls, input, status, body: excerpt(text, 500)! });
            log(`5xx ${status} ${name} ${v.cls} ${excerpt(text, 200)}`);
          }
          if (status >= 400 && status < 500) {
            let after = await probe.digest();
            let tables = StateProbe.diff(before, after);
            if (tables.length) {
              // Some writes land just after their request answered (device list changes after a
              // login by repair()): settle, then send the same request again; only a change it
              // makes again is the refusal's.
              await new Promise((r) => setTimeout(r, 200));
              const again = await probe.digest();
              const res = await fetch(t.baseUrl + url, { method: route.method, headers, ...(route.method !== 'GET' && v.body !== undefined ? { body: v.body } : {}), signal: AbortSignal.timeout(timeoutMs) });
              await res.arrayBuffer();
              after = await probe.digest();
              tables = res.status >= 400 && res.status < 500 ? StateProbe.diff(again, after) : [];
              if (tables.length) report.findings.push({ kind: 'state-changed', route: name, method: route.method, cls: v.cls, input, status, body: excerpt(text, 300)!, tables });
            }
            before = after;
          } else {
            before = undefined;
            if (status < 300) await repair();
          }
        }
        if (stop) break;
        if (!(await alive())) {
          report.findings.push({ kind: 'crash', route: name, method: route.method, cls: 'after-route', input: { url: route.pattern } });
          stop = true;
          break;
        }
        const rss = rssMb();
        report.maxRssMb = Math.max(report.maxRssMb, rss);
        if (rss > bound) {
          report.findings.push({ kind: 'memory', route: name, method: route.method, cls: 'after-route', input: { url: route.pattern }, body: `rss ${rss} MB > bound ${bound} MB` });
          stop = true;
        }
        log(`${name}: ${report.requests} requests, rss ${rss} MB`);
      }
    }
  } finally {
    await probe.close();
  }
  return report;
}

/** One line per finding, for assertion messages and logs. */
export function summarize(findings: Finding[]): string {
  return findings.map((f) => `${f.kind} ${f.status ?? ''} ${f.route} ${f.cls}${f.tables ? ` tables=${f.tables.join(',')}` : ''} ${f.body ?? ''}`.slice(0, 400)).join('\n');
}

/** A test server set up for fuzzing: open registration, cheap hashes, shared-secret registration. */
export function startFuzzServer(): Promise<TestServer> {
  return startTestServer({
    ...OPEN_REGISTRATION,
    password_hashing: { ops_limit: 1, mem_limit_kib: 8 },
    registration_shared_secret: 'fuzz-shared-secret',
  });
}
