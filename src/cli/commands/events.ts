// Event-core commands: event ids, redaction, hash/signature checks and auth-rule checks over
// JSON on stdin (one document, or one per line with --ndjson), one JSON result line each.
import { readFile } from 'node:fs/promises';
import { decodeBase64 } from '../../crypto/base64.js';
import { defineCommand, eachDocument, NDJSON_OPTION, parseJsonDocument, UsageError } from '../io.js';
import { getRoomVersion, SUPPORTED_ROOM_VERSIONS, type RoomVersion } from '../../events/room-versions.js';
import { isJsonObject, parsePdu, type PDU } from '../../events/pdu.js';
import { computeEventId } from '../../events/event-id.js';
import { redact } from '../../events/redaction.js';
import { checkContentHash } from '../../events/hashing.js';
import { checkEventSignatures, type KeyLookup } from '../../events/signing.js';
import { checkAuthWithAuthEvents } from '../../events/auth/index.js';

function roomVersionArg(value: string | undefined, required: boolean): RoomVersion | undefined {
  if (value === undefined) {
    if (required) throw new UsageError('--room-version is required');
    return undefined;
  }
  const v = getRoomVersion(value);
  if (!v) throw new UsageError(`unsupported room version "${value}" (supported: ${SUPPORTED_ROOM_VERSIONS.join(', ')})`);
  return v;
}

function objectDocument(doc: Buffer): Record<string, unknown> {
  const value = parseJsonDocument(doc);
  if (!isJsonObject(value)) throw new Error('input is not a JSON object');
  return value;
}

/** Keys file: {"server": {"ed25519:id": "<unpadded base64 public key>"}}. */
export async function readKeysFile(path: string): Promise<KeyLookup> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read keys file ${path}: ${(e as Error).message}`);
  }
  if (!isJsonObject(parsed)) throw new UsageError('keys file must map server name -> key id -> base64 public key');
  const keys = new Map<string, Uint8Array>();
  for (const [server, byId] of Object.entries(parsed)) {
    if (!isJsonObject(byId)) throw new UsageError(`keys file: entry for ${server} must be an object`);
    for (const [keyId, b64] of Object.entries(byId)) {
      if (typeof b64 !== 'string') throw new UsageError(`keys file: ${server} ${keyId} must be a string`);
      try {
        keys.set(`${server}\u0000${keyId}`, decodeBase64(b64));
      } catch (e) {
        throw new UsageError(`keys file: ${server} ${keyId}: ${(e as Error).message}`);
      }
    }
  }
  return (server, keyId) => keys.get(`${server}\u0000${keyId}`);
}

const ROOM_VERSION = { type: 'string', arg: 'V', help: `the room version (${SUPPORTED_ROOM_VERSIONS.join(', ')})` } as const;

/** `event-id --room-version V`: {"event_id": …} for each PDU. */
export const eventIdCommand = defineCommand(
  {
    name: 'event-id',
    synopsis: '--room-version V [--ndjson] < PDU',
    description: 'Prints {"event_id": …} for the PDU on stdin (the reference hash, or its own event_id in v1 and v2).',
    options: { 'room-version': ROOM_VERSION, ndjson: NDJSON_OPTION },
  },
  async (values) => {
    const version = roomVersionArg(values['room-version'], true)!;
    return eachDocument(!!values.ndjson, (doc) => JSON.stringify({ event_id: computeEventId(version, objectDocument(doc)) }));
  },
);

/** `redact --room-version V`: the redacted form of each PDU. */
export const redactCommand = defineCommand(
  {
    name: 'redact',
    synopsis: '--room-version V [--ndjson] < PDU',
    description: 'Prints the redacted form of the PDU on stdin, by the rules of the room version.',
    options: { 'room-version': ROOM_VERSION, ndjson: NDJSON_OPTION },
  },
  async (values) => {
    const version = roomVersionArg(values['room-version'], true)!;
    return eachDocument(!!values.ndjson, (doc) => JSON.stringify(redact(version, objectDocument(doc))));
  },
);

/**
 * `check-event --room-version V --keys FILE`: format validation (an invalid PDU is unusable
 * input), then {"event_id", "content_hash": "ok"|"mismatch", "signatures": {server: status}}.
 */
export const checkEventCommand = defineCommand(
  {
    name: 'check-event',
    synopsis: '--room-version V --keys FILE [--ndjson] < PDU',
    description:
      'Validates the PDU on stdin, then checks its content hash and signatures; prints\n' +
      '{"event_id", "content_hash": "ok"|"mismatch", "signatures": {server: status}}.',
    options: {
      'room-version': ROOM_VERSION,
      keys: { type: 'string', arg: 'FILE', help: 'public keys: {"server": {"ed25519:id": "<unpadded base64>"}}' },
      ndjson: NDJSON_OPTION,
    },
  },
  async (values) => {
    const version = roomVersionArg(values['room-version'], true)!;
    if (!values.keys) throw new UsageError('--keys FILE is required');
    const keys = await readKeysFile(values.keys);
    return eachDocument(!!values.ndjson, (doc) => {
      const event = parsePdu(version, parseJsonDocument(doc));
      return JSON.stringify({
        event_id: computeEventId(version, event),
        content_hash: checkContentHash(version, event) ? 'ok' : 'mismatch',
        signatures: checkEventSignatures(version, event, keys),
      });
    });
  },
);

/**
 * `check-auth [--keys FILE]`: each document is {"room_version", "event", "auth_events",
 * "create_event" (v12), "skip_signature_checks"}; prints {"allowed": true} or
 * {"allowed": false, "reason": …}. The auth-event rules (duplicates, unexpected entries,
 * missing create event, other rooms) are applied before the rest.
 */
export const checkAuthCommand = defineCommand(
  {
    name: 'check-auth',
    synopsis: '[--keys FILE] [--ndjson] < JSON',
    description:
      'The authorization rules. Input: {"room_version", "event", "auth_events", "create_event"?,\n' +
      '"skip_signature_checks"?}; prints {"allowed": true} or {"allowed": false, "reason": …}.',
    options: {
      keys: { type: 'string', arg: 'FILE', help: 'public keys for the signature checks (as for check-event)' },
      ndjson: NDJSON_OPTION,
    },
  },
  async (values) => {
    const keys = values.keys ? await readKeysFile(values.keys) : undefined;
    return eachDocument(!!values.ndjson, (doc) => {
      const input = objectDocument(doc);
      if (typeof input.room_version !== 'string') throw new Error('room_version: missing or not a string');
      const version = getRoomVersion(input.room_version);
      if (!version) throw new Error(`room_version: unsupported room version "${input.room_version}"`);
      const event = parsePdu(version, input.event);
      const authInput = input.auth_events ?? [];
      if (!Array.isArray(authInput)) throw new Error('auth_events: must be an array of PDUs');
      const authEvents: PDU[] = authInput.map((a, i) => {
        try {
          return parsePdu(version, a);
        } catch (e) {
          throw new Error(`auth_events[${i}]: ${(e as Error).message}`);
        }
      });
      const createEvent = input.create_event === undefined ? undefined : parsePdu(version, input.create_event);
      const result = checkAuthWithAuthEvents(version, event, authEvents, {
        ...(createEvent ? { createEvent } : {}),
        skipSignatureChecks: input.skip_signature_checks === true,
        ...(keys ? { keys } : {}),
      });
      return JSON.stringify(result);
    });
  },
);
