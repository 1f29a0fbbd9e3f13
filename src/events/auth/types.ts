// The types of the authorisation-rule API (shared with state resolution).
import type { PDU } from '../pdu.js';

export type AuthResult = { allowed: true } | { allowed: false; reason: string };

export interface AuthOptions {
  /** The room's create event, when it is not among the auth state (always so in v12). */
  createEvent?: PDU;
  /** Treat the signatures the rules ask about (restricted-join authorisers, third-party
   *  invite tokens) as valid, e.g. when they were verified on receipt. */
  skipSignatureChecks?: boolean;
  /** public keys for signature checks the rules need: server -> keyId -> raw 32-byte key */
  keys?: (server: string, keyId: string) => Uint8Array | undefined;
}

/** The state event for (type, state_key) among the event's auth events (or the state the
 *  event is checked against), if any. */
export type AuthStateLookup = (type: string, stateKey: string) => PDU | undefined;

export const ALLOW: AuthResult = Object.freeze({ allowed: true });

export function deny(reason: string): AuthResult {
  return { allowed: false, reason };
}
