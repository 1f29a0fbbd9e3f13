// Host side of the Wasm state resolution kernels (assembly/stateres.ts). Each EventGraph gets
// its own instance whose linear memory mirrors the graph's typed arrays; the mirror is
// brought up to date incrementally (new nodes and edges, plus nodes whose placeholder got its
// event), so a resolution copies only its own inputs in. Memory layout, from __heap_base:
// graph arrays and scratch sized by capacity (doubled when outgrown), then a per-session area
// reserved up front, so views handed out during a session stay valid until it closes.
import { readFileSync } from 'node:fs';
import type { EventGraph, StateNodes } from './graph.js';
import type { ConflictedSets, GraphKernels, KernelSession, Partition, PartitionMode } from './kernels.js';

// The project's lib setting has no WebAssembly types; these are the few used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Exports {
  memory: WasmMemory;
  heapBase(): number;
  setGraph(start: number, count: number, flags: number, key: number, edges: number, n: number): void;
  setScratch(a: number, b: number, c: number, d: number, t: number, stack: number): void;
  partition(
    sets: number, setOff: number, k: number, mode: number,
    outU: number, outC: number, outK: number, kOff: number, pos: number, res: number,
  ): void;
  fullConflicted(
    u: number, uLen: number, kSets: number, kOff: number, k: number, c: number, cLen: number, v21: number,
    outX: number, outRest: number, res: number,
  ): void;
  powerSort(xs: number, m: number, power: number, ts: number, rank: number, out: number): void;
  mainlineSort(es: number, m: number, pl: number, ts: number, rank: number, out: number): void;
  mergeState(base: number, nb: number, over: number, no: number, out: number): number;
}

const WASM_URL = new URL('../../assembly/stateres.wasm', import.meta.url);
let compiled: object | undefined;

function wasmModule(): object {
  compiled ??= new WA.Module(readFileSync(WASM_URL));
  return compiled;
}

const PAGE = 65536;
const align8 = (n: number): number => (n + 7) & ~7;

/** One graph's Wasm instance and the layout of its memory. */
class Mirror {
  readonly ex: Exports;
  private nodeCap = 0;
  private edgeCap = 0;
  private syncedNodes = 0;
  private syncedEdges = 0;
  private startPtr = 0;
  private countPtr = 0;
  private keyPtr = 0;
  private flagsPtr = 0;
  private edgesPtr = 0;
  /** End of the graph arrays and scratch; sessions allocate from here. */
  persistentTop = 0;
  top = 0;
  private limit = 0;
  /** A session is using the memory above persistentTop. */
  busy = false;

  constructor() {
    const instance = new WA.Instance(wasmModule(), { env: { abort: wasmAbort } });
    this.ex = instance.exports as unknown as Exports;
  }

  ensureMemory(end: number): void {
    const mem = this.ex.memory;
    if (end > mem.buffer.byteLength) mem.grow(Math.ceil((end - mem.buffer.byteLength) / PAGE));
  }

  /** Bump allocation; within a session it must fit the reservation (views stay attached). */
  alloc(bytes: number): number {
    const p = this.top;
    this.top = align8(p + bytes);
    if (this.top > this.limit) throw new Error('stateres.wasm: session memory reservation exceeded');
    return p;
  }

  /** Reserves [top, top + bytes) for allocations until the next reserve. */
  reserve(bytes: number): void {
    this.ensureMemory(this.top + bytes);
    this.limit = this.top + bytes;
  }

  i32(ptr: number, len: number): Int32Array {
    return new Int32Array(this.ex.memory.buffer, ptr, len);
  }

  f64(ptr: number, len: number): Float64Array {
    return new Float64Array(this.ex.memory.buffer, ptr, len);
  }

