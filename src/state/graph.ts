// The auth-event graph state resolution works on: event ids and (type, state_key) pairs
// interned to integers, auth edges in growable typed arrays (one edge list per node), and the
// few per-event facts the graph kernels need as flag bits. Append-only, so a server can keep
// one per room and add events as it stores them; a lookup function fills it on demand.
import { isJsonObject, referencedEventId, type PDU } from '../events/pdu.js';

/** The event is known (its PDU and auth edges are in the graph). */
export const F_LOADED = 1;
/** m.room.power_levels with state_key "". */
export const F_PL = 2;
/** A power event: power levels, join rules, or a kick/ban (leave/ban of another user). */
export const F_POWER = 4;
/** Looked up and not found (JS side only; the kernels treat it as an unknown event). */
export const F_MISSING = 8;
/** Rejected on receipt (JS side only): never used as an auth event in the auth checks. */
export const F_REJECTED = 16;

export type EventLookup = (eventId: string) => PDU | undefined;

/** A state as the kernels take it: node ids sorted by interned key, one node per key. */
export type StateNodes = Int32Array;

/** Interned (type, state_key) pairs; ids are dense from 0 in first-seen order. */
export class StateKeys {
  private readonly byType = new Map<string, Map<string, number>>();
  readonly types: string[] = [];
  readonly stateKeys: string[] = [];

  intern(type: string, stateKey: string): number {
    let inner = this.byType.get(type);
    if (!inner) {
      inner = new Map();
      this.byType.set(type, inner);
    }
    let id = inner.get(stateKey);
    if (id === undefined) {
      id = this.types.length;
      inner.set(stateKey, id);
      this.types.push(type);
      this.stateKeys.push(stateKey);
    }
    return id;
  }

  /** The id of (type, stateKey), or -1 if no event with that key was ever seen. */
  find(type: string, stateKey: string): number {
    return this.byType.get(type)?.get(stateKey) ?? -1;
  }

  get size(): number {
    return this.types.length;
  }
}

function grow<T extends Int32Array | Uint8Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  let cap = Math.max(16, a.length * 2);
  while (cap < need) cap *= 2;
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}

export class EventGraph {
  nodeCount = 0;
  edgeCount = 0;
  /** Per node: first edge, number of edges (auth events), F_* flags, interned key or -1. */
  start = new Int32Array(1024);
  count = new Int32Array(1024);
  flags = new Uint8Array(1024);
  key = new Int32Array(1024);
  /** Auth edges: node -> auth event node. */
  edges = new Int32Array(4096);
  readonly ids: string[] = [];
  readonly events: (PDU | undefined)[] = [];
  readonly keys = new StateKeys();
  /**
   * Lowest node whose arrays changed after it was first appended (a placeholder that got its
   * event), for the one mirror (the Wasm kernels) that copies the graph incrementally.
   */
  changedFrom = Infinity;
  private readonly index = new Map<string, number>();

  constructor(private readonly lookup?: EventLookup) {}

  /** The node of an event id, or -1. */
  nodeOf(eventId: string): number {
    return this.index.get(eventId) ?? -1;
  }

  /** The node of an event id, creating an unloaded placeholder if it is new. */
  intern(eventId: string): number {
    let n = this.index.get(eventId);
    if (n !== undefined) return n;
    n = this.nodeCount++;
    if (n >= this.start.length) {
      const need = n + 1;
      this.start = grow(this.start, need);
      this.count = grow(this.count, need);
      this.flags = grow(this.flags, need);
      this.key = grow(this.key, need);
    }
    this.start[n] = this.edgeCount;
    this.count[n] = 0;
    this.flags[n] = 0;
    this.key[n] = -1;
    this.index.set(eventId, n);
    this.ids.push(eventId);
    this.events.push(undefined);
    return n;
  }

  isLoaded(node: number): boolean {
    return (this.flags[node]! & F_LOADED) !== 0;
  }

  /**
   * Records that an event was rejected by the checks on receipt, so the iterative auth checks
   * do not take it from another event's auth events.
   */
  markRejected(eventId: string): void {
    const n = this.intern(eventId);
    this.flags[n] = this.flags[n]! | F_REJECTED;
    if (n < this.changedFrom) this.changedFrom = n;
  }

  /**
   * Adds an event (which must carry `event_id`); its auth events become nodes too, loaded or
   * not. Adding an event already loaded is a no-op. Returns its node.
   */
  add(event: PDU): number {
    const id = event.event_id;
    if (typeof id !== 'string') throw new TypeError('state resolution needs events with an event_id');
    const existing = this.index.get(id);
    const n = existing ?? this.intern(id);
    if (existing !== undefined) {
      if (this.flags[n]! & F_LOADED) return n;
      if (n < this.changedFrom) this.changedFrom = n;
    }
    const refs = Array.isArray(event.auth_events) ? event.auth_events : [];
    const edges: number[] = [];
    for (let i = 0; i < refs.length; i++) {
      const ref = referencedEventId(refs, i);
      if (typeof ref === 'string') edges.push(this.intern(ref));
    }
    const at = this.edgeCount;
    if (at + edges.length > this.edges.length) this.edges = grow(this.edges, at + edges.length);
    for (let i = 0; i < edges.length; i++) this.edges[at + i] = edges[i]!;
    this.edgeCount = at + edges.length;
    this.start[n] = at;
    this.count[n] = edges.length;
    this.events[n] = event;
    let flags = F_LOADED | (this.flags[n]! & F_REJECTED);
    const sk = event.state_key;
    if (typeof sk === 'string') {
      this.key[n] = this.keys.intern(event.type, sk);
      flags |= eventFlags(event.type, sk, event);
    }
    this.flags[n] = flags;
    return n;
  }

