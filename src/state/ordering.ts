// The per-event sort keys the v2 orderings compare, computed on the JS side (they need event
// content) for just the events being sorted.
import type { RoomVersion } from '../events/room-versions.js';
import type { PDU } from '../events/pdu.js';
import { userLevel } from '../events/auth/index.js';
import type { EventGraph } from './graph.js';

// Stands in for a missing create event (malformed input): nobody is its creator.
const NO_CREATE = Object.freeze({ type: 'm.room.create', sender: '', content: {} }) as unknown as PDU;

/**
 * The sender's power level "when looking at their auth events": the m.room.power_levels among
 * the event's auth events, with the room creator(s) from its create auth event (v1–11) or the
 * room's create event (v12, where creators have infinite power).
 */
export function senderPower(
  version: RoomVersion,
  g: EventGraph,
  node: number,
  roomCreate: PDU | undefined,
): number {
  const ev = g.events[node]!;
  const plNode = g.authEventWithKey(node, g.keys.find('m.room.power_levels', ''));
  let create = roomCreate;
  if (version.createEventInAuthEvents) {
    const c = g.authEventWithKey(node, g.keys.find('m.room.create', ''));
    create = c >= 0 ? g.events[c] : undefined;
  }
  return userLevel(version, create ?? NO_CREATE, plNode >= 0 ? g.events[plNode] : undefined, ev.sender);
}

/** origin_server_ts of each node (0 when absent or not a number). */
export function timestamps(g: EventGraph, nodes: Int32Array): Float64Array {
  const out = new Float64Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const ts = g.events[nodes[i]!]?.origin_server_ts;
    out[i] = typeof ts === 'number' && Number.isFinite(ts) ? ts : 0;
  }
  return out;
}

/**
 * Ranks of the events of a and b together by event id (code-unit order, which for the ASCII
 * of event ids is byte order), so kernels can compare ids as integers.
 */
export function idRanks(g: EventGraph, a: Int32Array, b: Int32Array): [Int32Array, Int32Array] {
  const all = new Int32Array(a.length + b.length);
  all.set(a);
  all.set(b, a.length);
  const ids = g.ids;
  const order = Array.from(all.keys()).sort((x, y) => {
    const p = ids[all[x]!]!;
    const q = ids[all[y]!]!;
    return p < q ? -1 : p > q ? 1 : 0;
  });
  const rank = new Int32Array(all.length);
  order.forEach((pos, r) => (rank[pos] = r));
  return [rank.subarray(0, a.length), rank.subarray(a.length)];
}