  /** Brings the mirror up to date with the graph and points the kernels at it. */
  sync(g: EventGraph): void {
    const n = g.nodeCount;
    const e = g.edgeCount;
    if (n > this.nodeCap || e > this.edgeCap) {
      let nc = Math.max(1024, this.nodeCap);
      while (nc < n) nc *= 2;
      let ec = Math.max(4096, this.edgeCap);
      while (ec < e) ec *= 2;
      this.layout(nc, ec);
      this.syncedNodes = 0;
      this.syncedEdges = 0;
    }
    const from = Math.min(this.syncedNodes, g.changedFrom);
    if (from < n) {
      this.i32(this.startPtr, n).set(g.start.subarray(from, n), from);
      this.i32(this.countPtr, n).set(g.count.subarray(from, n), from);
      this.i32(this.keyPtr, n).set(g.key.subarray(from, n), from);
      new Uint8Array(this.ex.memory.buffer, this.flagsPtr, n).set(g.flags.subarray(from, n), from);
    }
    if (this.syncedEdges < e) {
      this.i32(this.edgesPtr, e).set(g.edges.subarray(this.syncedEdges, e), this.syncedEdges);
    }
    this.syncedNodes = n;
    this.syncedEdges = e;
    g.changedFrom = Infinity;
    this.ex.setGraph(this.startPtr, this.countPtr, this.flagsPtr, this.keyPtr, this.edgesPtr, n);
  }

  private layout(nodeCap: number, edgeCap: number): void {
    this.nodeCap = nodeCap;
    this.edgeCap = edgeCap;
    this.top = align8(this.ex.heapBase());
    const big = 4 * (Math.max(nodeCap, edgeCap) + 1);
    this.reserve(4 * nodeCap * 12 + 4 * edgeCap + 2 * big + 64);
    this.startPtr = this.alloc(4 * nodeCap);
    this.countPtr = this.alloc(4 * nodeCap);
    this.keyPtr = this.alloc(4 * nodeCap);
    this.flagsPtr = this.alloc(nodeCap);
    this.edgesPtr = this.alloc(4 * edgeCap);
    const a = this.alloc(4 * nodeCap);
    const b = this.alloc(4 * nodeCap);
    const d = this.alloc(4 * nodeCap);
    const c = this.alloc(big);
    const t = this.alloc(big);
    const stack = this.alloc(4 * (2 * nodeCap + 2));
    this.ex.setScratch(a, b, c, d, t, stack);
    this.persistentTop = this.top;
  }
}

function wasmAbort(): never {
  throw new Error('stateres.wasm aborted');
}

interface PartitionPtrs {
  u: number;
  nU: number;
  c: number;
  nC: number;
  k: number;
  kSets: number;
  kOff: number;
}

class WasmSession implements KernelSession {
  private readonly parts = new WeakMap<Partition, PartitionPtrs>();
  private readonly unconflictedAt = new WeakMap<Int32Array, number>();
  private readonly n: number;

  constructor(
    private readonly m: Mirror,
    graph: EventGraph,
    sets: readonly StateNodes[],
  ) {
    if (m.busy) throw new Error('a state resolution session is already open on this graph');
    m.sync(graph);
    this.n = graph.nodeCount;
    m.top = m.persistentTop;
    // Reserve the whole session's worst case now, so memory does not grow, and views handed
    // out stay attached, until close(): partition 4T + 4k, conflictedSets 2n, powerSort 7n,
    // mainlineSort 5n, mergeState T + 2n, and copies of foreign inputs up to 3T + n.
    let total = 0;
    for (const s of sets) total += s.length;
    const words = 8 * total + 20 * (this.n + 1) + 4 * sets.length + 64;
    m.reserve(4 * words + 8 * 64);
    m.busy = true;
  }

  private copyIn(src: ArrayLike<number> & { length: number }, isF64 = false): number {
    const len = src.length;
    const p = this.m.alloc((isF64 ? 8 : 4) * Math.max(1, len));
    if (isF64) this.m.f64(p, len).set(src);
    else this.m.i32(p, len).set(src);
    return p;
  }

