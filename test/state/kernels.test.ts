// The graph kernels on small hand-made auth graphs, against outcomes worked out from the
// spec's definitions (auth difference, conflicted subgraph, X, Kahn with tie-breaks,
// mainline positions), for both the Wasm kernels and the TypeScript reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PDU } from '../../src/events/pdu.js';
import { EventGraph, referenceKernels, wasmKernels, type GraphKernels } from '../../src/state/index.js';

const KERNELS: GraphKernels[] = [wasmKernels, referenceKernels];

/** A minimal event: id `$name`, auth events by name; type/state_key decide the flags. */
function ev(name: string, type: string, stateKey: string, auth: string[], content: Record<string, unknown> = {}): PDU {
  return {
    event_id: `$${name}`,
    room_id: '!r:x',
    sender: '@a:x',
    type,
    state_key: stateKey,
    content,
    prev_events: [],
    auth_events: auth.map((a) => `$${a}`),
    depth: 1,
    origin_server_ts: 0,
    hashes: { sha256: '' },
    signatures: {},
  };
}

function graphOf(events: PDU[]): { g: EventGraph; n: (name: string) => number; name: (node: number) => string } {
  const g = new EventGraph();
  for (const e of events) g.add(e);
  return { g, n: (name) => g.nodeOf(`$${name}`), name: (node) => g.ids[node]!.slice(1) };
}

test('auth difference counts a state set own events as part of its full auth chain', () => {
  // S1 = {C, X1}, S2 = {C, X2}; X1 -> Y1 -> C, X2 -> Y2 -> C, both X -> Z -> C.
  const { g, name } = graphOf([
    ev('C', 'm.room.create', '', []),
    ev('Z', 'm.room.member', '@z:x', ['C'], { membership: 'join' }),
    ev('Y1', 'm.room.member', '@y1:x', ['C'], { membership: 'join' }),
    ev('Y2', 'm.room.member', '@y2:x', ['C'], { membership: 'join' }),
    ev('X1', 'm.room.topic', '', ['Y1', 'Z']),
    ev('X2', 'm.room.topic', '', ['Y2', 'Z']),
  ]);
  const sets = [g.snapshot(['$C', '$X1']), g.snapshot(['$C', '$X2'])];
  for (const k of KERNELS) {
    const s = k.begin(g, sets);
    const part = s.partition(sets, 'v2');
    assert.deepEqual([...part.unconflicted].map(name), ['C']);
    const { power, rest } = s.conflictedSets(part, false);
    s.close();
    assert.deepEqual(power.length, 0);
    // Z is in both chains; Y1, Y2 in one each; the conflicted X1, X2 are in the set anyway.
    assert.deepEqual([...rest].map(name).sort(), ['X1', 'X2', 'Y1', 'Y2'], k.name);
  }
});

test('X holds the power events and the full-set events in their auth chains; v2.1 adds paths', () => {
  // Conflicted: P2 (state 1) vs P1 (state 2) for the power levels. P2 -> M -> P1, P2 -> P1.
  // T (topic, state 1 only) -> M. M is in both states.
  const { g, name } = graphOf([
    ev('C', 'm.room.create', '', []),
    ev('P1', 'm.room.power_levels', '', ['C']),
    ev('M', 'm.room.member', '@m:x', ['C', 'P1'], { membership: 'join' }),
    ev('P2', 'm.room.power_levels', '', ['C', 'P1', 'M']),
    ev('T', 'm.room.topic', '', ['C', 'P2', 'M']),
  ]);
  const sets = [g.snapshot(['$C', '$M', '$P2', '$T']), g.snapshot(['$C', '$M', '$P1'])];
  for (const k of KERNELS) {
    const s = k.begin(g, sets);
    const part = s.partition(sets, 'v2');
    const v2 = s.conflictedSets(part, false);
    assert.deepEqual([...v2.power].map(name).sort(), ['P1', 'P2'], k.name);
    assert.deepEqual([...v2.rest].map(name), ['T']);
    const v21 = s.conflictedSets(part, true);
    s.close();
    assert.deepEqual([...v21.power].map(name).sort(), ['M', 'P1', 'P2'], `${k.name} v2.1`);
    assert.deepEqual([...v21.rest].map(name), ['T']);
  }
});

