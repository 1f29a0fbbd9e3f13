// State resolution benchmark: Wasm kernels vs the TypeScript reference, printing one JSON
// document. Rooms of 1k/30k/100k members (create, creator join, power levels, join rules, each
// member's join) forked in two, the forks carrying 10/100/1,000 conflicted state events; and a
// 10,000-event "storm" of concurrent power-level, join-rule and membership changes from ten
// servers. The events are in an EventGraph already (a server's in-memory event store); what is
// timed is StateResolver.resolve over the forks' states.
import { pathToFileURL } from 'node:url';
import { checkAuth } from '../src/events/auth/index.js';
import type { PDU } from '../src/events/pdu.js';
import { EventGraph, StateResolver, newStats, resolveStateEntries, type ResolveStats, type StateNodes } from '../src/state/index.js';
import { Branch, RoomBuilder } from '../test/state/room-builder.js';
import { prng } from '../test/state/random-dag.js';

const SERVERS = 10;

const userId = (i: number): string => `@u${i}:s${i % SERVERS}.example`;

interface Workload {
  name: string;
  version: string;
  graph: EventGraph;
  sets: StateNodes[];
  events: number;
  stateSize: number;
  /** For the from-event-ids measurement. */
  room: RoomBuilder;
  branches: Branch[];
}

/** Levels of the set-up: the creator 100 (unless v12), the first user of each server 50. */
function setUp(r: RoomBuilder, members: number, mods: number[]): void {
  const m = r.main;
  m.join('IMA', r.creator, { unchecked: true });
  const users: Record<string, number> = r.version.privilegedCreators ? {} : { [r.creator]: 100 };
  for (const i of mods) users[userId(i)] = 50;
  m.powerLevels('IPOWER', r.creator, users, { ban: 50, kick: 50, invite: 0, state_default: 50 }, { unchecked: true });
  m.joinRules('IJR', r.creator, 'public', { unchecked: true });
  for (let i = 1; i < members; i++) m.join(`J${i}`, userId(i), { unchecked: true });
}

type Action = (b: Branch, name: string) => PDU | undefined;

/** Tries actions until one passes the auth rules on the branch; returns whether it did. */
function sendSome(r: RoomBuilder, b: Branch, name: string, actions: Action[], rnd: () => number): boolean {
  for (let attempt = 0; attempt < 20; attempt++) {
    const ev = actions[Math.floor(rnd() * actions.length)]!(b, name);
    if (ev && checkAuth(r.version, ev, b.lookup(), { createEvent: r.createEvent(), skipSignatureChecks: true }).allowed) {
      b.commit(ev);
      return true;
    }
  }
  return false;
}

/** The kinds of change each fork makes, weighted by repetition. */
function actions(r: RoomBuilder, rnd: () => number, members: number, mods: number[]): Action[] {
  const pickUser = (): string => userId(1 + Math.floor(rnd() * (members - 1)));
  const pickMod = (): string => (rnd() < 0.2 ? r.creator : userId(mods[Math.floor(rnd() * mods.length)]!));
  const membership = (b: Branch, u: string): unknown => {
    const id = b.get('m.room.member', u);
    return id ? r.events.get(id)!.content.membership : undefined;
  };
  const profile: Action = (b, name) => {
    const u = pickUser();
    return b.build(name, 'm.room.member', u, u, { membership: 'join', displayname: name });
  };
  const leaveOrRejoin: Action = (b, name) => {
    const u = pickUser();
    return b.build(name, 'm.room.member', u, u, { membership: membership(b, u) === 'join' ? 'leave' : 'join' });
  };
  const kickOrBan: Action = (b, name) =>
    b.build(name, 'm.room.member', pickMod(), pickUser(), { membership: rnd() < 0.5 ? 'ban' : 'leave' });
  const topic: Action = (b, name) => b.build(name, 'm.room.topic', pickMod(), '', { topic: name });
  const powerLevels: Action = (b, name) => {
    const current = r.events.get(b.get('m.room.power_levels')!)!.content;
    const users = { ...(current.users as Record<string, number>) };
    users[pickUser()] = [0, 10, 25][Math.floor(rnd() * 3)]!;
    return b.build(name, 'm.room.power_levels', r.creator, '', { ...current, users });
  };
  const joinRules: Action = (b, name) =>
    b.build(name, 'm.room.join_rules', pickMod(), '', { join_rule: rnd() < 0.5 ? 'public' : 'invite' });
  return [
    ...Array<Action>(9).fill(profile),
    ...Array<Action>(3).fill(leaveOrRejoin),
    ...Array<Action>(3).fill(kickOrBan),
    topic,
    topic,
    powerLevels,
    powerLevels,
    joinRules,
  ];
}

