// Hand-built DAGs with outcomes worked out from the spec's rules (rooms/fragments/
// v2-state-res.md, rooms/v12.md, rooms/v1.md). Every resolution runs with the Wasm kernels and
// with the TypeScript reference (resolveNamed asserts they agree) and the real auth rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ALICE, BOB, CHARLIE, EVE, RoomBuilder, resolveNamed, standardRoom, type NamedState } from './room-builder.js';
import {
  EventGraph,
  newStats,
  referenceKernels,
  resolveStateEntries,
  wasmKernels,
} from '../../src/state/index.js';

const V2_VERSIONS = ['2', '10', '11'];
const ALL_V2 = ['2', '10', '11', '12'];

/** A users map: the creator at 100 where the version lets users list creators. */
function users(r: RoomBuilder, extra: Record<string, number> = {}): Record<string, number> {
  return { ...(r.version.privilegedCreators ? {} : { [ALICE]: 100 }), ...extra };
}

const pl = (s: NamedState): string | undefined => s.get('m.room.power_levels|');
const jr = (s: NamedState): string | undefined => s.get('m.room.join_rules|');
const topic = (s: NamedState): string | undefined => s.get('m.room.topic|');
const member = (s: NamedState, user: string): string | undefined => s.get(`m.room.member|${user}`);

for (const v of ALL_V2) {
  test(`v${v}: a ban beats a concurrent power-level change by the banned user`, () => {
    // PA gives Bob 50. Alice bans Bob (MB) while Bob changes the power levels (PB). X =
    // {MB, PB}: Alice (100, or a v12 creator) sorts first, so the ban applies and PB fails:
    // Bob is no longer joined.
    const r = standardRoom(v);
    r.main.powerLevels('PA', ALICE, users(r, { [BOB]: 50 }));
    const a = r.main.fork();
    const b = r.main.fork();
    a.member('MB', ALICE, BOB, 'ban');
    b.powerLevels('PB', BOB, users(r, { [BOB]: 50, [CHARLIE]: 50 }));
    const s = resolveNamed(r, [a, b]);
    assert.equal(pl(s), 'PA');
    assert.equal(member(s, BOB), 'MB');
  });

  test(`v${v}: topic resets to the old topic when its setter is banned concurrently`, () => {
    // T1 (Alice) under IPOWER; PA gives Bob 50; then Bob sets T2 while Alice bans Bob. The ban
    // (a power event) is applied first; in mainline order T1 (older power levels) comes before
    // T2, and T2 fails because Bob is banned.
    const r = standardRoom(v);
    r.main.topic('T1', ALICE, 'one');
    r.main.powerLevels('PA', ALICE, users(r, { [BOB]: 50 }));
    const a = r.main.fork();
    const b = r.main.fork();
    a.topic('T2', BOB, 'two');
    b.member('MB', ALICE, BOB, 'ban');
    const s = resolveNamed(r, [a, b]);
    assert.equal(topic(s), 'T1');
    assert.equal(member(s, BOB), 'MB');
  });

  test(`v${v}: a join racing a change of join rule to invite is rejected`, () => {
    // JR2 (invite) is a power event, applied in step 2; Eve's join is auth-checked in step 4
    // against the invite-only rule and fails, although it was sent earlier.
    const r = standardRoom(v);
    const a = r.main.fork();
    const b = r.main.fork();
    b.join('ME', EVE, { ts: 50_000 });
    a.joinRules('JR2', ALICE, 'invite', { ts: 60_000 });
    const s = resolveNamed(r, [a, b]);
    assert.equal(jr(s), 'JR2');
    assert.equal(member(s, EVE), undefined);
  });

  test(`v${v}: a demotion and the demoted user's concurrent power change`, () => {
    // Both PL events are in X. Alice outranks Bob, so PD (Bob -> 0) is applied first and Bob's
    // PB is then checked against PD, where Bob's level is below the level to send it.
    const r = standardRoom(v);
    r.main.powerLevels('PA', ALICE, users(r, { [BOB]: 50 }));
    const a = r.main.fork();
    const b = r.main.fork();
    b.powerLevels('PB', BOB, users(r, { [BOB]: 50, [CHARLIE]: 50 }), {}, { ts: 10 });
    a.powerLevels('PD', ALICE, users(r, { [BOB]: 0 }), {}, { ts: 20 });
    const s = resolveNamed(r, [a, b]);
    assert.equal(pl(s), 'PD');
  });

  test(`v${v}: a topic from a user demoted on another branch is dropped (off-topic branch)`, () => {
    const r = standardRoom(v);
    r.main.powerLevels('PA', ALICE, users(r, { [BOB]: 50 }));
    r.main.topic('T0', ALICE, 'zero');
    const a = r.main.fork();
    const b = r.main.fork();
    a.powerLevels('PD', ALICE, users(r, { [BOB]: 0 }));
    b.topic('TB', BOB, 'bob');
    b.topic('TB2', BOB, 'bob again');
    const s = resolveNamed(r, [a, b]);
    assert.equal(pl(s), 'PD');
    assert.equal(topic(s), 'T0');
  });

  test(`v${v}: kick wins over the kicked user's concurrent state`, () => {
    const r = standardRoom(v);
    r.main.powerLevels('PA', ALICE, users(r, { [BOB]: 50 }));
    const a = r.main.fork();
    const b = r.main.fork();
    a.member('KB', ALICE, BOB, 'leave');
    b.topic('TB', BOB, 'bob');
    b.send('NB', 'm.room.name', BOB, '', { name: 'bob room' });
    const s = resolveNamed(r, [a, b]);
    assert.equal(member(s, BOB), 'KB');
    assert.equal(topic(s), undefined);
    assert.equal(s.get('m.room.name|'), undefined);
  });

  test(`v${v}: events depending on a rejected power-level change are rejected too`, () => {
    // Bob (50) promotes Charlie to 50 (PB) and Charlie sets a topic; Alice concurrently demotes
    // Bob (PD). PD sorts first, PB fails, and Charlie's topic fails at Charlie's level 0.
    const r = standardRoom(v);
    r.main.powerLevels('PA', ALICE, users(r, { [BOB]: 50 }));
    const a = r.main.fork();
    const b = r.main.fork();
    b.powerLevels('PB', BOB, users(r, { [BOB]: 50, [CHARLIE]: 50 }));
    b.topic('TC', CHARLIE, 'charlie');
    a.powerLevels('PD', ALICE, users(r, { [BOB]: 0 }));
    const s = resolveNamed(r, [a, b]);
    assert.equal(pl(s), 'PD');
    assert.equal(topic(s), undefined);
  });
}