test("Kahn's algorithm takes the ready event with the greatest power, then earliest ts, then id", () => {
  // d -> a, c -> b. Ready at first: a (50), b (100). b; then c (100) is ready; then a; then d.
  const { g, n, name } = graphOf([
    ev('a', 'm.room.join_rules', '', []),
    ev('b', 'm.room.join_rules', '', []),
    ev('c', 'm.room.join_rules', '', ['b']),
    ev('d', 'm.room.join_rules', '', ['a']),
    ev('e', 'm.room.join_rules', '', []),
    ev('f', 'm.room.join_rules', '', []),
  ]);
  const xs = Int32Array.from(['d', 'c', 'b', 'a'].map(n));
  for (const k of KERNELS) {
    const s = k.begin(g, []);
    const order = s.powerSort(xs, Float64Array.of(0, 100, 100, 50), Float64Array.of(0, 2, 5, 1), Int32Array.of(3, 2, 1, 0));
    assert.deepEqual([...order].map(name), ['b', 'c', 'a', 'd'], k.name);
    // Equal power: earlier ts first; equal ts: smaller id rank first. Infinity outranks all.
    const two = Int32Array.from(['e', 'f'].map(n));
    assert.deepEqual([...s.powerSort(two, Float64Array.of(5, 5), Float64Array.of(9, 3), Int32Array.of(0, 1))].map(name), ['f', 'e']);
    assert.deepEqual([...s.powerSort(two, Float64Array.of(5, 5), Float64Array.of(3, 3), Int32Array.of(1, 0))].map(name), ['f', 'e']);
    assert.deepEqual([...s.powerSort(two, Float64Array.of(Infinity, 1e9), Float64Array.of(9, 3), Int32Array.of(0, 1))].map(name), ['e', 'f']);
    s.close();
  }
});

test('mainline positions: the first power-levels event met on the mainline, infinity before all', () => {
  // Mainline of P2: [P2, P1, P0]. Q (off the mainline) cites P1.
  const { g, n, name } = graphOf([
    ev('P0', 'm.room.power_levels', '', []),
    ev('P1', 'm.room.power_levels', '', ['P0']),
    ev('P2', 'm.room.power_levels', '', ['P1']),
    ev('Q', 'm.room.power_levels', '', ['P1']),
    ev('e0', 'm.room.topic', '', ['P2']), // position 0
    ev('eq', 'm.room.topic', '', ['Q']), // Q -> P1: position 1
    ev('e2', 'm.room.topic', '', ['P0']), // position 2
    ev('einf', 'm.room.topic', '', []), // no power levels: infinity
  ]);
  const es = Int32Array.from(['e0', 'eq', 'e2', 'einf'].map(n));
  // Timestamps opposing the positions, to show positions come first.
  const ts = Float64Array.of(1, 2, 3, 4);
  for (const k of KERNELS) {
    const s = k.begin(g, []);
    assert.deepEqual([...s.mainlineSort(es, n('P2'), ts, Int32Array.of(0, 1, 2, 3))].map(name), ['einf', 'e2', 'eq', 'e0'], k.name);
    // Based on Q instead: mainline [Q, P1, P0]. eq cites Q: position 0; e0 cites P2, which is
    // off this mainline, and P2 -> P1: position 1.
    assert.deepEqual([...s.mainlineSort(es, n('Q'), ts, Int32Array.of(0, 1, 2, 3))].map(name), ['einf', 'e2', 'e0', 'eq']);
    // No power levels in the resolved state: all positions equal, timestamps decide.
    assert.deepEqual([...s.mainlineSort(es, -1, ts, Int32Array.of(0, 1, 2, 3))].map(name), ['e0', 'eq', 'e2', 'einf']);
    s.close();
  }
});

test('v1 partition: a key missing from a state is not a conflict; in v2 it is', () => {
  const { g, name } = graphOf([ev('C', 'm.room.create', '', []), ev('T', 'm.room.topic', '', ['C'])]);
  const sets = [g.snapshot(['$C', '$T']), g.snapshot(['$C'])];
  for (const k of KERNELS) {
    const s = k.begin(g, sets);
    assert.deepEqual([...s.partition(sets, 'v1').unconflicted].map(name), ['C', 'T']);
    const v2 = s.partition(sets, 'v2');
    assert.deepEqual([...v2.unconflicted].map(name), ['C']);
    assert.deepEqual([...v2.conflicted].map(name), ['T']);
    assert.deepEqual(v2.perSet.map((p) => [...p].map(name)), [['T'], []]);
    s.close();
  }
});