  /**
   * The node of a loaded event, fetching it and (transitively) its auth events through the
   * lookup function when needed. Returns -1 when the event cannot be found.
   */
  require(eventId: string): number {
    const n = this.intern(eventId);
    if (this.flags[n]! & F_LOADED) return n;
    if (!this.lookup) return -1;
    const pending = [n];
    while (pending.length > 0) {
      const v = pending.pop()!;
      if (this.flags[v]! & (F_LOADED | F_MISSING)) continue;
      const ev = this.lookup(this.ids[v]!);
      if (!ev) {
        this.flags[v] = this.flags[v]! | F_MISSING;
        continue;
      }
      if (ev.event_id !== undefined && ev.event_id !== this.ids[v]) {
        throw new Error(`event store returned ${String(ev.event_id)} for ${this.ids[v]}`);
      }
      this.add(ev.event_id === undefined ? { ...ev, event_id: this.ids[v] } : ev);
      const s = this.start[v]!;
      for (let j = s, e = s + this.count[v]!; j < e; j++) {
        const a = this.edges[j]!;
        if (!(this.flags[a]! & (F_LOADED | F_MISSING))) pending.push(a);
      }
    }
    return this.flags[n]! & F_LOADED ? n : -1;
  }

  /**
   * A state (a set of state event ids) as kernel input: nodes sorted by key. Throws if an
   * event is unknown, is not a state event, or shares its key with another event of the set.
   */
  snapshot(eventIds: Iterable<string>): StateNodes {
    const packed: number[] = [];
    for (const id of eventIds) {
      const n = this.require(id);
      if (n < 0) throw new Error(`unknown event ${id} in state set`);
      const k = this.key[n]!;
      if (k < 0) throw new Error(`event ${id} in state set is not a state event`);
      packed.push(k * 2 ** 31 + n);
    }
    return this.sortPacked(packed);
  }

  /** Sorts nodes (state events of distinct keys) by key. */
  sortByKey(nodes: ArrayLike<number>): StateNodes {
    const packed: number[] = new Array(nodes.length);
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      packed[i] = this.key[n]! * 2 ** 31 + n;
    }
    return this.sortPacked(packed);
  }

  // key * 2^31 + node is exact in a double while key < 2^22; Float64Array sorts numerically.
  private sortPacked(packed: number[]): StateNodes {
    if (this.keys.size >= 2 ** 22) throw new Error('too many distinct state keys');
    const f = Float64Array.from(packed).sort();
    const out = new Int32Array(f.length);
    let prevKey = -1;
    for (let i = 0; i < f.length; i++) {
      const v = f[i]!;
      const k = Math.floor(v / 2 ** 31);
      const n = v - k * 2 ** 31;
      if (k === prevKey) {
        const a = this.ids[out[i - 1]!]!;
        const b = this.ids[n]!;
        if (a === b) throw new Error(`event ${a} appears twice in one state set`);
        throw new Error(`events ${a} and ${b} share a (type, state_key) in one state set`);
      }
      prevKey = k;
      out[i] = n;
    }
    return out;
  }

  /** [type, state_key, event_id] of each event of a state, sorted by type then state_key. */
  entries(state: StateNodes): [string, string, string][] {
    const out: [string, string, string][] = new Array(state.length);
    for (let i = 0; i < state.length; i++) {
      const n = state[i]!;
      const k = this.key[n]!;
      out[i] = [this.keys.types[k]!, this.keys.stateKeys[k]!, this.ids[n]!];
    }
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  }

  /** The loaded auth event of `node` with the given interned key, or -1. */
  authEventWithKey(node: number, key: number, skipRejected = false): number {
    if (key < 0) return -1;
    const s = this.start[node]!;
    const unusable = skipRejected ? F_REJECTED : 0;
    for (let j = s, e = s + this.count[node]!; j < e; j++) {
      const a = this.edges[j]!;
      if (this.key[a] === key && (this.flags[a]! & (F_LOADED | unusable)) === F_LOADED) return a;
    }
    return -1;
  }
}

function eventFlags(type: string, stateKey: string, event: PDU): number {
  // Power events per the spec's definition (any state key); only ("m.room.power_levels", "")
  // is the power-levels event that auth events and mainlines refer to.
  if (type === 'm.room.power_levels') return stateKey === '' ? F_PL | F_POWER : F_POWER;
  if (type === 'm.room.join_rules') return F_POWER;
  if (type === 'm.room.member') {
    const membership = isJsonObject(event.content) ? event.content.membership : undefined;
    if ((membership === 'leave' || membership === 'ban') && event.sender !== stateKey) return F_POWER;
  }
  return 0;
}
