// What one resolution works with, shared by the v1 and v2 drivers.
import type { RoomVersion } from '../events/room-versions.js';
import type { PDU } from '../events/pdu.js';
import { checkAuth, type AuthOptions, type AuthStateLookup } from '../events/auth/index.js';
import type { EventGraph } from './graph.js';
import type { GraphKernels, KernelSession } from './kernels.js';

/** Whether `event` passes the auth rules against `state` (create: the room's create event
 *  when it is not part of the state, as in v12). */
export type StateAuthCheck = (event: PDU, state: AuthStateLookup, create: PDU | undefined) => boolean;

/** Counters a caller can pass in to see where a resolution spent its effort. */
export interface ResolveStats {
  conflicted: number;
  fullConflicted: number;
  powerEvents: number;
  authChecks: number;
  /** Time inside the iterative auth checks, ms. */
  authMs: number;
  /** Time inside the graph kernels, ms. */
  graphMs: number;
}

export function newStats(): ResolveStats {
  return { conflicted: 0, fullConflicted: 0, powerEvents: 0, authChecks: 0, authMs: 0, graphMs: 0 };
}

export interface ResolutionContext {
  graph: EventGraph;
  version: RoomVersion;
  kernels: GraphKernels;
  auth: StateAuthCheck;
  stats?: ResolveStats;
}

/**
 * The auth rules as state resolution applies them: events were verified on receipt, so the
 * signatures the rules ask about (restricted-join authorisers, third-party invites) are
 * taken as valid.
 */
export function authRulesCheck(version: RoomVersion): StateAuthCheck {
  const plain: AuthOptions = Object.freeze({ skipSignatureChecks: true });
  return (event, state, create) =>
    checkAuth(version, event, state, create ? { createEvent: create, skipSignatureChecks: true } : plain).allowed;
}

/** The session itself, or with stats a wrapper adding the time of each kernel call to graphMs. */
export function timedSession(r: ResolutionContext, session: KernelSession): KernelSession {
  const stats = r.stats;
  if (!stats) return session;
  const timed = <A extends unknown[], R>(f: (...a: A) => R) => (...a: A): R => {
    const t = performance.now();
    try {
      return f.apply(session, a);
    } finally {
      stats.graphMs += performance.now() - t;
    }
  };
  return {
    partition: timed(session.partition),
    conflictedSets: timed(session.conflictedSets),
    powerSort: timed(session.powerSort),
    mainlineSort: timed(session.mainlineSort),
    mergeState: timed(session.mergeState),
    close: () => session.close(),
  };
}
