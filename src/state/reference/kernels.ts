// Plain-TypeScript reference of the state resolution graph kernels (assembly/stateres.ts),
// written for clarity with Maps, Sets and arrays. Tests hold the Wasm kernels to its results.
import { F_LOADED, F_PL, F_POWER, type EventGraph, type StateNodes } from '../graph.js';
import {
  NO_MAINLINE,
  type ConflictedSets,
  type GraphKernels,
  type KernelSession,
  type Partition,
  type PartitionMode,
} from '../kernels.js';

function authEvents(g: EventGraph, v: number): number[] {
  const out: number[] = [];
  const s = g.start[v]!;
  for (let j = s; j < s + g.count[v]!; j++) out.push(g.edges[j]!);
  return out;
}

/** Calls f on each auth event of v. */
function forAuthEvents(g: EventGraph, v: number, f: (a: number) => void): void {
  const s = g.start[v]!;
  const e = s + g.count[v]!;
  for (let j = s; j < e; j++) f(g.edges[j]!);
}

const loaded = (g: EventGraph, v: number): boolean => (g.flags[v]! & F_LOADED) !== 0;

/** Every node reachable from `from` by zero or more auth edges, not entering `stop`. */
function reachable(g: EventGraph, from: Iterable<number>, stop?: Set<number>): Set<number> {
  const seen = new Set<number>();
  const todo: number[] = [];
  for (const v of from) {
    if (!seen.has(v) && !stop?.has(v)) {
      seen.add(v);
      todo.push(v);
    }
  }
  const visit = (a: number): void => {
    if (!seen.has(a) && !stop?.has(a)) {
      seen.add(a);
      todo.push(a);
    }
  };
  while (todo.length > 0) forAuthEvents(g, todo.pop()!, visit);
  return seen;
}

/** Nodes reachable from `from` by one or more steps of `next`. */
function reachableStrict(from: Iterable<number>, next: (v: number) => Iterable<number>): Set<number> {
  const seen = new Set<number>();
  const todo = [...from];
  while (todo.length > 0) {
    for (const a of next(todo.pop()!)) {
      if (!seen.has(a)) {
        seen.add(a);
        todo.push(a);
      }
    }
  }
  return seen;
}

function sortedArray(s: Iterable<number>): Int32Array {
  return Int32Array.from(s).sort();
}

class ReferenceSession implements KernelSession {
  constructor(private readonly g: EventGraph) {}

  partition(sets: readonly StateNodes[], mode: PartitionMode): Partition {
    const g = this.g;
    const k = sets.length;
    // key -> the event each state set has at that key (-1: none)
    const byKey = new Map<number, number[]>();
    sets.forEach((set, i) => {
      for (const node of set) {
        const key = g.key[node]!;
        let row = byKey.get(key);
        if (!row) {
          row = new Array<number>(k).fill(-1);
          byKey.set(key, row);
        }
        row[i] = node;
      }
    });
    const unconflicted: number[] = [];
    const conflicted: number[] = [];
    const perSet: number[][] = sets.map(() => []);
    for (const key of [...byKey.keys()].sort((a, b) => a - b)) {
      const row = byKey.get(key)!;
      let present = 0;
      let same = true;
      for (const v of row) {
        if (v < 0) continue;
        present++;
        if (v !== row.find((x) => x >= 0)) same = false;
      }
      if (same && (mode === 'v1' || present === k)) {
        unconflicted.push(row.find((x) => x >= 0)!);
        continue;
      }
      const first = conflicted.length;
      row.forEach((v, i) => {
        if (v < 0) return;
        perSet[i]!.push(v);
        if (!conflicted.includes(v, first)) conflicted.push(v);
      });
    }
    return {
      unconflicted: Int32Array.from(unconflicted),
      conflicted: Int32Array.from(conflicted),
      perSet: perSet.map((p) => Int32Array.from(p)),
    };
  }

