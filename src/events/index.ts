// The event core: everything the server computes about a PDU, per room version.
export * from './room-versions.js';
export * from './identifiers.js';
export * from './pdu.js';
export * from './redaction.js';
export * from './hashing.js';
export * from './event-id.js';
export * from './signing.js';
export * from './auth/index.js';
