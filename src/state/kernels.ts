// The graph work of state resolution, behind one interface with two implementations: the
// AssemblyScript Wasm kernels (kernels-wasm.ts) and the plain-TypeScript reference
// (reference/kernels.ts). Both must give identical results on identical input.
import type { EventGraph, StateNodes } from './graph.js';

/** v2: a key absent from some state set is conflicted. v1: absence is no conflict. */
export type PartitionMode = 'v1' | 'v2';

export interface Partition {
  /** The unconflicted state, sorted by key. */
  unconflicted: StateNodes;
  /** The distinct conflicted events, grouped by key in key order (first-seen order within). */
  conflicted: Int32Array;
  /** Per state set, its events at the conflicted keys. */
  perSet: Int32Array[];
}

export interface ConflictedSets {
  /** X of the algorithm's step 1 (unsorted; ascending node order). */
  power: Int32Array;
  /** The rest of the full conflicted set (ascending node order). */
  rest: Int32Array;
}

/**
 * One resolution's use of the kernels. Arrays it returns may live in the kernels' memory and
 * are valid until close(), except mergeState's result, which belongs to the caller.
 */
export interface KernelSession {
  partition(sets: readonly StateNodes[], mode: PartitionMode): Partition;
  /** Auth difference, (v2.1) conflicted state subgraph, full conflicted set, and X. */
  conflictedSets(part: Partition, subgraph: boolean): ConflictedSets;
  /** Reverse topological power ordering of xs; power, ts and rank are aligned with xs. */
  powerSort(xs: Int32Array, power: Float64Array, ts: Float64Array, rank: Int32Array): Int32Array;
  /** Mainline ordering of es based on the power-levels event node pl (-1: none). */
  mainlineSort(es: Int32Array, pl: number, ts: Float64Array, rank: Int32Array): Int32Array;
  /** base (sorted by key) with the events of `over` (sorted by key) at keys base lacks. */
  mergeState(base: StateNodes, over: StateNodes): StateNodes;
  close(): void;
}

export interface GraphKernels {
  readonly name: 'wasm' | 'ts';
  begin(graph: EventGraph, sets: readonly StateNodes[]): KernelSession;
}

/** Mainline position of an event with no mainline event ahead of it. */
export const NO_MAINLINE = 0x7fffffff;