/** A room of `members` members forked in two, each fork carrying half the conflicted events. */
export function memberRoom(version: string, members: number, conflicted: number, seed: number): Workload {
  const rnd = prng(seed);
  const r = new RoomBuilder(version, userId(0));
  const mods = Array.from({ length: SERVERS - 1 }, (_, i) => i + 1);
  setUp(r, members, mods);
  const forks = [r.main.fork(), r.main.fork()];
  const acts = actions(r, rnd, members, mods);
  for (let i = 0; i < conflicted; i++) sendSome(r, forks[i % 2]!, `F${i}`, acts, rnd);
  const graph = new EventGraph(r.lookup);
  const sets = forks.map((b) => graph.snapshot(b.ids()));
  return { name: `${members} members`, version, graph, sets, events: r.events.size, stateSize: sets[0]!.length, room: r, branches: forks };
}

/**
 * The storm: ten servers' branches of a 200-member room each keep sending changes (mostly
 * power events: kicks, bans, power levels, join rules, and membership churn) and now and
 * then two of them merge through state resolution, until the room holds `total` events.
 */
export function stormRoom(version: string, total: number, seed: number): Workload {
  const rnd = prng(seed);
  const members = 200;
  const r = new RoomBuilder(version, userId(0));
  const mods = Array.from({ length: SERVERS - 1 }, (_, i) => i + 1);
  setUp(r, members, mods);
  let branches = Array.from({ length: SERVERS }, () => r.main.fork());
  const acts = actions(r, rnd, members, mods);
  const graph = new EventGraph(r.lookup);
  const merger = new StateResolver(version, graph);
  let n = 0;
  for (let round = 0; r.events.size < total; round++) {
    for (const b of branches) sendSome(r, b, `S${n++}`, acts, rnd);
    if (round % 4 === 3) {
      const i = Math.floor(rnd() * branches.length);
      const j = (i + 1 + Math.floor(rnd() * (branches.length - 1))) % branches.length;
      const a = branches[i]!;
      const b = branches[j]!;
      const entries = graph.entries(merger.resolve([graph.snapshot(a.ids()), graph.snapshot(b.ids())]));
      const state = new Map(entries.map(([t, k, id]) => [`${t}\u0000${k}`, id]));
      const merged = new Branch(r, state, [...a.head, ...b.head], Math.max(a.depth, b.depth));
      branches = branches.map((x, k) => (k === i ? merged : k === j ? merged.fork() : x));
    }
  }
  const sets = branches.map((b) => graph.snapshot(b.ids()));
  return { name: 'storm', version, graph, sets, events: r.events.size, stateSize: sets[0]!.length, room: r, branches };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

interface Runs {
  total: number[];
  graph: number[];
  auth: number[];
  stats: ResolveStats;
  result: StateNodes;
}

/**
 * Times Wasm and TypeScript resolutions of the workload, interleaved after a warm-up so that
 * neither benefits from running second (the auth rules are shared and JIT-warmed by both).
 */
function timeBoth(w: Workload, iterations: number): { wasm: Runs; ts: Runs } {
  const runs = {
    wasm: { total: [], graph: [], auth: [], stats: newStats(), result: new Int32Array(0) } as Runs,
    ts: { total: [], graph: [], auth: [], stats: newStats(), result: new Int32Array(0) } as Runs,
  };
  const once = (kernels: 'wasm' | 'ts', record: boolean): void => {
    const stats = newStats();
    const resolver = new StateResolver(w.version, w.graph, { kernels, stats });
    const t = performance.now();
    const result = resolver.resolve(w.sets);
    const ms = performance.now() - t;
    if (!record) return;
    const r = runs[kernels];
    r.total.push(ms);
    r.graph.push(stats.graphMs);
    r.auth.push(stats.authMs);
    r.stats = stats;
    r.result = result;
  };
  for (let i = 0; i < 3; i++) {
    once('wasm', false);
    once('ts', false);
  }
  for (let i = 0; i < iterations; i++) {
    once('wasm', true);
    once('ts', true);
  }
  return runs;
}

/** The first resolution on a graph the Wasm side has not seen (includes copying it in). */
function coldWasmMs(w: Workload): number {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const fresh = new EventGraph(w.room.lookup);
    const sets = w.branches.map((b) => fresh.snapshot(b.ids()));
    const t = performance.now();
    new StateResolver(w.version, fresh).resolve(sets);
    times.push(performance.now() - t);
  }
  return median(times);
}

