// Builds room event DAGs for state resolution tests: branches that each track their own state,
// choose auth events per the spec's auth events selection, and chain prev_events, so forks can
// be made and their states handed to the resolver. Event ids are readable and ordered by name
// ('$' + name padded to a v4 hash-shaped id, or '$name:server' for v1–2).
import { getRoomVersion, type RoomVersion } from '../../src/events/room-versions.js';
import type { PDU } from '../../src/events/pdu.js';
import assert from 'node:assert/strict';
import { checkAuth } from '../../src/events/auth/index.js';
import { resolveStateEntries, type ResolveOptions } from '../../src/state/index.js';

export const ALICE = '@alice:a.example';
export const BOB = '@bob:b.example';
export const CHARLIE = '@charlie:c.example';
export const DAVE = '@dave:d.example';
export const EVE = '@eve:e.example';
export const ZARA = '@zara:z.example';

const key = (type: string, stateKey: string): string => `${type}\u0000${stateKey}`;

export interface SendOptions {
  ts?: number;
  /** Override the auth events (by name); default: the spec's selection from branch state. */
  auth?: string[];
  /** Override prev_events (by name); default: the branch head. */
  prev?: string[];
  depth?: number;
  /** Append even if the auth rules refuse it against the branch state. */
  unchecked?: boolean;
}

export class RoomBuilder {
  readonly version: RoomVersion;
  readonly events = new Map<string, PDU>();
  readonly roomId: string;
  readonly main: Branch;
  private readonly ids = new Map<string, string>();
  private clock = 1000;

  constructor(versionId: string, readonly creator = ALICE, createContent: Record<string, unknown> = {}) {
    const v = getRoomVersion(versionId);
    if (!v) throw new Error(`no room version ${versionId}`);
    this.version = v;
    const createId = this.idFor('CREATE');
    this.roomId = v.roomIdFormat === 'create-event' ? '!' + createId.slice(1) : '!room:a.example';
    this.main = new Branch(this, new Map(), [], 0);
    const content: Record<string, unknown> = { room_version: versionId, ...createContent };
    if (v.creatorInContent) content.creator = creator;
    this.main.send('CREATE', 'm.room.create', creator, '', content);
  }

  /** The event id for a name (fixed on first use). */
  idFor(name: string): string {
    let id = this.ids.get(name);
    if (!id) {
      id = this.version.eventIdInEvent ? `$${name}:a.example` : '$' + name.padEnd(43, '_');
      if (!this.version.eventIdInEvent && !/^[A-Za-z0-9_-]{43}$/.test(id.slice(1))) throw new Error(`bad name ${name}`);
      this.ids.set(name, id);
    }
    return id;
  }

  nameOf(id: string): string {
    for (const [n, i] of this.ids) if (i === id) return n;
    return id;
  }

  id(name: string): string {
    const id = this.ids.get(name);
    if (!id || !this.events.has(id)) throw new Error(`no event named ${name}`);
    return id;
  }

  event(name: string): PDU {
    return this.events.get(this.id(name))!;
  }

  lookup = (id: string): PDU | undefined => this.events.get(id);

  createEvent(): PDU {
    return this.events.get(this.idFor('CREATE'))!;
  }

  nextTs(): number {
    this.clock += 1000;
    return this.clock;
  }

  ref(id: string): string | [string, { sha256: string }] {
    return this.version.eventIdInEvent ? [id, { sha256: 'AAAA' }] : id;
  }
}

export class Branch {
  constructor(
    readonly room: RoomBuilder,
    readonly state: Map<string, string>,
    public head: string[],
    public depth: number,
  ) {}

  fork(): Branch {
    return new Branch(this.room, new Map(this.state), [...this.head], this.depth);
  }

  /** The state's event ids. */
  ids(): string[] {
    return [...this.state.values()];
  }

  get(type: string, stateKey = ''): string | undefined {
    return this.state.get(key(type, stateKey));
  }

  /** Appends an event to this branch (applying it to the branch state if a state event). */
  send(
    name: string,
    type: string,
    sender: string,
    stateKey: string | undefined,
    content: Record<string, unknown>,
    opts: SendOptions = {},
  ): string {
    const ev = this.build(name, type, sender, stateKey, content, opts);
    if (!opts.unchecked && type !== 'm.room.create') {
      const res = checkAuth(this.room.version, ev, this.lookup(), { createEvent: this.room.createEvent(), skipSignatureChecks: true });
      if (!res.allowed) throw new Error(`test event ${name} is not allowed on its branch: ${res.reason}`);
    }
    return this.commit(ev);
  }