for (const v of V2_VERSIONS) {
  test(`v${v}: mainline ordering puts the topic under the newer power levels last`, () => {
    // Branch A: PB (Alice) then Charlie's topic TC under PB. Branch B: Bob's topic TB under
    // PA, sent later. PL resolves to PB; mainline of PB is [PB, PA, IPOWER]: TC has position 0,
    // TB position 1, so TB is applied first and TC wins despite its earlier timestamp.
    const r = standardRoom(v);
    r.main.powerLevels('PA', ALICE, users(r, { [BOB]: 50 }));
    const a = r.main.fork();
    const b = r.main.fork();
    a.powerLevels('PB', ALICE, users(r, { [BOB]: 50, [CHARLIE]: 50 }), {}, { ts: 100_000 });
    a.topic('TC', CHARLIE, 'charlie', { ts: 100_001 });
    b.topic('TB', BOB, 'bob', { ts: 200_000 });
    const s = resolveNamed(r, [a, b]);
    assert.equal(pl(s), 'PB');
    assert.equal(topic(s), 'TC');
  });

  test(`v${v}: equal mainline positions fall back to origin_server_ts, then event id`, () => {
    const r = standardRoom(v);
    const a = r.main.fork();
    const b = r.main.fork();
    a.topic('TX', ALICE, 'x', { ts: 500_000 });
    b.topic('TY', ALICE, 'y', { ts: 400_000 });
    assert.equal(topic(resolveNamed(r, [a, b])), 'TX', 'the later timestamp is applied last');

    const c = r.main.fork();
    const d = r.main.fork();
    c.topic('TB', ALICE, 'b', { ts: 600_000 });
    d.topic('TA', ALICE, 'a', { ts: 600_000 });
    assert.equal(topic(resolveNamed(r, [c, d])), 'TB', 'with equal timestamps the greater event id is last');
  });

  test(`v${v}: reverse topological power ordering: sender power before timestamp`, () => {
    // Two concurrent join-rule changes: Alice (100, sent later) sorts before Bob (50, sent
    // earlier), so Bob's is applied last and wins. With equal power, timestamps decide.
    const r = standardRoom(v, [BOB, CHARLIE], { [BOB]: 50, [CHARLIE]: 50 });
    const a = r.main.fork();
    const b = r.main.fork();
    a.joinRules('JA', ALICE, 'invite', { ts: 900_000 });
    b.joinRules('JB', BOB, 'public', { ts: 800_000 });
    assert.equal(jr(resolveNamed(r, [a, b])), 'JB');

    const c = r.main.fork();
    const d = r.main.fork();
    c.joinRules('JC', CHARLIE, 'invite', { ts: 700_000 });
    d.joinRules('JD', BOB, 'public', { ts: 650_000 });
    assert.equal(jr(resolveNamed(r, [c, d])), 'JC');
  });

  test(`v${v}: power events in the auth difference are replayed in auth order`, () => {
    // Branch A has P1 then P2 (P2 cites P1); branch B never saw either. P1 is not in A's state
    // but is in its auth chain only, so it is in the auth difference; Kahn's algorithm puts it
    // before P2 whatever their timestamps, and P2 ends up in the state.
    const r = standardRoom(v);
    const a = r.main.fork();
    const b = r.main.fork();
    a.powerLevels('P1', ALICE, users(r, { [BOB]: 50 }), {}, { ts: 300_000 });
    a.powerLevels('P2', ALICE, users(r, { [BOB]: 50, [CHARLIE]: 50 }), {}, { ts: 200_000 });
    b.topic('TB', ALICE, 'b');
    const stats = newStats();
    const s = resolveNamed(r, [a, b], { stats });
    assert.equal(pl(s), 'P2');
    assert.equal(stats.powerEvents, 3, 'IPOWER, P1 and P2 are replayed');
    assert.equal(topic(s), 'TB');
  });

  test(`v${v}: three-way fork`, () => {
    const r = standardRoom(v, [BOB, CHARLIE], { [BOB]: 50 });
    const a = r.main.fork();
    const b = r.main.fork();
    const c = r.main.fork();
    a.topic('TA', BOB, 'a', { ts: 10_000_000 });
    b.member('MC', ALICE, CHARLIE, 'ban');
    c.powerLevels('PC', ALICE, users(r, { [BOB]: 0 }));
    const s = resolveNamed(r, [a, b, c]);
    assert.equal(member(s, CHARLIE), 'MC');
    assert.equal(pl(s), 'PC');
    assert.equal(topic(s), undefined, 'Bob was demoted before his topic is checked');
  });

  test(`v${v}: an event citing power levels off the mainline is placed by where its chain meets it`, () => {
    // Bob's PB is rejected (Alice demotes him first), so the mainline is [PD, PA, IPOWER].
    // Alice's topic TX cites PB, whose chain meets the mainline at PA (position 1); Alice's TY
    // cites PD (position 0). TX sorts first, so TY wins although TX is later.
    const r = standardRoom(v);
    r.main.powerLevels('PA', ALICE, users(r, { [BOB]: 50 }));
    const a = r.main.fork();
    const b = r.main.fork();
    b.powerLevels('PB', BOB, users(r, { [BOB]: 50, [CHARLIE]: 50 }));
    b.topic('TX', ALICE, 'x', { ts: 9_000_000 });
    a.powerLevels('PD', ALICE, users(r, { [BOB]: 0 }));
    a.topic('TY', ALICE, 'y', { ts: 8_000_000 });
    const s = resolveNamed(r, [a, b]);
    assert.equal(pl(s), 'PD');
    assert.equal(topic(s), 'TY');
  });

  test(`v${v}: identical or single state sets resolve to themselves`, () => {
    const r = standardRoom(v);
    r.main.topic('T', ALICE, 't');
    const expected = new Map(r.main.ids().map((id) => {
      const e = r.events.get(id)!;
      return [`${e.type}|${e.state_key}`, r.nameOf(id)];
    }));
    assert.deepEqual(resolveNamed(r, [r.main]), expected);
    assert.deepEqual(resolveNamed(r, [r.main, r.main.fork(), r.main.fork()]), expected);
  });
}

