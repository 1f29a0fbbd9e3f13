// Graph kernels of Matrix state resolution over an integer-indexed auth-event graph that the
// host lays out in this module's linear memory (see src/state/kernels-wasm.ts). No allocation
// happens here: every array, scratch included, is a region the host reserved and passed in.
// The plain-TypeScript reference of the same algorithms is src/state/reference/kernels.ts.
//
// Graph: for node v, its auth events are edges[start[v] .. start[v] + count[v]); flags[v] holds
// the F_* bits; key[v] is the interned (type, state_key) of a state event, -1 otherwise.

import {
  F_LOADED, F_PL, F_POWER, gN, sA, sB, sC, sD, sStack, sT,
  setGraphRegions, setScratchRegions, edgeStart, edgeCount, edgeAt, flagsOf, keyOf, rd, wr, fill32,
} from './stateres-graph';
import { powerOrderLess, mergeSortIdx, heapPush, heapPop } from './stateres-sort';

export function heapBase(): usize {
  return __heap_base;
}

export function setGraph(start: usize, count: usize, flags: usize, key: usize, edges: usize, n: i32): void {
  setGraphRegions(start, count, flags, key, edges, n);
}

/** Scratch regions: a, b, d of n i32; c, t of max(n, edges) + 1 i32; a stack of 2n + 2 i32. */
export function setScratch(a: usize, b: usize, c: usize, d: usize, t: usize, stack: usize): void {
  setScratchRegions(a, b, c, d, t, stack);
}

// ---------------------------------------------------------------------------------------------
// Partition: split k state sets (each a node list sorted by key, one node per key) into the
// unconflicted state and the conflicted events.
//
// mode 0 (v2): a key is unconflicted when every set has it with the same event.
// mode 1 (v1): a key is unconflicted when every set that has it agrees (absence is no conflict).
// Writes: outU = unconflicted nodes in key order; outC = the distinct conflicted nodes, grouped
// by key in key order (first-seen order within a key); outK = per set, its nodes at conflicted
// keys, set i at outK[kOff[i] .. kOff[i + 1]) (outK has room for all the sets' nodes).
// pos: 2k entries of scratch. res[0] = |outU|, res[1] = |outC|.
// ---------------------------------------------------------------------------------------------
export function partition(
  sets: usize, setOff: usize, k: i32, mode: i32,
  outU: usize, outC: usize, outK: usize, kOff: usize, pos: usize, res: usize,
): void {
  const lens = pos + (<usize>k << 2);
  for (let i = 0; i < k; i++) {
    wr(pos, i, rd(setOff, i));
    wr(lens, i, 0);
  }
  let nU = 0;
  let nC = 0;
  while (true) {
    let minKey: i32 = i32.MAX_VALUE;
    for (let i = 0; i < k; i++) {
      const p = rd(pos, i);
      if (p < rd(setOff, i + 1)) {
        const kk = keyOf(rd(sets, p));
        if (kk < minKey) minKey = kk;
      }
    }
    if (minKey == i32.MAX_VALUE) break;
    let present = 0;
    let first = -1;
    let same = true;
    for (let i = 0; i < k; i++) {
      const p = rd(pos, i);
      if (p < rd(setOff, i + 1)) {
        const n = rd(sets, p);
        if (keyOf(n) == minKey) {
          present++;
          if (first < 0) first = n;
          else if (n != first) same = false;
        }
      }
    }
    const unconflicted = same && (mode == 1 || present == k);
    const cFrom = nC;
    for (let i = 0; i < k; i++) {
      const p = rd(pos, i);
      if (p < rd(setOff, i + 1)) {
        const n = rd(sets, p);
        if (keyOf(n) == minKey) {
          wr(pos, i, p + 1);
          if (!unconflicted) {
            const l = rd(lens, i);
            wr(outK, rd(setOff, i) + l, n);
            wr(lens, i, l + 1);
            let seen = false;
            for (let j = cFrom; j < nC; j++) {
              if (rd(outC, j) == n) { seen = true; break; }
            }
            if (!seen) wr(outC, nC++, n);
          }
        }
      }
    }
    if (unconflicted) wr(outU, nU++, first);
  }
  // Close the gaps between the per-set lists (each moves left, so in order is safe).
  let off = 0;
  for (let i = 0; i < k; i++) {
    const l = rd(lens, i);
    memory.copy(outK + (<usize>off << 2), outK + (<usize>rd(setOff, i) << 2), <usize>l << 2);
    wr(kOff, i, off);
    off += l;
  }
  wr(kOff, k, off);
  wr(res, 0, nU);
  wr(res, 1, nC);
}

