// The state being built by a resolution: a base state (sorted by key, possibly huge, never
// copied) with the events resolution applied on top, plus the auth-state lookups the auth
// rules make against it.
import type { PDU } from '../events/pdu.js';
import type { AuthStateLookup } from '../events/auth/index.js';
import type { EventGraph, StateNodes } from './graph.js';

export class PartialState {
  private readonly over = new Map<number, number>();

  constructor(
    private readonly g: EventGraph,
    private readonly base: StateNodes | null,
  ) {}

  /** The node at a key, or -1. */
  get(key: number): number {
    const o = this.over.get(key);
    if (o !== undefined) return o;
    const base = this.base;
    if (!base) return -1;
    const keys = this.g.key;
    let lo = 0;
    let hi = base.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[base[mid]!]!;
      if (k < key) lo = mid + 1;
      else if (k > key) hi = mid - 1;
      else return base[mid]!;
    }
    return -1;
  }

  set(key: number, node: number): void {
    this.over.set(key, node);
  }

  /** The events set on top of the base (one per key). */
  applied(): number[] {
    return [...this.over.values()];
  }

  /** Auth state for the rules: this state only (v1's "a room in state R"). */
  lookup(): AuthStateLookup {
    const g = this.g;
    return (type, stateKey) => {
      const n = this.get(g.keys.find(type, stateKey));
      return n >= 0 ? g.events[n] : undefined;
    };
  }

  /**
   * Auth state for the iterative auth checks: this state where it has the key, otherwise the
   * event's own auth event for it unless that was rejected.
   */
  lookupWithAuthEvents(node: number): AuthStateLookup {
    const g = this.g;
    return (type, stateKey): PDU | undefined => {
      const key = g.keys.find(type, stateKey);
      if (key < 0) return undefined;
      const n = this.get(key);
      if (n >= 0) return g.events[n];
      const a = g.authEventWithKey(node, key, true);
      return a >= 0 ? g.events[a] : undefined;
    };
  }
}
