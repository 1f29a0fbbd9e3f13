// Room state as a persistent hash trie stored in `state_nodes`.
//
// A state snapshot is the id of a root node (0 = empty). Nodes are immutable: changing k
// entries writes only the O(k · depth) nodes on their paths and shares everything else, so a
// state event in a 100,000-member room writes about four small nodes, and a message event
// reuses its parent's root as is. Reading one entry costs one node per level; reading a whole
// snapshot reads each node once; diffing two snapshots skips every subtree they share, which is
// what makes sync state deltas and state-at-event cheap.
//
// Keys are `${type}\0${state_key}`; values are event numeric ids (events.event_nid).
// Branch nodes have 32 slots chosen by 5 bits of a 32-bit FNV-1a hash of the key per level;
// leaves hold up to LEAF_MAX entries sorted by key and split into a branch when they overflow
// (below MAX_DEPTH, where hash bits run out and leaves just grow).
import { IdBlock } from './id-block.js';
import type { Sql } from './pool.js';

export type StateMap = Map<string, number>;

interface Leaf {
  leaf: true;
  keys: string[];
  vals: number[];
}
interface Branch {
  leaf: false;
  children: number[]; // FANOUT slots, 0 = empty
}
type Node = Leaf | Branch;

const BITS = 5;
const FANOUT = 1 << BITS;
const MAX_DEPTH = 6;
const LEAF_MAX = 64;

export const stateKey = (type: string, stateKey: string): string => `${type}\u0000${stateKey}`;
export function splitStateKey(key: string): [type: string, stateKey: string] {
  const i = key.indexOf('\u0000');
  return [key.slice(0, i), key.slice(i + 1)];
}

function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
const slotOf = (h: number, depth: number) => (h >>> (depth * BITS)) & (FANOUT - 1);

function encode(n: Node): string {
  return n.leaf ? 'L' + JSON.stringify([n.keys, n.vals]) : 'B' + n.children.join(',');
}
function decode(data: string): Node {
  if (data[0] === 'L') {
    const [keys, vals] = JSON.parse(data.slice(1)) as [string[], number[]];
    return { leaf: true, keys, vals };
  }
  return { leaf: false, children: data.slice(1).split(',').map(Number) };
}

/** Writes a batch of new nodes; returns nothing until `flush`. Bound to one transaction. */
class PendingNodes {
  readonly nodes: Node[] = [];
  /** Temporary ids are negative: -1 is nodes[0]. */
  add(n: Node): number {
    this.nodes.push(n);
    return -this.nodes.length;
  }
}

/** New nodes to write: what `prepare` computed. */
export interface PreparedState {
  root: number;
  rows: Array<{ node_id: number; data: string }>;
}

export class StateTree {
  private readonly cache = new Map<number, Node>();
  private readonly ids: IdBlock;

  constructor(
    private readonly sql: Sql,
    private readonly maxCachedNodes = 200_000,
  ) {
    this.ids = new IdBlock(sql, 'state_nodes_node_id_seq');
  }

  private remember(id: number, n: Node): void {
    if (this.cache.size >= this.maxCachedNodes) {
      // Drop the oldest eighth; immutable nodes can always be read again.
      let drop = this.maxCachedNodes >> 3;
      for (const k of this.cache.keys()) {
        this.cache.delete(k);
        if (--drop === 0) break;
      }
    }
    this.cache.set(id, n);
  }

