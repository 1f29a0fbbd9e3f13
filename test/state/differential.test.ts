// The Wasm kernels against the TypeScript reference: whole resolutions on 1,000 random DAGs,
// and each kernel on its own with random inputs over the same graphs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventGraph, newStats, referenceKernels, resolveStateEntries, wasmKernels } from '../../src/state/index.js';
import { prng, randomRoom } from './random-dag.js';

const VERSIONS = ['1', '2', '10', '11', '12'];

test('Wasm and TypeScript state resolution agree on 1,000 random DAGs', () => {
  let withConflicts = 0;
  let authChecks = 0;
  for (let seed = 0; seed < 1000; seed++) {
    const version = VERSIONS[seed % VERSIONS.length]!;
    const { room, tips } = randomRoom(seed, version);
    const sets = tips.map((t) => t.ids());
    const stats = newStats();
    const wasm = resolveStateEntries(version, sets, room.lookup, { kernels: 'wasm', stats });
    const ts = resolveStateEntries(version, sets, room.lookup, { kernels: 'ts' });
    assert.deepEqual(wasm, ts, `seed ${seed} (room version ${version})`);
    if (stats.conflicted > 0) withConflicts++;
    authChecks += stats.authChecks;
  }
  // The generator must actually produce forks worth resolving.
  assert.ok(withConflicts > 700, `only ${withConflicts} DAGs had conflicts`);
  assert.ok(authChecks > 5000, `only ${authChecks} auth checks`);
});

test('each graph kernel matches the reference on random inputs', () => {
  for (let seed = 0; seed < 200; seed++) {
    const version = VERSIONS[seed % VERSIONS.length]!;
    const { room, tips } = randomRoom(10_000 + seed, version, { steps: 60 });
    const g = new EventGraph(room.lookup);
    const sets = tips.map((t) => g.snapshot(t.ids()));
    const rnd = prng(seed);
    const w = wasmKernels.begin(g, sets);
    const r = referenceKernels.begin(g, sets);
    try {
      for (const mode of ['v1', 'v2'] as const) {
        const pw = w.partition(sets, mode);
        const pr = r.partition(sets, mode);
        assert.deepEqual([...pw.unconflicted], [...pr.unconflicted], `partition ${mode} seed ${seed}`);
        assert.deepEqual([...pw.conflicted], [...pr.conflicted]);
        assert.deepEqual(pw.perSet.map((s) => [...s]), pr.perSet.map((s) => [...s]));
      }
      const part = r.partition(sets, 'v2');
      for (const sub of [false, true]) {
        const cw = w.conflictedSets(part, sub);
        const cr = r.conflictedSets(part, sub);
        assert.deepEqual([...cw.power], [...cr.power], `X seed ${seed} subgraph ${sub}`);
        assert.deepEqual([...cw.rest], [...cr.rest], `rest seed ${seed} subgraph ${sub}`);
      }
      // Orderings over arbitrary node subsets with colliding keys.
      const nodes = Int32Array.from({ length: g.nodeCount }, (_, i) => i).filter(() => rnd() < 0.6);
      const power = Float64Array.from(nodes, () => [0, 50, 100, Infinity][Math.floor(rnd() * 4)]!);
      const ts = Float64Array.from(nodes, () => Math.floor(rnd() * 5));
      const rank = Int32Array.from(nodes.keys()).sort(() => rnd() - 0.5);
      assert.deepEqual([...w.powerSort(nodes, power, ts, rank)], [...r.powerSort(nodes, power, ts, rank)], `powerSort seed ${seed}`);
      const pls = [...nodes].filter((n) => g.events[n]?.type === 'm.room.power_levels');
      const pl = pls.length > 0 ? pls[Math.floor(rnd() * pls.length)]! : -1;
      assert.deepEqual([...w.mainlineSort(nodes, pl, ts, rank)], [...r.mainlineSort(nodes, pl, ts, rank)], `mainline seed ${seed}`);
      const seenKeys = new Set<number>();
      const over = g.sortByKey(part.conflicted.filter((n) => !seenKeys.has(g.key[n]!) && !!seenKeys.add(g.key[n]!)));
      assert.deepEqual([...w.mergeState(part.unconflicted, over)], [...r.mergeState(part.unconflicted, over)]);
    } finally {
      w.close();
      r.close();
    }
  }
});
