// Client-Server API load benchmark against a real Lattice process on loopback. Prints one JSON
// document: sends/s at saturation (100 senders, one room), latency at a fixed 1,000 sends/s,
// /sync fan-out to 1,000 long-polling users, fan-out at scale (phase d: every user with
// --devices devices, --history events in the room, then 1,000 and 10,000 long-polls woken by
// one message), and the server's resident memory.
//
//   npm run bench:client [-- --users N --duration S --rounds R --phases a,b,c,d --profile]
//   npm run bench:client -- --phases d [--devices 10 --history 40000 --fanout-syncs 1000,10000 --fanout-rounds 10]
//
// Phase d holds one socket per long-poll: the bench process needs --fanout-syncs' largest
// count + 512 open files (ulimit -n), and checks before it starts. With --profile, the summary
// server_profile_fanout_at_scale covers only the largest fan-out's rounds (send → last return).
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
import { getRequest, LongPollers, openFileLimit, within, type PollResult } from './lib/longpoll.js';
import { paced } from './lib/paced.js';
import { startServerProcess, type ServerProcess } from './lib/server-process.js';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '1000' },
    senders: { type: 'string', default: '100' },
    duration: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '10' },
    phases: { type: 'string', default: 'a,b,c,d' },
    // Phase d, fan-out at scale: devices per user, events of history, and the sync counts measured.
    devices: { type: 'string', default: '10' },
    history: { type: 'string', default: '40000' },
    'fanout-syncs': { type: 'string', default: '1000,10000' },
    'fanout-rounds': { type: 'string', default: '10' },
    profile: { type: 'boolean', default: false },
    // Extra node flags for the server process, space-separated (e.g. GC experiments).
    'server-node-flags': { type: 'string', default: '' },
  },
});
const USERS = Number(args.users);
const SENDERS = Math.min(Number(args.senders), USERS);
const DURATION_S = Number(args.duration);
const RATE = Number(args.rate);
const ROUNDS = Number(args.rounds);
const PHASES = new Set(args.phases!.split(','));
const DEVICES = Number(args.devices);
const HISTORY = Number(args.history);
const FANOUT_SYNCS = args['fanout-syncs']!.split(',').map(Number);
const FANOUT_ROUNDS = Number(args['fanout-rounds']);

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

/** The fan-out rounds at the largest sync count (CLOCK_MONOTONIC µs): what the profile summary covers. */
const profileWindows: Array<[number, number]> = [];

/** next_batch of a sync response body, found without parsing the rest. */
function nextBatchOf(body: Buffer): string | undefined {
  const key = '"next_batch":"';
  const at = body.indexOf(key);
  if (at < 0) return undefined;
  const end = body.indexOf('"', at + key.length);
  return body.toString('latin1', at + key.length, end);
}

async function serverTicks(pid: number): Promise<number> {
  return (await cpuSnapshot(pid)).server;
}

/**
 * Phase d: fan-out at scale. USERS users with DEVICES devices each, one room with HISTORY
 * events, then rounds of: N devices long-poll (each with its own since token), one message is
 * sent, and each poll's return is timed.
 */