  partition(sets: readonly StateNodes[], mode: PartitionMode): Partition {
    const m = this.m;
    const k = sets.length;
    let total = 0;
    for (const s of sets) total += s.length;
    const setsPtr = m.alloc(4 * Math.max(1, total));
    const setOff = m.alloc(4 * (k + 1));
    const offs = m.i32(setOff, k + 1);
    let at = 0;
    for (let i = 0; i < k; i++) {
      offs[i] = at;
      m.i32(setsPtr + 4 * at, sets[i]!.length).set(sets[i]!);
      at += sets[i]!.length;
    }
    offs[k] = at;
    const outU = m.alloc(4 * Math.max(1, total));
    const outC = m.alloc(4 * Math.max(1, total));
    const outK = m.alloc(4 * Math.max(1, total));
    const kOff = m.alloc(4 * (k + 1));
    const pos = m.alloc(8 * Math.max(1, k));
    const res = m.alloc(8);
    m.ex.partition(setsPtr, setOff, k, mode === 'v1' ? 1 : 0, outU, outC, outK, kOff, pos, res);
    const [nU, nC] = m.i32(res, 2) as unknown as [number, number];
    const ko = m.i32(kOff, k + 1);
    const part: Partition = {
      unconflicted: m.i32(outU, nU),
      conflicted: m.i32(outC, nC),
      perSet: Array.from({ length: k }, (_, i) => m.i32(outK + 4 * ko[i]!, ko[i + 1]! - ko[i]!)),
    };
    this.parts.set(part, { u: outU, nU, c: outC, nC, k, kSets: outK, kOff });
    this.unconflictedAt.set(part.unconflicted, outU);
    return part;
  }

  private pointersOf(part: Partition): PartitionPtrs {
    const known = this.parts.get(part);
    if (known) return known;
    const k = part.perSet.length;
    const offs: number[] = [0];
    for (const s of part.perSet) offs.push(offs[offs.length - 1]! + s.length);
    const flat = new Int32Array(offs[k]!);
    part.perSet.forEach((s, i) => flat.set(s, offs[i]!));
    return {
      u: this.copyIn(part.unconflicted),
      nU: part.unconflicted.length,
      c: this.copyIn(part.conflicted),
      nC: part.conflicted.length,
      k,
      kSets: this.copyIn(flat),
      kOff: this.copyIn(offs),
    };
  }

  conflictedSets(part: Partition, subgraph: boolean): ConflictedSets {
    const m = this.m;
    const p = this.pointersOf(part);
    const outX = m.alloc(4 * Math.max(1, this.n));
    const outRest = m.alloc(4 * Math.max(1, this.n));
    const res = m.alloc(8);
    m.ex.fullConflicted(p.u, p.nU, p.kSets, p.kOff, p.k, p.c, p.nC, subgraph ? 1 : 0, outX, outRest, res);
    const [nX, nR] = m.i32(res, 2) as unknown as [number, number];
    return { power: m.i32(outX, nX), rest: m.i32(outRest, nR) };
  }

  powerSort(xs: Int32Array, power: Float64Array, ts: Float64Array, rank: Int32Array): Int32Array {
    const m = this.m;
    const len = xs.length;
    const xp = this.copyIn(xs);
    const pp = this.copyIn(power, true);
    const tp = this.copyIn(ts, true);
    const rp = this.copyIn(rank);
    const out = m.alloc(4 * Math.max(1, len));
    m.ex.powerSort(xp, len, pp, tp, rp, out);
    return m.i32(out, len);
  }

  mainlineSort(es: Int32Array, pl: number, ts: Float64Array, rank: Int32Array): Int32Array {
    const m = this.m;
    const len = es.length;
    const ep = this.copyIn(es);
    const tp = this.copyIn(ts, true);
    const rp = this.copyIn(rank);
    const out = m.alloc(4 * Math.max(1, len));
    m.ex.mainlineSort(ep, len, pl, tp, rp, out);
    return m.i32(out, len);
  }

  mergeState(base: StateNodes, over: StateNodes): StateNodes {
    const m = this.m;
    const bp = this.unconflictedAt.get(base) ?? this.copyIn(base);
    const op = this.copyIn(over);
    const out = m.alloc(4 * Math.max(1, base.length + over.length));
    const len = m.ex.mergeState(bp, base.length, op, over.length, out);
    return m.i32(out, len).slice();
  }

  close(): void {
    this.m.top = this.m.persistentTop;
    this.m.reserve(0);
    this.m.busy = false;
  }
}

const mirrors = new WeakMap<EventGraph, Mirror>();

export const wasmKernels: GraphKernels = {
  name: 'wasm',
  begin(graph, sets) {
    let m = mirrors.get(graph);
    if (!m) {
      m = new Mirror();
      mirrors.set(graph, m);
    }
    return new WasmSession(m, graph, sets);
  },
};
