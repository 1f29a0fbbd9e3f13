// The auth-event graph and scratch regions the host hands to the state resolution kernels,
// with unchecked accessors. All arrays are i32 except flags (u8).

export const F_LOADED: i32 = 1;
export const F_PL: i32 = 2;
export const F_POWER: i32 = 4;

export let gStart: usize = 0;
export let gCount: usize = 0;
export let gFlags: usize = 0;
export let gKey: usize = 0;
export let gEdges: usize = 0;
export let gN: i32 = 0;

// A, B, D: n entries; C, T: max(n, edges) + 1 entries; stack: 2n + 2 entries.
export let sA: usize = 0;
export let sB: usize = 0;
export let sC: usize = 0;
export let sD: usize = 0;
export let sT: usize = 0;
export let sStack: usize = 0;

export function setGraphRegions(start: usize, count: usize, flags: usize, key: usize, edges: usize, n: i32): void {
  gStart = start;
  gCount = count;
  gFlags = flags;
  gKey = key;
  gEdges = edges;
  gN = n;
}

export function setScratchRegions(a: usize, b: usize, c: usize, d: usize, t: usize, stack: usize): void {
  sA = a;
  sB = b;
  sC = c;
  sD = d;
  sT = t;
  sStack = stack;
}

@inline export function rd(base: usize, i: i32): i32 {
  return load<i32>(base + (<usize>i << 2));
}

@inline export function wr(base: usize, i: i32, v: i32): void {
  store<i32>(base + (<usize>i << 2), v);
}

@inline export function rdf(base: usize, i: i32): f64 {
  return load<f64>(base + (<usize>i << 3));
}

@inline export function edgeStart(v: i32): i32 {
  return load<i32>(gStart + (<usize>v << 2));
}

@inline export function edgeCount(v: i32): i32 {
  return load<i32>(gCount + (<usize>v << 2));
}

@inline export function edgeAt(j: i32): i32 {
  return load<i32>(gEdges + (<usize>j << 2));
}

@inline export function flagsOf(v: i32): i32 {
  return <i32>load<u8>(gFlags + <usize>v);
}

@inline export function keyOf(v: i32): i32 {
  return load<i32>(gKey + (<usize>v << 2));
}

export function fill32(base: usize, value: i32, n: i32): void {
  if (value == 0 || value == -1) {
    memory.fill(base, <u8>value, <usize>n << 2);
    return;
  }
  for (let i = 0; i < n; i++) wr(base, i, value);
}
