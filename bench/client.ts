// Client-Server API load benchmark against a real Lattice process on loopback. Prints one JSON
// document: sends/s at saturation (100 senders, one room), latency at a fixed 1,000 sends/s,
// /sync fan-out to 1,000 long-polling users, and the server's resident memory.
//
//   npm run bench:client [-- --users N --duration S --rounds R --phases a,b,c --profile]
//
// The server runs as its own process (bin/lattice.js start) on a fresh database: a new one on
// DATABASE_URL's server if that is set, else the embedded PostgreSQL. The bench, autocannon
// and the server share this machine's cores, so figures include the load generator's own cost.
import autocannon from 'autocannon';
import { mkdtemp, readdir } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { cpuBetween, cpuSnapshot, type CpuSnapshot } from './lib/cpu.js';
import { summariseProfile, type ProfileSummary } from './lib/cpuprofile.js';
import { BenchHttp, quantile, round, runPool } from './lib/http.js';
import { paced } from './lib/paced.js';
import { startServerProcess, type ServerProcess } from './lib/server-process.js';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '1000' },
    senders: { type: 'string', default: '100' },
    duration: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '10' },
    phases: { type: 'string', default: 'a,b,c' },
    profile: { type: 'boolean', default: false },
  },
});
const USERS = Number(args.users);
const SENDERS = Math.min(Number(args.senders), USERS);
const DURATION_S = Number(args.duration);
const RATE = Number(args.rate);
const ROUNDS = Number(args.rounds);
const PHASES = new Set(args.phases!.split(','));

