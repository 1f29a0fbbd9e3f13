// "Handling redactions" (v3+): the auth rules let any permitted sender send a redaction, but
// a server applies it only when the sender may redact others' events or shares the
// original's server. (v1–2 make the same decision inside the auth rules.)
import type { RoomVersion } from '../room-versions.js';
import type { PDU } from '../pdu.js';
import { serverNameOf } from '../identifiers.js';
import { levelsOf, userLevel } from './power-levels.js';
import type { AuthStateLookup, AuthOptions } from './types.js';

export function redactionAllowed(
  version: RoomVersion,
  redaction: PDU,
  original: PDU,
  state: AuthStateLookup,
  options: Pick<AuthOptions, 'createEvent'> = {},
): boolean {
  if (serverNameOf(redaction.sender) === serverNameOf(original.sender)) return true;
  const create = state('m.room.create', '') ?? options.createEvent;
  if (!create) return false;
  const pl = state('m.room.power_levels', '');
  return userLevel(version, create, pl, redaction.sender) >= levelsOf(version, pl).redact;
}
