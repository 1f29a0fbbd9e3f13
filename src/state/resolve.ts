// Public entry points of state resolution: StateResolver over an EventGraph and interned
// states (the representation for big rooms: a server keeps one graph per room and states as
// sorted node arrays), and resolveState over plain event ids and an event lookup.
import { getRoomVersion, type RoomVersion } from '../events/room-versions.js';
import { EventGraph, type EventLookup, type StateNodes } from './graph.js';
import { authRulesCheck, type ResolveStats, type StateAuthCheck } from './context.js';
import type { GraphKernels } from './kernels.js';
import { wasmKernels } from './kernels-wasm.js';
import { referenceKernels } from './reference/kernels.js';
import { resolveV1 } from './v1.js';
import { resolveV2 } from './v2.js';

export interface ResolveOptions {
  /** Which graph kernels to run: the Wasm ones (default) or the TypeScript reference. */
  kernels?: 'wasm' | 'ts' | GraphKernels;
  /** Replaces the auth rules (tests of the driver alone). */
  auth?: StateAuthCheck;
  /** Filled with counters of the work done. */
  stats?: ResolveStats;
}

function versionOf(version: RoomVersion | string): RoomVersion {
  if (typeof version !== 'string') return version;
  const v = getRoomVersion(version);
  if (!v) throw new Error(`unsupported room version "${version}"`);
  return v;
}

function kernelsOf(k: ResolveOptions['kernels']): GraphKernels {
  if (k === undefined || k === 'wasm') return wasmKernels;
  if (k === 'ts') return referenceKernels;
  return k;
}

export class StateResolver {
  readonly version: RoomVersion;
  private readonly kernels: GraphKernels;
  private readonly auth: StateAuthCheck;

  constructor(
    version: RoomVersion | string,
    readonly graph: EventGraph,
    private readonly options: ResolveOptions = {},
  ) {
    this.version = versionOf(version);
    this.kernels = kernelsOf(options.kernels);
    this.auth = options.auth ?? authRulesCheck(this.version);
  }

  /** Resolves states given as sorted node arrays (EventGraph.snapshot) into one. */
  resolve(sets: readonly StateNodes[]): StateNodes {
    if (sets.length === 0) return new Int32Array(0);
    const ctx = {
      graph: this.graph,
      version: this.version,
      kernels: this.kernels,
      auth: this.auth,
      stats: this.options.stats,
    };
    return this.version.stateResolution === 'v1' ? resolveV1(ctx, sets) : resolveV2(ctx, sets);
  }
}

/** A state given as a map whose values are event ids, or as the event ids themselves. */
export type StateSetInput = ReadonlyMap<unknown, string> | Iterable<string>;

function idsOf(set: StateSetInput): Iterable<string> {
  return set instanceof Map ? set.values() : (set as Iterable<string>);
}

/**
 * Resolves states given by event ids; events come from `events` (a lookup function, or a
 * graph already holding them). Keys are taken from the events themselves. Returns
 * [type, state_key, event_id] entries sorted by type, then state_key.
 */
export function resolveStateEntries(
  version: RoomVersion | string,
  stateSets: Iterable<StateSetInput>,
  events: EventLookup | EventGraph,
  options?: ResolveOptions,
): [string, string, string][] {
  const graph = events instanceof EventGraph ? events : new EventGraph(events);
  const sets = [...stateSets].map((s) => graph.snapshot(idsOf(s)));
  return graph.entries(new StateResolver(version, graph, options).resolve(sets));
}

/** The key of a resolved-state map entry: unambiguous for any type and state_key. */
export function stateMapKey(type: string, stateKey: string): string {
  return JSON.stringify([type, stateKey]);
}

/** resolveStateEntries as a Map from stateMapKey(type, state_key) to event id. */
export function resolveState(
  version: RoomVersion | string,
  stateSets: Iterable<StateSetInput>,
  events: EventLookup | EventGraph,
  options?: ResolveOptions,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [t, k, id] of resolveStateEntries(version, stateSets, events, options)) out.set(stateMapKey(t, k), id);
  return out;
}