  private async load(ids: Iterable<number>, sql: Sql = this.sql): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => id > 0 && !this.cache.has(id));
    if (missing.length === 0) return;
    const rows = await sql<{ node_id: string; data: string }[]>`
      SELECT node_id::text, data FROM state_nodes WHERE node_id = ANY(${missing}::bigint[])`;
    if (rows.length !== missing.length) throw new Error('state trie node missing from the database');
    for (const r of rows) this.remember(Number(r.node_id), decode(r.data));
  }

  private node(id: number): Node {
    const n = this.cache.get(id);
    if (!n) throw new Error(`state node ${id} not loaded`);
    return n;
  }

  /** Loads every node on the paths to `keys`, one query per level. */
  private async prefetchPaths(root: number, keys: readonly string[], sql?: Sql): Promise<void> {
    if (root === 0) return;
    let frontier: Array<{ id: number; keys: Array<{ key: string; h: number }> }> = [
      { id: root, keys: keys.map((key) => ({ key, h: hash(key) })) },
    ];
    for (let depth = 0; frontier.length; depth++) {
      await this.load(frontier.map((f) => f.id), sql);
      const next: typeof frontier = [];
      for (const f of frontier) {
        const n = this.node(f.id);
        if (n.leaf) continue;
        const bySlot = new Map<number, Array<{ key: string; h: number }>>();
        for (const k of f.keys) {
          const s = slotOf(k.h, depth);
          const child = n.children[s]!;
          if (child === 0) continue;
          let list = bySlot.get(child);
          if (!list) bySlot.set(child, (list = []));
          list.push(k);
        }
        for (const [id, ks] of bySlot) next.push({ id, keys: ks });
      }
      frontier = next;
    }
  }

  /** Loads the whole subtree under `root`, one query per level. */
  private async prefetchAll(roots: number[], sql?: Sql): Promise<void> {
    let frontier = roots.filter((r) => r > 0);
    while (frontier.length) {
      await this.load(frontier, sql);
      const next: number[] = [];
      for (const id of frontier) {
        const n = this.node(id);
        if (!n.leaf) for (const c of n.children) if (c > 0) next.push(c);
      }
      frontier = next;
    }
  }

  async get(root: number, key: string): Promise<number | undefined> {
    return (await this.getMany(root, [key])).get(key);
  }

  async getMany(root: number, keys: readonly string[]): Promise<Map<string, number>> {
    await this.prefetchPaths(root, keys);
    const out = new Map<string, number>();
    for (const key of keys) {
      const v = this.lookup(root, key, hash(key));
      if (v !== undefined) out.set(key, v);
    }
    return out;
  }

  private lookup(root: number, key: string, h: number): number | undefined {
    let id = root;
    for (let depth = 0; id !== 0; depth++) {
      const n = this.node(id);
      if (n.leaf) {
        const i = bsearch(n.keys, key);
        return i >= 0 ? n.vals[i] : undefined;
      }
      id = n.children[slotOf(h, depth)]!;
    }
    return undefined;
  }

  /** Every entry of the snapshot. */
  async entries(root: number): Promise<StateMap> {
    await this.prefetchAll([root]);
    const out: StateMap = new Map();
    this.collect(root, out);
    return out;
  }

  private collect(id: number, out: StateMap): void {
    if (id === 0) return;
    const n = this.node(id);
    if (n.leaf) for (let i = 0; i < n.keys.length; i++) out.set(n.keys[i]!, n.vals[i]!);
    else for (const c of n.children) this.collect(c, out);
  }

  /**
   * Entries whose value differs between `from` and `to`: the value in `to`, or null where `to`
   * lacks the key. Shared subtrees are skipped without being read.
   */
  async diff(from: number, to: number): Promise<Map<string, number | null>> {
    const out = new Map<string, number | null>();
    if (from === to) return out;
    await this.prefetchDiff(from, to);
    this.diffNodes(from, to, out);
    return out;
  }

  private async prefetchDiff(a: number, b: number): Promise<void> {
    let pairs: Array<[number, number]> = [[a, b]];
    while (pairs.length) {
      await this.load(pairs.flat());
      const next: Array<[number, number]> = [];
      const whole: number[] = [];
      for (const [x, y] of pairs) {
        if (x === y) continue;
        const nx = x ? this.node(x) : undefined;
        const ny = y ? this.node(y) : undefined;
        if (nx && ny && !nx.leaf && !ny.leaf) {
          for (let s = 0; s < FANOUT; s++) if (nx.children[s] !== ny.children[s]) next.push([nx.children[s]!, ny.children[s]!]);
        } else {
          // A leaf (or nothing) against a subtree: the subtree is compared whole.
          if (nx && !nx.leaf) whole.push(x);
          if (ny && !ny.leaf) whole.push(y);
        }
      }
      if (whole.length) await this.prefetchAll(whole);
      pairs = next;
    }
  }

  private diffNodes(a: number, b: number, out: Map<string, number | null>): void {
    if (a === b) return;
    const na = a ? this.node(a) : undefined;
    const nb = b ? this.node(b) : undefined;
    if (na && nb && !na.leaf && !nb.leaf) {
      for (let s = 0; s < FANOUT; s++) this.diffNodes(na.children[s]!, nb.children[s]!, out);
      return;
    }
    const ma: StateMap = new Map();
    const mb: StateMap = new Map();
    this.collect(a, ma);
    this.collect(b, mb);
    for (const [k, v] of mb) if (ma.get(k) !== v) out.set(k, v);
    for (const k of ma.keys()) if (!mb.has(k)) out.set(k, null);
  }

  /**
   * Applies `changes` (null deletes) to the snapshot `root` and writes the new nodes with `sql`
   * (pass the transaction). Returns the new root.
   */
  async update(root: number, changes: ReadonlyMap<string, number | null>, sql: Sql = this.sql): Promise<number> {
    const prepared = await this.prepare(root, changes);
    await this.write(prepared.rows, sql);
    return prepared.root;
  }

  /**
   * Computes the snapshot `root` + `changes` without writing it: the caller writes `rows`
   * (e.g. in the same statement as the events that use the new root). Later reads of the new
   * root are served from the cache until then.
   */
  async prepare(root: number, changes: ReadonlyMap<string, number | null>): Promise<PreparedState> {
    if (changes.size === 0) return { root, rows: [] };
    const keys = [...changes.keys()];
    await this.prefetchPaths(root, keys);
    const pending = new PendingNodes();
    const items = keys.map((key) => ({ key, h: hash(key), val: changes.get(key)! }));
    const newRoot = this.rebuild(root, 0, items, pending);
    return this.assignIds(newRoot, pending);
  }

  async write(rows: PreparedState['rows'], sql: Sql = this.sql): Promise<void> {
    for (let i = 0; i < rows.length; i += 5000) {
      await sql`INSERT INTO state_nodes ${sql(rows.slice(i, i + 5000), 'node_id', 'data')}`;
    }
  }

  /** Builds a snapshot from scratch. */
  async create(entries: ReadonlyMap<string, number>, sql: Sql = this.sql): Promise<number> {
    return this.update(0, entries, sql);
  }

  private rebuild(id: number, depth: number, items: Array<{ key: string; h: number; val: number | null }>, pending: PendingNodes): number {
    const n: Node | undefined = id === 0 ? undefined : id < 0 ? pending.nodes[-id - 1] : this.node(id);
    if (!n || n.leaf) {
      const keys = n ? n.keys.slice() : [];
      const vals = n ? n.vals.slice() : [];
      let changed = false;
      for (const it of items) {
        const i = bsearch(keys, it.key);
        if (it.val === null) {
          if (i >= 0) {
            keys.splice(i, 1);
            vals.splice(i, 1);
            changed = true;
          }
        } else if (i >= 0) {
          if (vals[i] !== it.val) {
            vals[i] = it.val;
            changed = true;
          }
        } else {
          keys.splice(~i, 0, it.key);
          vals.splice(~i, 0, it.val);
          changed = true;
        }
      }
      if (!changed) return id;
      if (keys.length === 0) return 0;
      if (keys.length <= LEAF_MAX || depth >= MAX_DEPTH) return pending.add({ leaf: true, keys, vals });
      // Overflow: split the leaf into a branch one level down.
      const children = new Array<number>(FANOUT).fill(0);
      const groups = new Map<number, Array<{ key: string; h: number; val: number | null }>>();
      for (let i = 0; i < keys.length; i++) {
        const h = hash(keys[i]!);
        const s = slotOf(h, depth);
        let g = groups.get(s);
        if (!g) groups.set(s, (g = []));
        g.push({ key: keys[i]!, h, val: vals[i]! });
      }
      for (const [s, g] of groups) children[s] = this.rebuild(0, depth + 1, g, pending);
      return pending.add({ leaf: false, children });
    }
    const children = n.children.slice();
    const groups = new Map<number, Array<{ key: string; h: number; val: number | null }>>();
    for (const it of items) {
      const s = slotOf(it.h, depth);
      let g = groups.get(s);
      if (!g) groups.set(s, (g = []));
      g.push(it);
    }
    let changed = false;
    for (const [s, g] of groups) {
      const c = this.rebuild(children[s]!, depth + 1, g, pending);
      if (c !== children[s]) {
        children[s] = c;
        changed = true;
      }
    }
    if (!changed) return id;
    if (children.every((c) => c === 0)) return 0;
    return pending.add({ leaf: false, children });
  }

  private async assignIds(root: number, pending: PendingNodes): Promise<PreparedState> {
    if (root >= 0) return { root, rows: [] }; // nothing new (or empty)
    const count = pending.nodes.length;
    const ids = await this.ids.take(count);
    const real = (tmp: number) => (tmp < 0 ? ids[-tmp - 1]! : tmp);
    const rows: PreparedState['rows'] = [];
    for (let i = 0; i < count; i++) {
      let n = pending.nodes[i]!;
      if (!n.leaf) n = { leaf: false, children: n.children.map(real) };
      rows.push({ node_id: ids[i]!, data: encode(n) });
      this.remember(ids[i]!, n);
    }
    return { root: real(root), rows };
  }
}

function bsearch(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const k = keys[mid]!;
    if (k < key) lo = mid + 1;
    else if (k > key) hi = mid - 1;
    else return mid;
  }
  return ~lo;
}