test('v10: a knock racing a change of join rule from knock to invite is rejected', () => {
  const r = standardRoom('10');
  r.main.joinRules('JK', ALICE, 'knock');
  const a = r.main.fork();
  const b = r.main.fork();
  b.member('KE', EVE, EVE, 'knock', { ts: 10_000 });
  a.joinRules('JI', ALICE, 'invite', { ts: 20_000 });
  const s = resolveNamed(r, [a, b]);
  assert.equal(jr(s), 'JI');
  assert.equal(member(s, EVE), undefined);
  // Without the race the knock stands.
  assert.equal(member(resolveNamed(r, [r.main, b]), EVE), 'KE');
});

for (const v of ['2', '11', '12']) {
  test(`v${v}: resolving against a state that was itself a resolution (multi-level DAG)`, () => {
    // a bans Bob, b has Bob set a topic; they merge (M). Bob's branch goes on from b with a
    // room name; resolving it against M drops the name (Bob is banned in M, and the ban is
    // replayed as a power event) and keeps M's topic choice.
    const r = standardRoom(v, [BOB, CHARLIE], { [BOB]: 50 });
    r.main.topic('T0', ALICE, 'zero');
    const a = r.main.fork();
    const b = r.main.fork();
    a.member('MB', ALICE, BOB, 'ban');
    b.topic('TB', BOB, 'bob');
    const merged = resolveNamed(r, [a, b]);
    assert.equal(member(merged, BOB), 'MB');
    assert.equal(topic(merged), 'T0');
    b.send('NB', 'm.room.name', BOB, '', { name: 'bob' });
    const s = resolveNamed(r, [[...merged.values()], b]);
    assert.equal(member(s, BOB), 'MB');
    assert.equal(s.get('m.room.name|'), undefined);
    assert.equal(topic(s), 'T0');
  });
}

