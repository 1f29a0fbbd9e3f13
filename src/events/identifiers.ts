// Identifier grammar from the spec appendix ("Identifier Grammar"): server names, user ids,
// room ids and event ids, with the room-version-dependent forms.
import type { RoomVersion } from './room-versions.js';

/** Identifiers, event types and state keys are limited to this many UTF-8 bytes. */
export const MAX_IDENTIFIER_BYTES = 255;

export function utf8Length(s: string): number {
  // Fast path for ASCII, which nearly every identifier is.
  const n = s.length;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  }
  return n;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]{2,45}$/;
const DNS_NAME = /^[A-Za-z0-9.-]{1,255}$/;
const PORT = /^\d{1,5}$/;

/** server_name = hostname [ ":" port ], hostname = IPv4 / "[" IPv6 "]" / dns-name. */
export function isValidServerName(name: string): boolean {
  let host = name;
  if (name.startsWith('[')) {
    const close = name.indexOf(']');
    if (close < 0) return false;
    const rest = name.slice(close + 1);
    if (rest !== '' && !(rest.startsWith(':') && PORT.test(rest.slice(1)))) return false;
    return IPV6_CHARS.test(name.slice(1, close));
  }
  const colon = name.lastIndexOf(':');
  if (colon >= 0) {
    if (!PORT.test(name.slice(colon + 1))) return false;
    host = name.slice(0, colon);
  }
  const v4 = IPV4.exec(host);
  if (v4) return v4.slice(1).every((octet) => Number(octet) <= 255);
  return DNS_NAME.test(host);
}

/** The part after the first ':' of `@local:server`, `!opaque:server` or `$opaque:server`. */
export function serverNameOf(id: string): string | undefined {
  const colon = id.indexOf(':');
  return colon < 0 ? undefined : id.slice(colon + 1);
}

const STRICT_LOCALPART = /^[a-z0-9._=\-/+]+$/;

/**
 * A user id as it must be accepted in events: `@localpart:server_name`, at most 255 bytes,
 * where the localpart may be any historical form (anything but ':' and NUL, even empty).
 */
export function isValidUserId(id: string): boolean {
  if (id.charCodeAt(0) !== 0x40 /* @ */ || utf8Length(id) > MAX_IDENTIFIER_BYTES) return false;
  const colon = id.indexOf(':');
  if (colon < 0) return false;
  if (id.lastIndexOf('\u0000', colon) >= 0) return false;
  return isValidServerName(id.slice(colon + 1));
}

/** A user id in the current grammar, as a server should use for new users. */
export function isStrictUserId(id: string): boolean {
  if (!isValidUserId(id)) return false;
  return STRICT_LOCALPART.test(id.slice(1, id.indexOf(':')));
}

const HASH_ID_STD = /^[A-Za-z0-9+/]{43}$/;
const HASH_ID_URL = /^[A-Za-z0-9_-]{43}$/;

function isOpaqueWithServer(id: string, sigil: number): boolean {
  if (id.charCodeAt(0) !== sigil || utf8Length(id) > MAX_IDENTIFIER_BYTES) return false;
  const colon = id.indexOf(':');
  if (colon < 0) return false;
  if (id.lastIndexOf('\u0000', colon) >= 0) return false;
  return isValidServerName(id.slice(colon + 1));
}

/** An event id of the form this room version uses. */
export function isValidEventId(version: RoomVersion, id: string): boolean {
  switch (version.eventIdFormat) {
    case 'v1':
      return isOpaqueWithServer(id, 0x24 /* $ */);
    case 'v3':
      return id.charCodeAt(0) === 0x24 && HASH_ID_STD.test(id.slice(1));
    case 'v4':
      return id.charCodeAt(0) === 0x24 && HASH_ID_URL.test(id.slice(1));
  }
}

/** A room id of the form this room version uses. */
export function isValidRoomId(version: RoomVersion, id: string): boolean {
  if (version.roomIdFormat === 'server') return isOpaqueWithServer(id, 0x21 /* ! */);
  // The create event's id with the `!` sigil.
  return id.charCodeAt(0) === 0x21 && isValidEventId(version, '$' + id.slice(1));
}
