// The public API: resolveState over maps and a lookup, and a long-lived EventGraph that grows
// between resolutions (the Wasm side copies it incrementally, including placeholders that get
// their event later).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EventGraph,
  StateResolver,
  resolveState,
  resolveStateEntries,
  stateMapKey,
} from '../../src/state/index.js';
import { ALICE, BOB, CHARLIE, standardRoom } from './room-builder.js';
import { randomRoom } from './random-dag.js';

test('resolveState takes state maps and an event lookup and returns a map by (type, state_key)', () => {
  const r = standardRoom('11');
  r.main.powerLevels('PA', ALICE, { [ALICE]: 100, [BOB]: 50 });
  const a = r.main.fork();
  const b = r.main.fork();
  a.member('MB', ALICE, BOB, 'ban');
  b.powerLevels('PB', BOB, { [ALICE]: 100, [BOB]: 50, [CHARLIE]: 50 });
  const out = resolveState('11', [a.state, b.state], r.lookup);
  assert.equal(out.get(stateMapKey('m.room.power_levels', '')), r.id('PA'));
  assert.equal(out.get(stateMapKey('m.room.member', BOB)), r.id('MB'));
  assert.equal(out.size, a.state.size);
  // Keys cannot collide whatever the strings hold.
  assert.notEqual(stateMapKey('a\u0000b', 'c'), stateMapKey('a', 'b\u0000c'));
});

test('a long-lived graph fed out of order resolves like a fresh one, with either kernels', () => {
  for (let seed = 0; seed < 40; seed++) {
    const version = ['2', '10', '11', '12'][seed % 4]!;
    const { room, tips } = randomRoom(500 + seed, version, { steps: 50 });
    const sets = tips.map((t) => t.ids());
    const expected = resolveStateEntries(version, sets, room.lookup, { kernels: 'ts' });

    // Feed the graph in two halves, newest events first, resolving in between so the Wasm
    // mirror has copied nodes that were only placeholders at the time.
    const graph = new EventGraph();
    const all = [...room.events.values()].reverse();
    const half = Math.floor(all.length / 2);
    all.slice(0, half).forEach((e) => graph.add(e));
    const resolver = new StateResolver(version, graph);
    const early = tips.map((t) => t.ids().filter((id) => graph.isLoaded(graph.nodeOf(id))));
    if (early.every((s) => s.length > 0)) {
      const snap = early.map((s) => graph.snapshot(s));
      assert.deepEqual(resolver.resolve(snap), new StateResolver(version, graph, { kernels: 'ts' }).resolve(snap));
    }
    all.slice(half).forEach((e) => graph.add(e));
    const got = graph.entries(resolver.resolve(sets.map((s) => graph.snapshot(s))));
    assert.deepEqual(got, expected, `seed ${seed}`);
  }
});

test('events without an event_id are refused; re-adding an event is a no-op', () => {
  const r = standardRoom('11');
  const g = new EventGraph();
  const ev = r.event('IPOWER');
  const n = g.add(ev);
  assert.equal(g.add(ev), n);
  const { event_id: _, ...noId } = ev;
  assert.throws(() => g.add(noId as typeof ev), /event_id/);
});

test('v12: a rejected auth event is not used when the partial state lacks the key', () => {
  // Bob's topic TB (later) races Alice's TA. v2.1 starts from an empty state, so Bob's
  // membership is looked up among TB's auth events: his join IMB. Marked rejected, it is not
  // used, Bob counts as not joined, and TA stays.
  const r = standardRoom('12', [BOB], { [BOB]: 50 });
  const a = r.main.fork();
  const b = r.main.fork();
  a.topic('TA', ALICE, 'a', { ts: 100_000 });
  b.topic('TB', BOB, 'b', { ts: 200_000 });
  for (const kernels of ['wasm', 'ts'] as const) {
    const g = new EventGraph(r.lookup);
    const sets = [g.snapshot(a.ids()), g.snapshot(b.ids())];
    const topicOf = (): string | undefined =>
      g.entries(new StateResolver('12', g, { kernels }).resolve(sets)).find((e) => e[0] === 'm.room.topic')?.[2];
    assert.equal(topicOf(), r.id('TB'));
    g.markRejected(r.id('IM0'));
    assert.equal(topicOf(), r.id('TA'), kernels);
  }
});