test('v1–11: without a power-levels event the creator orders and acts at level 100', () => {
  for (const v of ['1', '2', '10', '11']) {
    // No m.room.power_levels at all. Alice (creator: content.creator before v11, the sender
    // from v11) bans Bob on one branch and creates the power levels on another. Both are
    // power events at level 100; the ban passes at the creator's implicit 100.
    const r = new RoomBuilder(v);
    r.main.join('IMA', ALICE);
    r.main.joinRules('IJR', ALICE, 'public');
    r.main.join('IMB', BOB);
    const a = r.main.fork();
    const b = r.main.fork();
    a.powerLevels('P1', ALICE, { [ALICE]: 100 });
    b.member('MB', ALICE, BOB, 'ban');
    const s = resolveNamed(r, [a, b]);
    assert.equal(pl(s), 'P1', `v${v}`);
    assert.equal(member(s, BOB), 'MB', `v${v}`);
  }
});

test("the creator's first join resolves in on the create event alone", () => {
  for (const v of ['1', '2', '11', '12']) {
    const r = new RoomBuilder(v);
    const before = r.main.fork();
    r.main.join('IMA', ALICE);
    const s = resolveNamed(r, [before, r.main]);
    assert.equal(member(s, ALICE), 'IMA', `v${v}`);
    assert.equal(s.get('m.room.create|'), 'CREATE');
  }
});