async function fanoutAtScale(server: ServerProcess, http: BenchHttp, users: User[], roomId: string, setup: Record<string, number>) {
  const maxSyncs = Math.max(...FANOUT_SYNCS);
  const fdLimit = openFileLimit();
  if (fdLimit < maxSyncs + 512) throw new Error(`phase d needs ${maxSyncs + 512} open files, the limit is ${fdLimit}: raise it with ulimit -n`);
  // Device d of user u is devices[d * USERS + u]: the first USERS devices are one per user.
  let t = performance.now();
  const devices: User[] = users.map((u) => ({ ...u }));
  const extra = await runPool(USERS * (DEVICES - 1), 16, async (i) => {
    const u = users[i % USERS]!;
    const r = await http.json<{ access_token: string }>('POST', `${C}/login`, undefined, {
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: u.userId },
      password: PASSWORD,
    });
    return { userId: u.userId, token: r.body.access_token };
  });
  devices.push(...extra);
  setup.devices = devices.length;
  setup.login_s = round((performance.now() - t) / 1000);
  log(`${devices.length} devices logged in`);

  // History: many concurrent senders, so the room's single writer batches them.
  t = performance.now();
  const histHttp = new BenchHttp(server.port, 128);
  const senders = users.slice(0, Math.min(USERS, 200));
  await runPool(HISTORY, 128, (i) => histHttp.json('PUT', sendPath(roomId, `hist-${i}`), senders[i % senders.length]!.token, { msgtype: 'm.text', body: `history ${i}` }));
  histHttp.close();
  setup.history_events = HISTORY;
  setup.history_s = round((performance.now() - t) / 1000);
  log(`${HISTORY} events of history sent`);
  await sleep(1000);

  const filter = enc(JSON.stringify({ room: { timeline: { limit: 5 }, state: { lazy_load_members: true } }, presence: { not_types: ['*'] } }));
  const syncers = devices.slice(0, maxSyncs);
  t = performance.now();
  await runPool(syncers.length, 16, async (i) => {
    const r = await http.json<{ next_batch: string }>('GET', `${C}/sync?timeout=0&set_presence=offline&filter=${filter}`, syncers[i]!.token);
    syncers[i]!.since = r.body.next_batch;
  });
  setup.phase_d_initial_syncs_s = round((performance.now() - t) / 1000);
  log(`${syncers.length} initial syncs done`);

  const pollers = await LongPollers.open(server.port, syncers.length);
  const sendHttp = new BenchHttp(server.port, 2);
  const sender = users[0]!;
  const request = (d: User) => getRequest(server.port, `${C}/sync?since=${enc(d.since!)}&timeout=60000&set_presence=offline&filter=${filter}`, d.token);
  const results: Record<string, unknown> = {};
  let roundNo = 0;
  try {
    for (const n of FANOUT_SYNCS) {
      const lasts: number[] = [];
      const p50s: number[] = [];
      const benchCpu: number[] = [];
      const serverCpu: number[] = [];
      const sendMs: number[] = [];
      let missed = 0;
      let early = 0;
      let warmup: number | undefined;
      // Round -1 warms up (the first fan-out at a size runs colder code): reported, not counted.
      for (let r = -1; r < FANOUT_ROUNDS; r++, roundNo++) {
        const pending: Array<Promise<PollResult>> = [];
        for (let i = 0; i < n; i++) pending.push(pollers.send(i, request(syncers[i]!)));
        // Every poll is waiting once the server's CPU goes quiet; a poll that came back early
        // (something else woke it) is re-armed from its new token.
        let prev = await serverTicks(server.pid);
        for (let k = 0; k < 60; k++) {
          await sleep(300);
          let rearmed = 0;
          for (let i = 0; i < n; i++) {
            const got = pollers.returned(i);
            if (!got) continue;
            const nb = got.status === 200 ? nextBatchOf(got.body) : undefined;
            if (nb) syncers[i]!.since = nb;
            pending[i] = pollers.send(i, request(syncers[i]!));
            rearmed++;
          }
          early += rearmed;
          const now = await serverTicks(server.pid);
          if (k >= 2 && rearmed === 0 && now - prev <= 3) break;
          prev = now;
        }
        const s0 = await serverTicks(server.pid);
        const w0 = Number(process.hrtime.bigint() / 1000n);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const sent = await sendHttp.json<{ event_id: string }>('PUT', sendPath(roomId, `fanout-d-${roundNo}`), sender.token, { msgtype: 'm.text', body: `fan-out ${roundNo}` });
        sendMs.push(performance.now() - t0);
        const res = await within(Promise.all(pending), 90_000, `fan-out ${n}`);
        const cpu = process.cpuUsage(c0);
        if (n === maxSyncs) profileWindows.push([w0, Number(process.hrtime.bigint() / 1000n)]);
        const s1 = await serverTicks(server.pid);
        const times = res.map((x) => x.endedAt - t0);
        const id = Buffer.from(sent.body.event_id);
        for (let i = 0; i < n; i++) {
          const x = res[i]!;
          const nb = x.status === 200 ? nextBatchOf(x.body) : undefined;
          if (nb) syncers[i]!.since = nb;
          if (!nb || x.body.indexOf(id) < 0) missed++;
        }
        if (r < 0) {
          warmup = Math.max(...times);
          sendMs.pop();
          log(`fan-out ${n} warm-up: last ${warmup.toFixed(1)} ms`);
          continue;
        }
        lasts.push(Math.max(...times));
        p50s.push(quantile(times, 0.5));
        benchCpu.push((cpu.user + cpu.system) / 1000);
        serverCpu.push((s1 - s0) * 10);
        log(`fan-out ${n} round ${r}: last ${lasts.at(-1)!.toFixed(1)} ms, send ${sendMs.at(-1)!.toFixed(1)} ms, median sync ${p50s.at(-1)!.toFixed(1)} ms, bench cpu ${benchCpu.at(-1)!.toFixed(0)} ms, server cpu ${serverCpu.at(-1)} ms, missed ${missed}, early ${early}`);
      }
      results[`syncs_${n}`] = {
        syncs: n,
        rounds: FANOUT_ROUNDS,
        last_return_ms: { p50: round(quantile(lasts, 0.5)), p99: round(quantile(lasts, 0.99)), all: lasts.map((x) => round(x, 1)) },
        warmup_round_last_return_ms: warmup === undefined ? null : round(warmup, 1),
        median_sync_return_ms: { p50: round(quantile(p50s, 0.5)), p99: round(quantile(p50s, 0.99)) },
        // The PUT /send's own response time: the part of last_return_ms before any sync is woken.
        send_response_ms: { p50: round(quantile(sendMs, 0.5)), max: round(quantile(sendMs, 1)) },
        // CPU from the send until the last sync returned: the load generator's own (this
        // process, exact) and the server's (/proc ticks of 10 ms).
        bench_process_cpu_ms: { p50: round(quantile(benchCpu, 0.5)), max: round(quantile(benchCpu, 1)) },
        server_cpu_ms: { p50: quantile(serverCpu, 0.5), max: quantile(serverCpu, 1) },
        missed,
        early_returns_rearmed: early,
      };
    }
  } finally {
    pollers.close();
    sendHttp.close();
  }
  return { users: USERS, devices_per_user: DEVICES, history_events: HISTORY, ...results };
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
    note: 'One shared 2-core machine: the load generators (autocannon, the paced sender, the sync clients) run in this process beside the server and its PostgreSQL, and other work may run at the same time; figures are noisy.',
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
      nodeFlags: [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...args['server-node-flags']!.split(' ').filter(Boolean)],
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

    // After the idle-RSS reading: 10,000 devices' sessions and caches are not idle memory.
    if (PHASES.has('d')) {
      out.fanout_at_scale = await fanoutAtScale(server, http, users, roomId, setup);
      rss.after_fanout_at_scale = round(await server.rssMiB(), 1);
    }

    const sat = out.saturation as { sends_per_s: number } | undefined;
    const fixed = (out.fixed_rate as { paced: { latency_ms: { p50: number; p99: number } } } | undefined)?.paced.latency_ms;
    const fan = out.fanout as { last_return_ms: { p99: number }; per_sync_ms: { p99: number } } | undefined;
    const scale = (k: string, ms: number) => {
      const x = (out.fanout_at_scale as Record<string, { last_return_ms: { p99: number } }> | undefined)?.[k];
      return x ? x.last_return_ms.p99 <= ms : null;
    };
    out.targets = {
      saturation_ge_2000_sends_per_s: sat ? sat.sends_per_s >= 2000 : null,
      fixed_rate_p50_le_3ms: fixed ? fixed.p50 <= 3 : null,
      fixed_rate_p99_le_15ms: fixed ? fixed.p99 <= 15 : null,
      fanout_per_sync_p99_le_100ms: fan ? fan.per_sync_ms.p99 <= 100 : null,
      fanout_last_return_p99_le_100ms: fan ? fan.last_return_ms.p99 <= 100 : null,
      fanout_d_1000_syncs_last_return_p99_le_100ms: scale('syncs_1000', 100),
      fanout_d_10000_syncs_last_return_p99_le_500ms: scale('syncs_10000', 500),
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
    if (profileWindows.length) {
      const fan: ProfileSummary[] = [];
      for (const f of files) fan.push(await summariseProfile(join(profileDir, f), 40, profileWindows));
      out.server_profile_fanout_at_scale = fan;
    }
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
