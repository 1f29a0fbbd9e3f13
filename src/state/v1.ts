// State resolution of room version 1 (content/rooms/v1.md "State resolution"): conflicts of
// power levels, then join rules, then each member's membership are resolved by replaying
// the conflicting events in ascending depth (then descending sha1 of the event id) until one
// fails auth; every other conflict takes the deepest event (then lowest sha1) that passes.
import { createHash } from 'node:crypto';
import type { EventGraph, StateNodes } from './graph.js';
import { timedSession, type ResolutionContext } from './context.js';
import { PartialState } from './partial-state.js';

export function resolveV1(r: ResolutionContext, sets: readonly StateNodes[]): StateNodes {
  const g = r.graph;
  const session = timedSession(r, r.kernels.begin(g, sets));
  try {
    // R starts as the union of the states without the conflicting keys.
    const part = session.partition(sets, 'v1');
    if (part.conflicted.length === 0) return part.unconflicted.slice();
    if (r.stats) r.stats.conflicted += part.conflicted.length;
    const byKey = new Map<number, number[]>();
    for (const n of part.conflicted) {
      const k = g.key[n]!;
      const list = byKey.get(k);
      if (list) list.push(n);
      else byKey.set(k, [n]);
    }
    const state = new PartialState(g, part.unconflicted);
    const sha1 = sha1Cache(g);
    const allowed = (node: number): boolean => {
      if (r.stats) r.stats.authChecks++;
      return r.auth(g.events[node]!, state.lookup(), undefined);
    };

    const authKeys = (type: string): number[] =>
      [...byKey.keys()].filter((k) => g.keys.types[k] === type).sort((a, b) => compareStateKeys(g, a, b));
    for (const key of [...authKeys('m.room.power_levels'), ...authKeys('m.room.join_rules'), ...authKeys('m.room.member')]) {
      // Ascending depth, then descending sha1: the first goes in unchecked, each next one
      // only while it passes against R.
      const list = byKey.get(key)!.sort((a, b) => depth(g, a) - depth(g, b) || cmp(sha1(b), sha1(a)));
      state.set(key, list[0]!);
      for (let i = 1; i < list.length; i++) {
        if (!allowed(list[i]!)) break;
        state.set(key, list[i]!);
      }
      byKey.delete(key);
    }
    for (const key of [...byKey.keys()].sort((a, b) => compareKeys(g, a, b))) {
      // Highest depth, then lowest sha1, that passes against R; none passing leaves the key out.
      const list = byKey.get(key)!.sort((a, b) => depth(g, b) - depth(g, a) || cmp(sha1(a), sha1(b)));
      const pick = list.find(allowed);
      if (pick !== undefined) state.set(key, pick);
    }
    return session.mergeState(part.unconflicted, g.sortByKey(state.applied()));
  } finally {
    session.close();
  }
}

function depth(g: EventGraph, node: number): number {
  const d = g.events[node]!.depth;
  return typeof d === 'number' && Number.isFinite(d) ? d : 0;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function compareStateKeys(g: EventGraph, a: number, b: number): number {
  return cmp(g.keys.stateKeys[a]!, g.keys.stateKeys[b]!);
}

function compareKeys(g: EventGraph, a: number, b: number): number {
  return cmp(g.keys.types[a]!, g.keys.types[b]!) || compareStateKeys(g, a, b);
}

function sha1Cache(g: EventGraph): (node: number) => string {
  const memo = new Map<number, string>();
  return (node) => {
    let h = memo.get(node);
    if (h === undefined) {
      h = createHash('sha1').update(g.ids[node]!, 'utf8').digest('hex');
      memo.set(node, h);
    }
    return h;
  };
}