/** Alice (creator) and Bob (100) race power-level changes for Charlie; Bob's is earlier. */
function creatorRace(v: string, createContent: Record<string, unknown> = {}, bobLevel = true): NamedState {
  const r = new RoomBuilder(v, ALICE, createContent);
  const m = r.main;
  m.join('IMA', ALICE);
  const base = { ...(bobLevel ? { [BOB]: 100 } : {}), [CHARLIE]: 50 };
  m.powerLevels('IPOWER', ALICE, users(r, base));
  m.joinRules('IJR', ALICE, 'public');
  m.join('IMB', BOB);
  m.join('IMC', CHARLIE);
  const a = m.fork();
  const b = m.fork();
  b.powerLevels('PB', BOB, users(r, { ...base, [CHARLIE]: 75 }), {}, { ts: 100_000 });
  a.powerLevels('PA', ALICE, users(r, { ...base, [CHARLIE]: 0 }), {}, { ts: 200_000 });
  return resolveNamed(r, [a, b]);
}

test('v11 vs v12: creators have infinite power in the power ordering', () => {
  // v11: Alice and Bob are both 100, so the earlier PB goes first and Alice's PA is applied
  // last. v12: Alice as creator outranks Bob, PA goes first, and Bob's PB is applied last.
  assert.equal(pl(creatorRace('11')), 'PA');
  assert.equal(pl(creatorRace('12')), 'PB');
});

test('v12: additional_creators are creators too (equal infinite power: timestamps decide)', () => {
  assert.equal(pl(creatorRace('12', { additional_creators: [BOB] }, false)), 'PA');
});

test('v11 vs v12: v2.1 builds the mainline from the resolved conflicted events only', () => {
  // Branch B forked before P1 and set TB (under IPOWER) later than Alice's TA (under P1);
  // B then merged P1 in. The final states share P1 (unconflicted) and differ in the topic.
  // v2: the mainline of P1 places TB (position 1) before TA (position 0): TA wins.
  // v2.1: resolution starts from an empty state, P1 is not in the full conflicted set, so the
  // mainline is empty, both positions are equal, and the later TB wins.
  const outcome = (v: string): string | undefined => {
    const r = standardRoom(v);
    const b = r.main.fork();
    r.main.powerLevels('P1', ALICE, users(r, { [CHARLIE]: 50 }), {}, { ts: 100_000 });
    const atP1 = r.main.fork();
    r.main.topic('TA', ALICE, 'a', { ts: 200_000 });
    b.topic('TB', ALICE, 'b', { ts: 300_000 });
    const merged = resolveNamed(r, [b, atP1]);
    assert.equal(pl(merged), 'P1');
    assert.equal(topic(merged), 'TB');
    const bMerged = [...merged.values()];
    return topic(resolveNamed(r, [r.main.ids().map((id) => r.nameOf(id)), bMerged]));
  };
  assert.equal(outcome('11'), 'TA');
  assert.equal(outcome('12'), 'TB');
});

test('v11 vs v12: v2.1 checks conflicted events against their own auth events, not the unconflicted state', () => {
  // Bob sets TB, then Alice bans him (MB); a later topic TX (Alice, clock skewed to an earlier
  // timestamp than TB) follows. States: after MB (topic TB) and after TX. MB is unconflicted.
  // v2 checks TB against the unconflicted ban and drops it: TX. v2.1 starts empty, looks Bob's
  // membership up in TB's auth events (joined), and applies TB after TX: TB.
  const outcome = (v: string): string | undefined => {
    const r = standardRoom(v, [BOB, CHARLIE], { [BOB]: 50 });
    r.main.topic('TB', BOB, 'bob', { ts: 500_000 });
    r.main.member('MB', ALICE, BOB, 'ban', { ts: 600_000 });
    const atBan = r.main.fork();
    r.main.topic('TX', ALICE, 'x', { ts: 400_000 });
    const s = resolveNamed(r, [atBan, r.main]);
    assert.equal(member(s, BOB), 'MB');
    return topic(s);
  };
  assert.equal(outcome('11'), 'TX');
  assert.equal(outcome('12'), 'TB');
});

