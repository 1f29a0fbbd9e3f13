// Random room DAGs from a fixed-seed PRNG: several users on several servers fork the room and
// race membership, power-level, join-rule and topic changes; every event passes the auth
// rules against the state of the branch it is sent on (as a real server would insist), and
// branches merge now and then through state resolution.
import { checkAuth } from '../../src/events/auth/index.js';
import { EventGraph, StateResolver } from '../../src/state/index.js';
import { Branch, RoomBuilder } from './room-builder.js';

import { prng } from '../../src/util/rng.js';

export { prng };

export const USERS = [
  '@alice:a.example',
  '@bob:b.example',
  '@carol:b.example',
  '@dan:c.example',
  '@erin:c.example',
  '@frank:d.example',
  '@grace:a.example',
];

export interface RandomRoom {
  room: RoomBuilder;
  tips: Branch[];
}

export interface RandomRoomOptions {
  /** Events to attempt after set-up (rejected attempts are dropped). */
  steps?: number;
  maxTips?: number;
  /** Chance per step of forking a tip. */
  forkRate?: number;
  /** Chance per step of merging two tips (through state resolution). */
  mergeRate?: number;
  /** Users (default: up to 7 of USERS); the first creates the room. */
  users?: string[];
  /** Stop once the room holds this many events. */
  targetEvents?: number;
  /** Kernels the merges resolve with (default: the TypeScript reference). */
  mergeKernels?: 'wasm' | 'ts';
}

export function randomRoom(seed: number, versionId: string, opts: RandomRoomOptions = {}): RandomRoom {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const steps = opts.steps ?? 40;
  const maxTips = opts.maxTips ?? 4;
  const forkRate = opts.forkRate ?? 0.15;
  const mergeRate = opts.mergeRate ?? 0.05;

  const users = opts.users ?? USERS.slice(0, 3 + Math.floor(rnd() * (USERS.length - 2)));
  const creator = users[0]!;
  const r = new RoomBuilder(versionId, creator);
  const v = r.version;
  const graph = new EventGraph(r.lookup);
  const resolver = new StateResolver(v, graph, { kernels: opts.mergeKernels ?? 'ts' });
  let n = 0;
  const name = (): string => `E${n++}`;
  // Timestamps sometimes collide, so the event-id tie-breaks get exercised.
  let clock = 1_000_000;
  const ts = (): number => (rnd() < 0.2 ? clock : (clock += 1 + Math.floor(rnd() * 5)));

  const main = r.main;
  main.join(name(), creator, { ts: ts() });
  const levels: Record<string, number> = {};
  if (!v.privilegedCreators) levels[creator] = 100;
  for (const u of users.slice(1)) if (rnd() < 0.5) levels[u] = pick([0, 50, 50, 100]);
  main.powerLevels(name(), creator, levels, {}, { ts: ts() });
  main.joinRules(name(), creator, 'public', { ts: ts() });
  for (const u of users.slice(1)) if (rnd() < 0.8) main.join(name(), u, { ts: ts() });

  let tips: Branch[] = [main];
  for (let step = 0; step < steps && r.events.size < (opts.targetEvents ?? Infinity); step++) {
    if (tips.length < maxTips && rnd() < forkRate) tips.push(pick(tips).fork());
    if (tips.length > 1 && rnd() < mergeRate) {
      const a = pick(tips);
      const b = pick(tips.filter((t) => t !== a));
      tips = tips.filter((t) => t !== a && t !== b);
      tips.push(merge(r, graph, resolver, a, b));
    }
    const tip = pick(tips);
    const ev = randomEvent(r, tip, users, rnd, name(), ts());
    if (!ev) continue;
    const createEvent = r.event('CREATE');
    if (checkAuth(v, ev, tip.lookup(), { createEvent, skipSignatureChecks: true }).allowed) tip.commit(ev);
  }
  // Make sure there is something to resolve.
  if (tips.length < 2) {
    const other = tips[0]!.fork();
    tips.push(other);
    const ev = other.build(name(), 'm.room.topic', creator, '', { topic: 'fork' }, { ts: ts() });
    if (checkAuth(v, ev, other.lookup(), { createEvent: r.event('CREATE'), skipSignatureChecks: true }).allowed) other.commit(ev);
  }
  return { room: r, tips };
}

function merge(r: RoomBuilder, g: EventGraph, resolver: StateResolver, a: Branch, b: Branch): Branch {
  const entries = g.entries(resolver.resolve([g.snapshot(a.ids()), g.snapshot(b.ids())]));
  const state = new Map(entries.map(([t, k, id]) => [`${t}\u0000${k}`, id]));
  return new Branch(r, state, [...a.head, ...b.head], Math.max(a.depth, b.depth));
}

function randomEvent(
  r: RoomBuilder,
  tip: Branch,
  users: string[],
  rnd: () => number,
  eventName: string,
  ts: number,
): ReturnType<Branch['build']> | undefined {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const v = r.version;
  const membership = (u: string): unknown => {
    const id = tip.get('m.room.member', u);
    return id ? r.events.get(id)!.content.membership : undefined;
  };
  const joined = users.filter((u) => membership(u) === 'join');
  const sender = rnd() < 0.85 && joined.length > 0 ? pick(joined) : pick(users);
  const target = pick(users);
  const k = rnd();
  const opts = { ts };
  if (k < 0.15) return tip.build(eventName, 'm.room.member', sender, sender, { membership: 'join' }, opts);
  if (k < 0.22) return tip.build(eventName, 'm.room.member', sender, sender, { membership: 'leave' }, opts);
  if (k < 0.3) return tip.build(eventName, 'm.room.member', sender, target, { membership: 'invite' }, opts);
  if (k < 0.38) return tip.build(eventName, 'm.room.member', sender, target, { membership: 'leave' }, opts);
  if (k < 0.48) return tip.build(eventName, 'm.room.member', sender, target, { membership: 'ban' }, opts);
  if (k < 0.68) {
    const plId = tip.get('m.room.power_levels');
    const current = plId ? (r.events.get(plId)!.content as Record<string, unknown>) : {};
    const usersMap = { ...((current.users as Record<string, number> | undefined) ?? {}) };
    const who = pick(users);
    if (!(v.privilegedCreators && who === r.creator)) {
      if (rnd() < 0.2) delete usersMap[who];
      else usersMap[who] = pick([0, 25, 50, 75, 100]);
    }
    const content: Record<string, unknown> = { ...current, users: usersMap };
    if (rnd() < 0.3) content[pick(['ban', 'kick', 'state_default', 'invite'])] = pick([0, 50, 100]);
    return tip.build(eventName, 'm.room.power_levels', sender, '', content, opts);
  }
  if (k < 0.8) {
    const rules = v.knocking ? ['public', 'invite', 'knock'] : ['public', 'invite'];
    return tip.build(eventName, 'm.room.join_rules', sender, '', { join_rule: pick(rules) }, opts);
  }
  if (k < 0.97) return tip.build(eventName, 'm.room.topic', sender, '', { topic: `t${eventName}` }, opts);
  return tip.build(eventName, 'm.room.name', sender, '', { name: `n${eventName}` }, opts);
}