  /** The event `send` would append, without appending it. */
  build(
    name: string,
    type: string,
    sender: string,
    stateKey: string | undefined,
    content: Record<string, unknown>,
    opts: SendOptions = {},
  ): PDU {
    const r = this.room;
    const id = r.idFor(name);
    if (r.events.has(id)) throw new Error(`duplicate event name ${name}`);
    const auth = opts.auth ? opts.auth.map((n) => r.id(n)) : this.selectAuth(type, sender, stateKey, content);
    const prev = opts.prev ? opts.prev.map((n) => r.id(n)) : this.head;
    const ev: PDU = {
      event_id: id,
      sender,
      type,
      content,
      prev_events: prev.map((p) => r.ref(p)) as PDU['prev_events'],
      auth_events: auth.map((a) => r.ref(a)) as PDU['auth_events'],
      depth: opts.depth ?? this.depth + 1,
      origin_server_ts: opts.ts ?? r.nextTs(),
      hashes: { sha256: 'AAAA' },
      signatures: {},
    };
    if (!(r.version.roomIdFormat === 'create-event' && type === 'm.room.create')) ev.room_id = r.roomId;
    if (stateKey !== undefined) ev.state_key = stateKey;
    return ev;
  }

  /** Appends a built event. */
  commit(ev: PDU): string {
    const id = ev.event_id!;
    this.room.events.set(id, ev);
    this.head = [id];
    this.depth = ev.depth;
    if (ev.state_key !== undefined) this.state.set(key(ev.type, ev.state_key), id);
    return id;
  }

  /** The branch state as the auth rules look it up. */
  lookup(): (type: string, stateKey: string) => PDU | undefined {
    return (type, stateKey) => {
      const id = this.state.get(key(type, stateKey));
      return id === undefined ? undefined : this.room.events.get(id);
    };
  }

  /** Auth events selection (server-server-api "Auth events selection"). */
  private selectAuth(type: string, sender: string, stateKey: string | undefined, content: Record<string, unknown>): string[] {
    if (type === 'm.room.create') return [];
    const want = [key('m.room.power_levels', ''), key('m.room.member', sender)];
    if (this.room.version.createEventInAuthEvents) want.unshift(key('m.room.create', ''));
    if (type === 'm.room.member' && stateKey !== undefined) {
      want.push(key('m.room.member', stateKey));
      const m = content.membership;
      if (m === 'join' || m === 'invite' || m === 'knock') want.push(key('m.room.join_rules', ''));
    }
    const out: string[] = [];
    for (const k of want) {
      const id = this.state.get(k);
      if (id && !out.includes(id)) out.push(id);
    }
    return out;
  }

  // Shorthands.
  join(name: string, user: string, opts?: SendOptions): string {
    return this.send(name, 'm.room.member', user, user, { membership: 'join' }, opts);
  }
  member(name: string, sender: string, target: string, membership: string, opts?: SendOptions): string {
    return this.send(name, 'm.room.member', sender, target, { membership }, opts);
  }
  powerLevels(name: string, sender: string, users: Record<string, number>, extra: Record<string, unknown> = {}, opts?: SendOptions): string {
    return this.send(name, 'm.room.power_levels', sender, '', { users, ...extra }, opts);
  }
  joinRules(name: string, sender: string, rule: string, opts?: SendOptions): string {
    return this.send(name, 'm.room.join_rules', sender, '', { join_rule: rule }, opts);
  }
  topic(name: string, sender: string, topic: string, opts?: SendOptions): string {
    return this.send(name, 'm.room.topic', sender, '', { topic }, opts);
  }
  message(name: string, sender: string, opts?: SendOptions): string {
    return this.send(name, 'm.room.message', sender, undefined, { body: name, msgtype: 'm.text' }, opts);
  }
}

/**
 * A room after the usual set-up: create, the creator's join, power levels (creator 100 unless
 * v12, plus `levels`), a public join rule, and joins of `members` (IM0, IM1, ...).
 */
export function standardRoom(versionId: string, members: string[] = [BOB, CHARLIE], levels: Record<string, number> = {}): RoomBuilder {
  const r = new RoomBuilder(versionId);
  const m = r.main;
  m.join('IMA', ALICE);
  const users: Record<string, number> = r.version.privilegedCreators ? {} : { [ALICE]: 100 };
  m.powerLevels('IPOWER', ALICE, { ...users, ...levels });
  m.joinRules('IJR', ALICE, 'public');
  members.forEach((u, i) => m.join(`IM${i}`, u));
  return r;
}

/** A resolved state by readable names: "type|state_key" -> event name. */
export type NamedState = Map<string, string>;

/**
 * Resolves the branches' (or explicit id lists') states with the Wasm kernels and with the
 * TypeScript reference, asserts both agree, and returns the result by names.
 */
export function resolveNamed(r: RoomBuilder, sets: (Branch | string[])[], opts: ResolveOptions = {}): NamedState {
  const ids = sets.map((s) => (s instanceof Branch ? s.ids() : s.map((n) => r.id(n))));
  const wasm = resolveStateEntries(r.version, ids, r.lookup, { ...opts, kernels: 'wasm' });
  const ts = resolveStateEntries(r.version, ids, r.lookup, { ...opts, stats: undefined, kernels: 'ts' });
  assert.deepEqual(wasm, ts, 'Wasm and TypeScript kernels disagree');
  return new Map(wasm.map(([t, k, id]) => [`${t}|${k}`, r.nameOf(id)]));
}