test('v2.1 adds the conflicted state subgraph (events on auth paths between conflicted events)', () => {
  // Bob joins under P1 (IMB cites P1 and the join rules IJR, which cites P1 too), then Bob (50)
  // sends P3 citing P1 and IMB. The states hold P1 and P3 for the power levels: conflicted.
  // IMB and IJR are unconflicted but lie on the paths P3 -> IMB -> P1 and
  // P3 -> IMB -> IJR -> P1, so v2.1 (only) puts them in the full conflicted set. Alice's join
  // (no path to P1) stays out.
  for (const [v, expectSubgraph] of [['11', false], ['12', true]] as const) {
    const r = new RoomBuilder(v);
    r.main.join('IMA', ALICE);
    r.main.powerLevels('P1', ALICE, users(r, { [BOB]: 50 }));
    r.main.joinRules('IJR', ALICE, 'public');
    r.main.join('IMB', BOB);
    const old = r.main.fork();
    r.main.powerLevels('P3', BOB, users(r, { [BOB]: 50, [CHARLIE]: 25 }));
    const g = new EventGraph(r.lookup);
    const sets = [g.snapshot(old.ids()), g.snapshot(r.main.ids())];
    for (const kernels of [wasmKernels, referenceKernels]) {
      const session = kernels.begin(g, sets);
      const part = session.partition(sets, 'v2');
      const { power, rest } = session.conflictedSets(part, v === '12');
      const names = [...power, ...rest].map((n) => r.nameOf(g.ids[n]!)).sort();
      session.close();
      assert.deepEqual(names, expectSubgraph ? ['IJR', 'IMB', 'P1', 'P3'] : ['P1', 'P3'], `v${v} ${kernels.name}`);
    }
    assert.equal(pl(resolveNamed(r, [old, r.main])), 'P3');
  }
});

// ---- Room version 1 -------------------------------------------------------------------------

test('v1: conflicting power levels replay by ascending depth while allowed', () => {
  const r = standardRoom('1');
  const a = r.main.fork();
  const b = r.main.fork();
  a.powerLevels('PA', ALICE, users(r, { [BOB]: 50 }));
  b.topic('T', ALICE, 't');
  b.powerLevels('PB', ALICE, users(r, { [CHARLIE]: 50 }));
  // PA (shallower) goes in first, then PB passes against it.
  assert.equal(pl(resolveNamed(r, [a, b])), 'PB');
});

test('v1: the replay stops at the first power-levels event that fails', () => {
  const r = standardRoom('1', [BOB, CHARLIE], { [BOB]: 50 });
  const a = r.main.fork();
  const b = r.main.fork();
  a.powerLevels('PD', ALICE, users(r, { [BOB]: 0 }));
  b.topic('T', BOB, 't');
  b.powerLevels('PB', BOB, users(r, { [BOB]: 50, [CHARLIE]: 50 }));
  // PD (depth n+1) first; PB (n+2) is checked against PD, where Bob has 0: rejected.
  const s = resolveNamed(r, [a, b]);
  assert.equal(pl(s), 'PD');
  // The topic is an "other" conflict (absent on a) only... it is present in b only, which v1
  // does not count as a conflict: it stays without an auth check.
  assert.equal(topic(s), 'T');
});

test('v1: membership conflicts replay by depth (a shallower ban blocks a deeper join)', () => {
  const r = standardRoom('1', [BOB, CHARLIE], {});
  r.main.member('LB', BOB, BOB, 'leave');
  const a = r.main.fork();
  const b = r.main.fork();
  a.member('MB', ALICE, BOB, 'ban');
  b.topic('T', ALICE, 't');
  b.join('JB', BOB);
  // Bob's key: MB (depth n+1) goes in, JB (n+2) is checked with Bob banned and fails.
  assert.equal(member(resolveNamed(r, [a, b]), BOB), 'MB');

  const c = r.main.fork();
  const d = r.main.fork();
  c.join('JB2', BOB);
  d.topic('T2', ALICE, 't2');
  d.member('MB2', ALICE, BOB, 'ban');
  // Now the join is shallower: it goes in first and the deeper ban passes against it.
  assert.equal(member(resolveNamed(r, [c, d]), BOB), 'MB2');
});