// ---------------------------------------------------------------------------------------------
// Full conflicted set and the power-event selection (steps "auth difference", "conflicted state
// subgraph" (v2.1), "full conflicted set" and algorithm step 1's set X).
//
// u: the unconflicted state; kSets/kOff/k: per state set, its events at conflicted keys;
// c: the conflicted state set. The full auth chain of a state set is taken to include the
// set's own events. Writes X to outX and the rest of the full conflicted set to outRest;
// res[0] = |X|, res[1] = |rest|.
//
// Scratch use: A = in anc*(unconflicted); B = last state set that reached the node; C = number
// of state sets whose full auth chain holds it; T = nodes with C > 0; D = bits: 1 in the full
// conflicted set, 2 conflicted, 8 reached from a power event of the full set (X = 1 and 8).
// ---------------------------------------------------------------------------------------------
export function fullConflicted(
  u: usize, uLen: i32, kSets: usize, kOff: usize, k: i32, c: usize, cLen: i32, v21: i32,
  outX: usize, outRest: usize, res: usize,
): void {
  const n = gN;
  fill32(sA, 0, n);
  fill32(sB, 0, n);
  fill32(sC, 0, n);
  fill32(sD, 0, n);
  const stack = sStack;

  // Everything reachable from the unconflicted state is in every full auth chain.
  let sp = 0;
  for (let i = 0; i < uLen; i++) {
    const v = rd(u, i);
    if (rd(sA, v) == 0) { wr(sA, v, 1); wr(stack, sp++, v); }
  }
  while (sp > 0) {
    const v = rd(stack, --sp);
    const s = edgeStart(v);
    const e = s + edgeCount(v);
    for (let j = s; j < e; j++) {
      const a = edgeAt(j);
      if (rd(sA, a) == 0) { wr(sA, a, 1); wr(stack, sp++, a); }
    }
  }

  // Count, per remaining node, the state sets whose conflicted events reach it.
  let nT = 0;
  for (let i = 0; i < k; i++) {
    const stamp = i + 1;
    const from = rd(kOff, i);
    const to = rd(kOff, i + 1);
    for (let p = from; p < to; p++) {
      const v = rd(kSets, p);
      if (rd(sA, v) == 0 && rd(sB, v) != stamp) {
        wr(sB, v, stamp);
        const cnt = rd(sC, v);
        if (cnt == 0) wr(sT, nT++, v);
        wr(sC, v, cnt + 1);
        wr(stack, sp++, v);
      }
    }
    while (sp > 0) {
      const v = rd(stack, --sp);
      const s = edgeStart(v);
      const e = s + edgeCount(v);
      for (let j = s; j < e; j++) {
        const a = edgeAt(j);
        if (rd(sA, a) == 0 && rd(sB, a) != stamp) {
          wr(sB, a, stamp);
          const cnt = rd(sC, a);
          if (cnt == 0) wr(sT, nT++, a);
          wr(sC, a, cnt + 1);
          wr(stack, sp++, a);
        }
      }
    }
  }

  // Full conflicted set = conflicted ∪ auth difference (∪ conflicted subgraph in v2.1).
  for (let i = 0; i < cLen; i++) {
    const v = rd(c, i);
    wr(sD, v, rd(sD, v) | 3);
  }
  for (let i = 0; i < nT; i++) {
    const v = rd(sT, i);
    if (rd(sC, v) < k && (flagsOf(v) & F_LOADED) != 0) wr(sD, v, rd(sD, v) | 1);
  }
  if (v21 != 0) conflictedSubgraph(c, cLen);

  // X: the power events of the full set, and the full-set events in their auth chains.
  sp = 0;
  for (let v = 0; v < n; v++) {
    const d = rd(sD, v);
    if ((d & 1) != 0 && (flagsOf(v) & F_POWER) != 0) {
      wr(sD, v, d | 8);
      wr(stack, sp++, v);
    }
  }
  while (sp > 0) {
    const v = rd(stack, --sp);
    const s = edgeStart(v);
    const e = s + edgeCount(v);
    for (let j = s; j < e; j++) {
      const a = edgeAt(j);
      const d = rd(sD, a);
      if ((d & 8) == 0) { wr(sD, a, d | 8); wr(stack, sp++, a); }
    }
  }
  let nX = 0;
  let nR = 0;
  for (let v = 0; v < n; v++) {
    const d = rd(sD, v);
    if ((d & 1) != 0) {
      if ((d & 8) != 0) wr(outX, nX++, v);
      else wr(outRest, nR++, v);
    }
  }
  wr(res, 0, nX);
  wr(res, 1, nR);
}

