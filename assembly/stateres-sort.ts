// The two orderings of state resolution v2 and the sorting machinery for them, over local
// indices into host-provided key arrays (power, ts: f64; rank, pos: i32).
import { rd, wr, rdf } from './stateres-graph';

/** Reverse topological power ordering: greater sender power, then earlier ts, then id. */
@inline export function powerOrderLess(i: i32, j: i32, power: usize, ts: usize, rank: usize): bool {
  const pi = rdf(power, i);
  const pj = rdf(power, j);
  if (pi != pj) return pi > pj;
  const ti = rdf(ts, i);
  const tj = rdf(ts, j);
  if (ti != tj) return ti < tj;
  return rd(rank, i) < rd(rank, j);
}

/** Mainline ordering: greater mainline position, then earlier ts, then id. */
@inline export function mainlineOrderLess(i: i32, j: i32, pos: usize, ts: usize, rank: usize): bool {
  const pi = rd(pos, i);
  const pj = rd(pos, j);
  if (pi != pj) return pi > pj;
  const ti = rdf(ts, i);
  const tj = rdf(ts, j);
  if (ti != tj) return ti < tj;
  return rd(rank, i) < rd(rank, j);
}

/** Binary min-heap of local indices under powerOrderLess; returns the new size. */
export function heapPush(heap: usize, size: i32, item: i32, power: usize, ts: usize, rank: usize): i32 {
  let at = size;
  while (at > 0) {
    const parent = (at - 1) >> 1;
    const pv = rd(heap, parent);
    if (!powerOrderLess(item, pv, power, ts, rank)) break;
    wr(heap, at, pv);
    at = parent;
  }
  wr(heap, at, item);
  return size + 1;
}

/** Removes the heap's top (read it first at heap[0]); returns the new size. */
export function heapPop(heap: usize, size: i32, power: usize, ts: usize, rank: usize): i32 {
  const last = size - 1;
  if (last == 0) return 0;
  const item = rd(heap, last);
  let at = 0;
  while (true) {
    let child = 2 * at + 1;
    if (child >= last) break;
    const r = child + 1;
    if (r < last && powerOrderLess(rd(heap, r), rd(heap, child), power, ts, rank)) child = r;
    const cv = rd(heap, child);
    if (!powerOrderLess(cv, item, power, ts, rank)) break;
    wr(heap, at, cv);
    at = child;
  }
  wr(heap, at, item);
  return last;
}

/** Bottom-up merge sort of idx[0..m) under mainlineOrderLess, with tmp of m entries. */
export function mergeSortIdx(idx: usize, m: i32, tmp: usize, pos: usize, ts: usize, rank: usize): void {
  let src = idx;
  let dst = tmp;
  for (let width = 1; width < m; width <<= 1) {
    for (let lo = 0; lo < m; lo += width << 1) {
      const mid = min(lo + width, m);
      const hi = min(lo + (width << 1), m);
      let a = lo;
      let b = mid;
      let o = lo;
      while (a < mid && b < hi) {
        const x = rd(src, a);
        const y = rd(src, b);
        if (mainlineOrderLess(y, x, pos, ts, rank)) { wr(dst, o++, y); b++; }
        else { wr(dst, o++, x); a++; }
      }
      while (a < mid) wr(dst, o++, rd(src, a++));
      while (b < hi) wr(dst, o++, rd(src, b++));
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src != idx) memory.copy(idx, src, <usize>m << 2);
}
