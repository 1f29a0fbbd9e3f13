// State resolution v2 (room versions 2–11) and v2.1 (room version 12): the driver around the
// graph kernels (content/rooms/fragments/v2-state-res.md, content/rooms/v12.md).
import type { PDU } from '../events/pdu.js';
import type { EventGraph, StateNodes } from './graph.js';
import { timedSession, type ResolutionContext } from './context.js';
import { PartialState } from './partial-state.js';
import { idRanks, senderPower, timestamps } from './ordering.js';

export function resolveV2(r: ResolutionContext, sets: readonly StateNodes[]): StateNodes {
  const { graph: g, version } = r;
  const v21 = version.stateResolution === 'v2.1';
  // Looked up before the session starts: fetching it may add to the graph.
  const roomCreate = version.createEventInAuthEvents ? undefined : roomCreateEvent(g, sets);
  const session = timedSession(r, r.kernels.begin(g, sets));
  try {
    const part = session.partition(sets, 'v2');
    if (part.conflicted.length === 0) return part.unconflicted.slice();
    // Full conflicted set; X = its power events and the events of their auth chains in it.
    const { power, rest } = session.conflictedSets(part, v21);
    if (r.stats) {
      r.stats.conflicted += part.conflicted.length;
      r.stats.fullConflicted += power.length + rest.length;
      r.stats.powerEvents += power.length;
    }
    const [powerRank, restRank] = idRanks(g, power, rest);
    const levels = new Float64Array(power.length);
    for (let i = 0; i < power.length; i++) levels[i] = senderPower(version, g, power[i]!, roomCreate);

    // Step 1–2: X in reverse topological power order, auth-checked onto the unconflicted
    // state (v2) or an empty state (v2.1).
    const powerOrder = session.powerSort(power, levels, timestamps(g, power), powerRank);
    const state = new PartialState(g, v21 ? null : part.unconflicted);
    iterativeAuthChecks(r, powerOrder, state, roomCreate);

    // Step 3–4: the rest in mainline order of the resolved power levels, auth-checked on top.
    const pl = state.get(g.keys.find('m.room.power_levels', ''));
    const restOrder = session.mainlineSort(rest, pl, timestamps(g, rest), restRank);
    iterativeAuthChecks(r, restOrder, state, roomCreate);

    // Step 5: the unconflicted state wins over whatever resolution put at its keys.
    return session.mergeState(part.unconflicted, g.sortByKey(state.applied()));
  } finally {
    session.close();
  }
}

/**
 * Applies each state event of `order` that the auth rules allow, looking up each key in the
 * partially resolved state and, where absent, among the event's own auth events.
 */
function iterativeAuthChecks(
  r: ResolutionContext,
  order: Int32Array,
  state: PartialState,
  roomCreate: PDU | undefined,
): void {
  const g = r.graph;
  const t0 = r.stats ? performance.now() : 0;
  for (let i = 0; i < order.length; i++) {
    const node = order[i]!;
    const key = g.key[node]!;
    if (key < 0) continue;
    if (r.auth(g.events[node]!, state.lookupWithAuthEvents(node), roomCreate)) state.set(key, node);
  }
  if (r.stats) {
    r.stats.authChecks += order.length;
    r.stats.authMs += performance.now() - t0;
  }
}

/**
 * v12: the create event is named by the room id ("!" + its id without "$") and is not among
 * auth events, so the rules and the power ordering are handed it separately.
 */
export function roomCreateEvent(g: EventGraph, sets: readonly StateNodes[]): PDU | undefined {
  for (const set of sets) {
    for (let i = 0; i < set.length; i++) {
      const ev = g.events[set[i]!]!;
      if (ev.type === 'm.room.create' && ev.state_key === '') return ev;
      const roomId = ev.room_id;
      if (typeof roomId === 'string' && roomId.startsWith('!')) {
        const n = g.require('$' + roomId.slice(1));
        return n >= 0 ? g.events[n] : undefined;
      }
    }
  }
  return undefined;
}