test('v1 vs v2: depth, not the mainline or timestamps, picks among other conflicts', () => {
  // Branch a is long (messages) and sets its topic early; branch b sets a topic later in time
  // but at a smaller depth. v1 takes the deepest topic; v2 orders by timestamp (same mainline
  // position) and applies b's later topic last.
  const outcome = (v: string): string | undefined => {
    const r = standardRoom(v);
    const a = r.main.fork();
    const b = r.main.fork();
    for (let i = 0; i < 5; i++) a.message(`M${i}`, ALICE);
    a.topic('TA', ALICE, 'deep', { ts: 100_000 });
    b.topic('TB', ALICE, 'late', { ts: 900_000 });
    return topic(resolveNamed(r, [a, b]));
  };
  assert.equal(outcome('1'), 'TA');
  assert.equal(outcome('2'), 'TB');
});

test('v1: the deepest other event failing auth in R gives way to the next', () => {
  const r = standardRoom('1', [BOB, CHARLIE], { [BOB]: 50 });
  r.main.topic('T0', ALICE, 'zero');
  const a = r.main.fork();
  const b = r.main.fork();
  a.powerLevels('PD', ALICE, users(r, { [BOB]: 0 }));
  a.topic('TA', ALICE, 'alice');
  b.message('M1', BOB);
  b.message('M2', BOB);
  b.topic('TB', BOB, 'bob');
  // PL conflict {IPOWER, PD}: IPOWER (shallower) first, PD passes: R has PD. Topic conflict
  // {TA, TB}: TB is deeper but Bob has 0 in R, so TA.
  const s = resolveNamed(r, [a, b]);
  assert.equal(pl(s), 'PD');
  assert.equal(topic(s), 'TA');
});

test('v1 vs v2: a key missing from one state is a conflict only in v2', () => {
  const outcome = (v: string): NamedState => {
    const r = standardRoom(v, [BOB, CHARLIE], { [BOB]: 50 });
    const a = r.main.fork();
    const b = r.main.fork();
    a.topic('TB', BOB, 'bob');
    b.powerLevels('PD', ALICE, users(r, { [BOB]: 0 }));
    return resolveNamed(r, [a, b]);
  };
  // v1: the topic is only in one state, so it is taken as is.
  assert.equal(topic(outcome('1')), 'TB');
  // v2: the topic key is conflicted; after PD Bob cannot set it.
  assert.equal(topic(outcome('2')), undefined);
  assert.equal(pl(outcome('2')), 'PD');
});

test('v1: ties in depth are broken by sha1 of the event id', () => {
  // Two topics at the same depth: the lowest sha1(event_id) wins among "other" conflicts.
  const r = standardRoom('1');
  const a = r.main.fork();
  const b = r.main.fork();
  a.topic('TA', ALICE, 'a');
  b.topic('TB', ALICE, 'b');
  const h = (name: string): string => createHash('sha1').update(r.id(name)).digest('hex');
  const expected = h('TA') < h('TB') ? 'TA' : 'TB';
  assert.equal(topic(resolveNamed(r, [a, b])), expected);
});

test('state sets naming unknown events, non-state events or one key twice are refused', () => {
  const r = standardRoom('10');
  r.main.message('MSG', ALICE);
  r.main.topic('T2', ALICE, 'again');
  const state = r.main.ids();
  assert.throws(() => resolveStateEntries('10', [state, [...state, '$nope']], r.lookup), /unknown event \$nope/);
  const g = new EventGraph(r.lookup);
  assert.throws(() => g.snapshot([r.id('MSG')]), /not a state event/);
  assert.throws(() => g.snapshot([r.id('IMA'), r.id('IMA')]), /twice/);
  r.main.topic('T3', ALICE, 'third');
  assert.throws(() => g.snapshot([r.id('T2'), r.id('T3')]), /share a \(type, state_key\)/);
  assert.throws(() => resolveStateEntries('99', [state], r.lookup), /unsupported room version/);
});