const C = '/_matrix/client/v3';
const enc = encodeURIComponent;
const PASSWORD = 'bench password';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => process.stderr.write(`[bench:client ${((performance.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);
const T0 = performance.now();

interface User {
  userId: string;
  token: string;
  since?: string;
}

function latencySummary(xs: readonly number[]) {
  return { p50: round(quantile(xs, 0.5)), p90: round(quantile(xs, 0.9)), p99: round(quantile(xs, 0.99)), max: round(quantile(xs, 1)), samples: xs.length };
}

async function register(http: BenchHttp, username: string): Promise<User> {
  const first = await http.json<{ session: string }>('POST', `${C}/register`, undefined, { username, password: PASSWORD }, [401]);
  const done = await http.json<{ user_id: string; access_token: string }>('POST', `${C}/register`, undefined, {
    username,
    password: PASSWORD,
    initial_device_display_name: 'bench',
    auth: { type: 'm.login.dummy', session: first.body.session },
  });
  return { userId: done.body.user_id, token: done.body.access_token };
}

function sendPath(roomId: string, txnId: string): string {
  return `${C}/rooms/${enc(roomId)}/send/m.room.message/${enc(txnId)}`;
}

/** Closed-loop autocannon run: each connection sends as its own user with unique txn ids. */
async function autocannonSends(baseUrl: string, roomId: string, senders: User[], tag: string, opts: { durationS: number; connections: number; overallRate?: number }) {
  let nextClient = 0;
  const latencies: number[] = [];
  let finish!: (r: autocannon.Result) => void;
  let fail!: (e: Error) => void;
  const done = new Promise<autocannon.Result>((res, rej) => {
    finish = res;
    fail = rej;
  });
  const instance = autocannon({
    url: baseUrl,
    connections: opts.connections,
    duration: opts.durationS,
    ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
    timeout: 30,
    setupClient(client) {
      const c = nextClient++;
      const user = senders[c % senders.length]!;
      let n = 0;
      const headers = { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' };
      client.setRequests([
        {
          method: 'PUT',
          setupRequest: (req) => {
            n++;
            return { ...req, method: 'PUT', path: sendPath(roomId, `${tag}-${c}-${n}`), headers, body: JSON.stringify({ msgtype: 'm.text', body: `${tag} ${c} ${n}` }) };
          },
        },
      ]);
    },
  }, (err, result) => (err ? fail(err) : finish(result)));
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const r = await done;
  return {
    connections: opts.connections,
    duration_s: round(r.duration),
    sends_per_s: round(r['2xx'] / r.duration, 1),
    ok: r['2xx'],
    non_2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    latency_ms: latencySummary(latencies),
  };
}

/** One fan-out round: every user long-polls, one message is sent, each sync's return is timed. */
async function fanoutRound(serverPid: number, syncHttp: BenchHttp, sendHttp: BenchHttp, users: User[], sender: User, roomId: string, filter: string, round: number) {
  const armed = await cpuSnapshot(serverPid);
  const arm = (u: User) => syncHttp.raw('GET', `${C}/sync?since=${enc(u.since!)}&timeout=30000&set_presence=offline&filter=${filter}`, u.token);
  const pending = users.map(arm);
  let early = 0;
  // Give every sync time to reach the server and start waiting; re-arm any that came back
  // early (something else woke them), so the measurement starts with all of them waiting.
  for (let attempt = 0; ; attempt++) {
    await sleep(attempt === 0 ? 1500 : 500);
    const settled = await Promise.all(pending.map((p) => Promise.race([p.then((r) => r), sleep(0).then(() => null)])));
    const back = settled.flatMap((r, i) => (r ? [i] : []));
    if (back.length === 0 || attempt >= 3) break;
    early += back.length;
    for (const i of back) {
      const r = settled[i]!;
      if (r.status === 200) users[i]!.since = (JSON.parse(r.body.toString('utf8')) as { next_batch: string }).next_batch;
      pending[i] = arm(users[i]!);
    }
  }
  const waiting = await cpuSnapshot(serverPid);
  const t0 = performance.now();
  const sent = await sendHttp.json<{ event_id: string }>('PUT', sendPath(roomId, `fanout-${round}`), sender.token, { msgtype: 'm.text', body: `fan-out ${round}` });
  const results = await Promise.all(pending);
  const returned = await cpuSnapshot(serverPid);
  const perSync: number[] = [];
  let missed = 0;
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    const body = r.body.toString('utf8');
    if (r.status !== 200) {
      missed++;
      continue;
    }
    const parsed = JSON.parse(body) as { next_batch: string; rooms?: { join?: Record<string, { timeline?: { events?: Array<{ event_id: string }> } }> } };
    users[i]!.since = parsed.next_batch;
    const got = parsed.rooms?.join?.[roomId]?.timeline?.events?.some((e) => e.event_id === sent.body.event_id);
    if (!got) missed++;
    perSync.push(r.endedAt - t0);
  }
  // Server CPU (ms) spent arming the syncs, and from the send until the last one returned.
  const cpuMs = (a: CpuSnapshot, b: CpuSnapshot) => ((b.server - a.server) * 1000) / 100;
  return { last_ms: Math.max(...perSync), perSync, missed, early, armCpuMs: cpuMs(armed, waiting), fanoutCpuMs: cpuMs(waiting, returned) };
}

let server: ServerProcess | undefined;
// Interrupted: stop the server process started here before exiting.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping the server`);
    void (server?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

async function main(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {
    bench: 'client',
    machine: { cpus: cpus().length, loadavg_at_start: loadavg().map((x) => round(x)), node: process.version },
    note: 'One shared 2-core machine: the load generators (autocannon, the paced sender, 1,000 sync clients) run in this process beside the server and its PostgreSQL, and other work may run at the same time; figures are noisy.',
  };
  const profileDir = args.profile ? await mkdtemp(join(tmpdir(), 'lattice-bench-prof-')) : undefined;
  let http: BenchHttp | undefined;
  let syncHttp: BenchHttp | undefined;
  try {
    server = await startServerProcess({
      config: {
        enable_registration: true,
        rate_limits: { login: null, login_failures: null, registration: null },
        // Cheap password hashes: registering 1,000 users is set-up, not what is measured.
        password_hashing: { ops_limit: 1, mem_limit_kib: 8, max_concurrent: 2 },
      },
      ...(profileDir ? { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
    });
    log(`server pid ${server.pid} on ${server.baseUrl} (${server.database})`);
    await sleep(2000);
    const rss: Record<string, number> = { startup_idle: round(await server.rssMiB(), 1) };

    http = new BenchHttp(server.port, 64);
    let t = performance.now();
    const users = await runPool(USERS, 8, (i) => register(http!, `u${i}`));
    const setup: Record<string, number> = { users: USERS, register_s: round((performance.now() - t) / 1000) };
    log(`registered ${USERS} users`);

    t = performance.now();
    const owner = users[0]!;
    const roomId = (await http.json<{ room_id: string }>('POST', `${C}/createRoom`, owner.token, { preset: 'public_chat', name: 'bench' })).body.room_id;
    await runPool(USERS - 1, 8, (i) => http!.json('POST', `${C}/join/${enc(roomId)}`, users[i + 1]!.token, {}));
    setup.join_s = round((performance.now() - t) / 1000);
    log(`${USERS} users joined ${roomId}`);
    out.setup = setup;
    await sleep(2000);
    rss.before_load = round(await server.rssMiB(), 1);

    const senders = users.slice(0, SENDERS);
    if (PHASES.has('a')) {
      await autocannonSends(server.baseUrl, roomId, senders, 'warm', { durationS: 2, connections: SENDERS });
      const c0 = await cpuSnapshot(server.pid);
      const sat = await autocannonSends(server.baseUrl, roomId, senders, 'sat', { durationS: DURATION_S, connections: SENDERS });
      out.saturation = { ...sat, cpu: cpuBetween(c0, await cpuSnapshot(server.pid)) };
      log(`saturation: ${JSON.stringify(out.saturation)}`);
    }

    if (PHASES.has('b')) {
      const sendHttp = new BenchHttp(server.port, 256);
      const counters = new Array<number>(senders.length).fill(0);
      const c0 = await cpuSnapshot(server.pid);
      const p = await paced(sendHttp, RATE, DURATION_S, (i) => {
        const u = i % senders.length;
        const n = ++counters[u]!;
        return { method: 'PUT', path: sendPath(roomId, `paced-${u}-${n}`), token: senders[u]!.token, body: { msgtype: 'm.text', body: `paced ${n}` } };
      });
      const cpu = cpuBetween(c0, await cpuSnapshot(server.pid));
      sendHttp.close();
      const { latencies, ...rest } = p;
      const burst = await autocannonSends(server.baseUrl, roomId, senders, 'rate', { durationS: Math.min(DURATION_S, 5), connections: SENDERS, overallRate: RATE });
      out.fixed_rate = {
        paced: { ...rest, achieved_rate: round(rest.achieved_rate, 1), max_schedule_lag_ms: round(rest.max_schedule_lag_ms), latency_ms: latencySummary(latencies), cpu },
        autocannon_overall_rate: {
          ...burst,
          note: "autocannon's overallRate gives each connection a per-second quota that it sends back to back, so this is bursts at saturation speed, not a steady rate",
        },
      };
      log(`fixed rate: ${JSON.stringify(out.fixed_rate)}`);
    }

    // Sends autocannon abandoned at the end of its run may still be committing: let them land
    // so that they do not wake the first round of syncs.
    await sleep(1000);

    if (PHASES.has('c') && ROUNDS > 0) {
      syncHttp = new BenchHttp(server.port, USERS + 16);
      const sendHttp = new BenchHttp(server.port, 4);
      const filter = enc(JSON.stringify({ room: { timeline: { limit: 5 }, state: { lazy_load_members: true } }, presence: { not_types: ['*'] } }));
      t = performance.now();
      await runPool(USERS, 16, async (i) => {
        const r = await http!.json<{ next_batch: string }>('GET', `${C}/sync?timeout=0&set_presence=offline&filter=${filter}`, users[i]!.token);
        users[i]!.since = r.body.next_batch;
      });
      setup.initial_syncs_s = round((performance.now() - t) / 1000);
      log('initial syncs done');
      const lasts: number[] = [];
      const perSync: number[] = [];
      let missed = 0;
      let early = 0;
      const armCpu: number[] = [];
      const fanCpu: number[] = [];
      const c0 = await cpuSnapshot(server.pid);
      for (let r = 0; r < ROUNDS; r++) {
        const res = await fanoutRound(server.pid, syncHttp, sendHttp, users, owner, roomId, filter, r);
        lasts.push(res.last_ms);
        perSync.push(...res.perSync);
        missed += res.missed;
        early += res.early;
        armCpu.push(res.armCpuMs);
        fanCpu.push(res.fanoutCpuMs);
        log(`fan-out round ${r}: last ${res.last_ms.toFixed(1)} ms, missed ${res.missed}, early ${res.early}, server cpu arm ${res.armCpuMs} ms, fan-out ${res.fanoutCpuMs} ms`);
      }
      sendHttp.close();
      out.fanout = {
        users: USERS,
        rounds: ROUNDS,
        last_return_ms: { p50: round(quantile(lasts, 0.5)), p99: round(quantile(lasts, 0.99)), all: lasts.map((x) => round(x, 1)) },
        per_sync_ms: latencySummary(perSync),
        missed,
        early_returns_rearmed: early,
        cpu_over_all_rounds: cpuBetween(c0, await cpuSnapshot(server.pid)),
        // /proc CPU ticks are 10 ms: medians over the rounds.
        server_cpu_ms_per_round: { arming_1000_syncs: quantile(armCpu, 0.5), send_until_last_return: quantile(fanCpu, 0.5) },
      };
    }

    await sleep(5000);
    rss.after_load = round(await server.rssMiB(), 1);
    out.rss_mib = rss;

    const sat = out.saturation as { sends_per_s: number } | undefined;
    const fixed = (out.fixed_rate as { paced: { latency_ms: { p50: number; p99: number } } } | undefined)?.paced.latency_ms;
    const fan = out.fanout as { last_return_ms: { p99: number }; per_sync_ms: { p99: number } } | undefined;
    out.targets = {
      saturation_ge_2000_sends_per_s: sat ? sat.sends_per_s >= 2000 : null,
      fixed_rate_p50_le_3ms: fixed ? fixed.p50 <= 3 : null,
      fixed_rate_p99_le_15ms: fixed ? fixed.p99 <= 15 : null,
      fanout_per_sync_p99_le_100ms: fan ? fan.per_sync_ms.p99 <= 100 : null,
      fanout_last_return_p99_le_100ms: fan ? fan.last_return_ms.p99 <= 100 : null,
      idle_rss_le_80mb: rss.startup_idle! <= 80,
      idle_rss_after_load_le_80mb: rss.after_load! <= 80,
    };
  } catch (e) {
    out.error = (e as Error).stack ?? String(e);
    if (server) out.server_output = server.output();
  } finally {
    syncHttp?.close();
    http?.close();
    await server?.stop();
  }
  if (profileDir) {
    const files = (await readdir(profileDir)).filter((f) => f.endsWith('.cpuprofile'));
    const summaries: ProfileSummary[] = [];
    for (const f of files) summaries.push(await summariseProfile(join(profileDir, f)));
    out.server_profile = summaries;
  }
  (out.machine as Record<string, unknown>).loadavg_at_end = loadavg().map((x) => round(x));
  out.elapsed_s = round((performance.now() - T0) / 1000, 1);
  return out;
}

main().then(
  (out) => {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    process.exit(out.error ? 1 : 0);
  },
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