/**
 * v2.1 conflicted state subgraph: the nodes on auth-event paths between conflicted events,
 * i.e. those reachable from a conflicted event by one or more edges that also reach a
 * conflicted event by one or more edges. Both sets are plain reachability, so the result does
 * not depend on traversal order (even on malformed, cyclic input). Adds them to D bit 1.
 * Uses A (local index), B (forward mark), C/T (region list and reverse CSR), stack.
 */
function conflictedSubgraph(c: usize, cLen: i32): void {
  const n = gN;
  fill32(sA, -1, n); // local index in the region, -1 outside
  fill32(sB, 0, n); // bit 1: reached by >= 1 edge from a conflicted event; bit 2: reaches one
  const stack = sStack;
  const region = sT;
  let nR = 0;
  let sp = 0;
  // The region: conflicted events and everything below them.
  for (let i = 0; i < cLen; i++) {
    const v = rd(c, i);
    if (rd(sA, v) < 0) { wr(sA, v, nR); wr(region, nR++, v); }
  }
  for (let i = 0; i < cLen; i++) wr(stack, sp++, rd(c, i));
  while (sp > 0) {
    const v = rd(stack, --sp);
    const s = edgeStart(v);
    const e = s + edgeCount(v);
    for (let j = s; j < e; j++) {
      const a = edgeAt(j);
      const b = rd(sB, a);
      if ((b & 1) == 0) {
        wr(sB, a, b | 1);
        if (rd(sA, a) < 0) { wr(sA, a, nR); wr(region, nR++, a); }
        wr(stack, sp++, a);
      }
    }
  }
  // Reverse adjacency of the region: offsets in the stack area [0, nR], the list in C (sized
  // by the host for every edge); then cursors, later the BFS queue, after the offsets.
  const off = stack;
  for (let i = 0; i <= nR; i++) wr(off, i, 0);
  for (let i = 0; i < nR; i++) {
    const v = rd(region, i);
    const s = edgeStart(v);
    const e = s + edgeCount(v);
    for (let j = s; j < e; j++) {
      const la = rd(sA, edgeAt(j));
      wr(off, la + 1, rd(off, la + 1) + 1);
    }
  }
  for (let i = 0; i < nR; i++) wr(off, i + 1, rd(off, i + 1) + rd(off, i));
  const list = sC;
  const cur = stack + ((<usize>nR + 1) << 2);
  for (let i = 0; i < nR; i++) wr(cur, i, rd(off, i));
  for (let i = 0; i < nR; i++) {
    const v = rd(region, i);
    const s = edgeStart(v);
    const e = s + edgeCount(v);
    for (let j = s; j < e; j++) {
      const la = rd(sA, edgeAt(j));
      const at = rd(cur, la);
      wr(list, at, i);
      wr(cur, la, at + 1);
    }
  }
  // Backwards from the conflicted events: parents reach a conflicted event by one edge.
  // The queue reuses the cursor area (each region node enters it at most once).
  const queue = cur;
  let qh = 0;
  let qt = 0;
  for (let i = 0; i < cLen; i++) {
    const lc = rd(sA, rd(c, i));
    const from = rd(off, lc);
    const to = rd(off, lc + 1);
    for (let p = from; p < to; p++) {
      const lp = rd(list, p);
      const w = rd(region, lp);
      const b = rd(sB, w);
      if ((b & 2) == 0) { wr(sB, w, b | 2); wr(queue, qt++, lp); }
    }
  }
  while (qh < qt) {
    const lv = rd(queue, qh++);
    const from = rd(off, lv);
    const to = rd(off, lv + 1);
    for (let p = from; p < to; p++) {
      const lp = rd(list, p);
      const w = rd(region, lp);
      const b = rd(sB, w);
      if ((b & 2) == 0) { wr(sB, w, b | 2); wr(queue, qt++, lp); }
    }
  }
  for (let i = 0; i < nR; i++) {
    const v = rd(region, i);
    if (rd(sB, v) == 3 && (flagsOf(v) & F_LOADED) != 0) wr(sD, v, rd(sD, v) | 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Reverse topological power ordering: Kahn's algorithm over the auth edges between the events
// of xs (m of them), always taking the smallest ready event by (sender power desc,
// origin_server_ts asc, event id rank asc). power/ts are f64[m], rank i32[m], aligned with xs.
// A cycle (only possible in malformed input) is broken by releasing the smallest blocked event.
// Writes the order (nodes) to out. Scratch: A = local index, B = pending auth-event count,
// C = reverse adjacency offsets, T = reverse adjacency list, stack = heap + cursors.
// The host sizes T for the edges among xs.
// ---------------------------------------------------------------------------------------------
export function powerSort(xs: usize, m: i32, power: usize, ts: usize, rank: usize, out: usize): void {
  fillLocal(xs, m);
  const pending = sB;
  const off = sC;
  for (let i = 0; i <= m; i++) wr(off, i, 0);
  for (let i = 0; i < m; i++) {
    const v = rd(xs, i);
    const s = edgeStart(v);
    const e = s + edgeCount(v);
    let p = 0;
    for (let j = s; j < e; j++) {
      const la = rd(sA, edgeAt(j));
      if (la >= 0) { p++; wr(off, la + 1, rd(off, la + 1) + 1); }
    }
    wr(pending, i, p);
  }
  for (let i = 0; i < m; i++) wr(off, i + 1, rd(off, i + 1) + rd(off, i));
  const list = sT;
  const cur = sStack + (<usize>m << 2); // cursors after the heap area
  for (let i = 0; i < m; i++) wr(cur, i, rd(off, i));
  for (let i = 0; i < m; i++) {
    const v = rd(xs, i);
    const s = edgeStart(v);
    const e = s + edgeCount(v);
    for (let j = s; j < e; j++) {
      const la = rd(sA, edgeAt(j));
      if (la >= 0) {
        const at = rd(cur, la);
        wr(list, at, i);
        wr(cur, la, at + 1);
      }
    }
  }
  const heap = sStack;
  let hn = 0;
  for (let i = 0; i < m; i++) {
    if (rd(pending, i) == 0) hn = heapPush(heap, hn, i, power, ts, rank);
  }
  let emitted = 0;
  while (emitted < m) {
    if (hn == 0) {
      // Cycle: release the smallest event still waiting.
      let best = -1;
      for (let i = 0; i < m; i++) {
        if (rd(pending, i) > 0 && (best < 0 || powerOrderLess(i, best, power, ts, rank))) best = i;
      }
      wr(pending, best, 0);
      hn = heapPush(heap, hn, best, power, ts, rank);
    }
    const i = rd(heap, 0);
    hn = heapPop(heap, hn, power, ts, rank);
    wr(pending, i, -1);
    wr(out, emitted++, rd(xs, i));
    const from = rd(off, i);
    const to = rd(off, i + 1);
    for (let p = from; p < to; p++) {
      const child = rd(list, p);
      const left = rd(pending, child) - 1;
      if (left >= 0) {
        wr(pending, child, left);
        if (left == 0) hn = heapPush(heap, hn, child, power, ts, rank);
      }
    }
  }
  clearLocal(xs, m);
}

// ---------------------------------------------------------------------------------------------
// Mainline ordering of the m events in es, based on the power-levels event pl (-1: none).
// Position of e: index in the mainline of pl of the first m.room.power_levels event met by
// following "the power-levels auth event" links from e (e itself excluded); i32.MAX when none.
// Sorted by (position desc, origin_server_ts asc, event id rank asc). Writes nodes to out.
// Scratch: A = mainline index (-1 not on it), B = memoised position (-2 unknown, -3 on the
// current walk), stack = walk path, C = positions of es, T = sort indices.
// ---------------------------------------------------------------------------------------------
export function mainlineSort(es: usize, m: i32, pl: i32, ts: usize, rank: usize, out: usize): void {
  const n = gN;
  fill32(sA, -1, n);
  fill32(sB, -2, n);
  let idx = 0;
  let p = pl;
  while (p >= 0 && rd(sA, p) < 0) {
    wr(sA, p, idx++);
    p = plAuthOf(p);
  }
  const posArr = sC;
  for (let i = 0; i < m; i++) wr(posArr, i, positionFrom(plAuthOf(rd(es, i))));
  const order = sT;
  for (let i = 0; i < m; i++) wr(order, i, i);
  mergeSortIdx(order, m, sStack, posArr, ts, rank);
  for (let i = 0; i < m; i++) wr(out, i, rd(es, rd(order, i)));
}

/** The first m.room.power_levels event among v's auth events, or -1. */
function plAuthOf(v: i32): i32 {
  const s = edgeStart(v);
  const e = s + edgeCount(v);
  for (let j = s; j < e; j++) {
    const a = edgeAt(j);
    if ((flagsOf(a) & F_PL) != 0) return a;
  }
  return -1;
}

/** Mainline position found walking from w (w included), memoised in B. */
function positionFrom(w: i32): i32 {
  let sp = 0;
  let found: i32 = i32.MAX_VALUE;
  let x = w;
  while (x >= 0) {
    const onLine = rd(sA, x);
    if (onLine >= 0) { found = onLine; break; }
    const memo = rd(sB, x);
    if (memo >= 0) { found = memo; break; }
    if (memo == -3) break; // a cycle: no mainline event ahead
    wr(sB, x, -3);
    wr(sStack, sp++, x);
    x = plAuthOf(x);
  }
  for (let i = 0; i < sp; i++) wr(sB, rd(sStack, i), found);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Final state: the unconflicted state (sorted by key) with the resolved events of other keys
// (sorted by key, one per key) merged in. Writes to out, returns the length.
// ---------------------------------------------------------------------------------------------
export function mergeState(base: usize, nb: i32, over: usize, no: i32, out: usize): i32 {
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < nb && j < no) {
    const bv = rd(base, i);
    const ov = rd(over, j);
    const bk = keyOf(bv);
    const ok = keyOf(ov);
    if (bk < ok) { wr(out, o++, bv); i++; }
    else if (ok < bk) { wr(out, o++, ov); j++; }
    else { wr(out, o++, bv); i++; j++; }
  }
  while (i < nb) wr(out, o++, rd(base, i++));
  while (j < no) wr(out, o++, rd(over, j++));
  return o;
}

function fillLocal(xs: usize, m: i32): void {
  fill32(sA, -1, gN);
  for (let i = 0; i < m; i++) wr(sA, rd(xs, i), i);
}

function clearLocal(xs: usize, m: i32): void {
  for (let i = 0; i < m; i++) wr(sA, rd(xs, i), -1);
}