/** resolveStateEntries from event ids and a lookup function: builds a graph per call. */
function fromIdsMs(w: Workload): number {
  const ids = w.branches.map((b) => b.ids());
  const t = performance.now();
  resolveStateEntries(w.version, ids, w.room.lookup);
  return performance.now() - t;
}

function measure(w: Workload, iterations: number): Record<string, unknown> {
  const { wasm, ts } = timeBoth(w, iterations);
  const same = wasm.result.length === ts.result.length && wasm.result.every((v, i) => v === ts.result[i]);
  if (!same) throw new Error(`${w.name}: Wasm and TypeScript results differ`);
  const s = wasm.stats;
  const authMs = median([...wasm.auth, ...ts.auth]);
  return {
    events: w.events,
    stateSets: w.sets.length,
    stateSize: w.stateSize,
    conflicted: s.conflicted,
    fullConflicted: s.fullConflicted,
    powerEvents: s.powerEvents,
    wasmMs: round2(median(wasm.total)),
    tsMs: round2(median(ts.total)),
    speedup: round2(median(ts.total) / median(wasm.total)),
    wasmGraphMs: round2(median(wasm.graph)),
    tsGraphMs: round2(median(ts.graph)),
    graphSpeedup: round2(median(ts.graph) / median(wasm.graph)),
    authChecks: s.authChecks,
    authMs: round2(authMs),
    authChecksPerSecond: Math.round(s.authChecks / (authMs / 1000)),
    wasmColdMs: round2(coldWasmMs(w)),
    fromEventIdsMs: round2(fromIdsMs(w)),
    resultsMatch: same,
  };
}

function main(): void {
  const started = performance.now();
  const rooms: Record<string, unknown>[] = [];
  for (const version of ['11', '12']) {
    for (const members of [1000, 30_000, 100_000]) {
      for (const forkEvents of [10, 100, 1000]) {
        const w = memberRoom(version, members, forkEvents, members + forkEvents);
        const iterations = members >= 100_000 ? 5 : 9;
        rooms.push({ roomVersion: version, members, forkEvents, ...measure(w, iterations) });
      }
    }
  }
  const storms = ['11', '12'].map((version) => ({ roomVersion: version, ...measure(stormRoom(version, 10_000, 7), 5) }));

  const at = (version: string, members: number, forkEvents: number): Record<string, unknown> =>
    rooms.find((x) => x.roomVersion === version && x.members === members && x.forkEvents === forkEvents)!;
  const worst = (xs: Record<string, unknown>[], f: string): number => Math.max(...xs.map((x) => x[f] as number));
  const big = rooms.filter((x) => (x.members as number) >= 30_000);
  const targets = {
    members30k_conflicted100_le_20ms: worst([at('11', 30_000, 100), at('12', 30_000, 100)], 'wasmMs') <= 20,
    members100k_conflicted1000_le_200ms: worst([at('11', 100_000, 1000), at('12', 100_000, 1000)], 'wasmMs') <= 200,
    storm_le_1s: worst(storms, 'wasmMs') <= 1000,
    wasm_ge_2x_ts_on_30k_and_100k_rooms: big.every((x) => (x.speedup as number) >= 2),
  };
  const doc = {
    benchmark: 'state resolution',
    node: process.version,
    note:
      'ms per StateResolver.resolve call (median; Wasm and TS runs interleaved after warm-up), events already in an ' +
      'EventGraph. *GraphMs: time in the graph kernels; authMs: time in the iterative auth checks (shared JS); ' +
      'wasmColdMs: first call on a graph new to the Wasm side; fromEventIdsMs: resolveStateEntries from event ids ' +
      'through a lookup function (builds a graph per call). Targets apply to both room versions.',
    rooms,
    storm: storms,
    targets,
    allTargetsMet: Object.values(targets).every(Boolean),
    totalSeconds: round2((performance.now() - started) / 1000),
  };
  process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