  conflictedSets(part: Partition, subgraph: boolean): ConflictedSets {
    const g = this.g;
    const k = part.perSet.length;
    // The full auth chain of a state set holds its own events and all their auth ancestors.
    // Everything reachable from the unconflicted state is in every chain, so only the rest
    // of each chain needs counting.
    const common = reachable(g, part.unconflicted);
    const chainCount = new Map<number, number>();
    for (const own of part.perSet) {
      for (const v of reachable(g, own, common)) chainCount.set(v, (chainCount.get(v) ?? 0) + 1);
    }
    const full = new Set<number>(part.conflicted);
    for (const [v, n] of chainCount) if (n < k && loaded(g, v)) full.add(v);

    if (subgraph) {
      // Nodes on auth paths between conflicted events: below some conflicted event (one or
      // more edges) and above some conflicted event (one or more edges).
      const below = reachableStrict(part.conflicted, (v) => authEvents(g, v));
      const region = new Set<number>([...part.conflicted, ...below]);
      const parents = new Map<number, number[]>();
      for (const v of region) {
        for (const a of authEvents(g, v)) {
          if (!parents.has(a)) parents.set(a, []);
          parents.get(a)!.push(v);
        }
      }
      const above = reachableStrict(part.conflicted, (v) => parents.get(v) ?? []);
      for (const v of below) if (above.has(v) && loaded(g, v)) full.add(v);
    }

    const powerEvents = [...full].filter((v) => (g.flags[v]! & F_POWER) !== 0);
    const underPower = reachable(g, powerEvents);
    const power: number[] = [];
    const rest: number[] = [];
    for (const v of full) (underPower.has(v) ? power : rest).push(v);
    return { power: sortedArray(power), rest: sortedArray(rest) };
  }

  powerSort(xs: Int32Array, power: Float64Array, ts: Float64Array, rank: Int32Array): Int32Array {
    const g = this.g;
    const m = xs.length;
    const local = new Map<number, number>();
    xs.forEach((v, i) => local.set(v, i));
    const less = (i: number, j: number): boolean =>
      power[i] !== power[j] ? power[i]! > power[j]! : ts[i] !== ts[j] ? ts[i]! < ts[j]! : rank[i]! < rank[j]!;
    const pending = new Array<number>(m).fill(0);
    const children: number[][] = Array.from({ length: m }, () => []);
    xs.forEach((v, i) => {
      for (const a of authEvents(g, v)) {
        const la = local.get(a);
        if (la !== undefined) {
          pending[i]!++;
          children[la]!.push(i);
        }
      }
    });
    const ready = new MinHeap(less);
    pending.forEach((p, i) => {
      if (p === 0) ready.push(i);
    });
    const out: number[] = [];
    while (out.length < m) {
      if (ready.size === 0) {
        // A cycle (malformed input): release the smallest event still waiting.
        let best = -1;
        for (let i = 0; i < m; i++) if (pending[i]! > 0 && (best < 0 || less(i, best))) best = i;
        pending[best] = 0;
        ready.push(best);
      }
      const i = ready.pop();
      pending[i] = -1;
      out.push(xs[i]!);
      for (const c of children[i]!) {
        if (pending[c]! > 0 && --pending[c]! === 0) ready.push(c);
      }
    }
    return Int32Array.from(out);
  }

  mainlineSort(es: Int32Array, pl: number, ts: Float64Array, rank: Int32Array): Int32Array {
    const g = this.g;
    const plAuth = (v: number): number => authEvents(g, v).find((a) => (g.flags[a]! & F_PL) !== 0) ?? -1;
    const mainline = new Map<number, number>();
    for (let p = pl; p >= 0 && !mainline.has(p); p = plAuth(p)) mainline.set(p, mainline.size);
    const position = (e: number): number => {
      const seen = new Set<number>();
      for (let w = plAuth(e); w >= 0 && !seen.has(w); w = plAuth(w)) {
        const at = mainline.get(w);
        if (at !== undefined) return at;
        seen.add(w);
      }
      return NO_MAINLINE;
    };
    const pos = Array.from(es, position);
    const order = Array.from(es, (_, i) => i).sort((i, j) =>
      pos[i] !== pos[j] ? pos[j]! - pos[i]! : ts[i] !== ts[j] ? ts[i]! - ts[j]! : rank[i]! - rank[j]!,
    );
    return Int32Array.from(order, (i) => es[i]!);
  }

  mergeState(base: StateNodes, over: StateNodes): StateNodes {
    const g = this.g;
    const byKey = new Map<number, number>();
    for (const v of over) byKey.set(g.key[v]!, v);
    for (const v of base) byKey.set(g.key[v]!, v);
    const keys = [...byKey.keys()].sort((a, b) => a - b);
    return Int32Array.from(keys, (key) => byKey.get(key)!);
  }

  close(): void {}
}

/** A binary min-heap of numbers under a less-than function. */
class MinHeap {
  private readonly items: number[] = [];
  constructor(private readonly less: (a: number, b: number) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(x: number): void {
    const h = this.items;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): number {
    const h = this.items;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

export const referenceKernels: GraphKernels = {
  name: 'ts',
  begin: (graph) => new ReferenceSession(graph),
};
