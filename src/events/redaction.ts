// The redaction algorithm of each room version (fragments v1-, v6-, v9-, v11-redactions and
// v8's inline list): which top-level keys survive, and which content keys per event type.
import type { RedactionAlgorithm, RoomVersion } from './room-versions.js';
import { isJsonObject, type PDU } from './pdu.js';

interface RedactionRules {
  topLevel: ReadonlySet<string>;
  /** Content keys kept per event type; `true` keeps the whole content. */
  content: ReadonlyMap<string, ReadonlySet<string> | true>;
  /** v11: m.room.member keeps `third_party_invite`, reduced to its `signed` key. */
  memberThirdPartyInviteSigned: boolean;
}

const TOP_LEVEL_V1 = [
  'event_id', 'type', 'room_id', 'sender', 'state_key', 'content', 'hashes', 'signatures', 'depth',
  'prev_events', 'prev_state', 'auth_events', 'origin', 'origin_server_ts', 'membership',
];
// v11 stops protecting origin, membership and prev_state.
const TOP_LEVEL_V11 = TOP_LEVEL_V1.filter((k) => k !== 'origin' && k !== 'membership' && k !== 'prev_state');

const POWER_LEVELS_V1 = ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'];

type ContentSpec = Record<string, readonly string[] | true>;

const CONTENT_V1: ContentSpec = {
  'm.room.member': ['membership'],
  'm.room.create': ['creator'],
  'm.room.join_rules': ['join_rule'],
  'm.room.power_levels': POWER_LEVELS_V1,
  'm.room.aliases': ['aliases'],
  'm.room.history_visibility': ['history_visibility'],
};
// v6 removes the special meaning of m.room.aliases.
const { 'm.room.aliases': _aliases, ...CONTENT_V6 } = CONTENT_V1;
const CONTENT_V8: ContentSpec = { ...CONTENT_V6, 'm.room.join_rules': ['join_rule', 'allow'] };
const CONTENT_V9: ContentSpec = { ...CONTENT_V8, 'm.room.member': ['membership', 'join_authorised_via_users_server'] };
const CONTENT_V11: ContentSpec = {
  ...CONTENT_V9,
  'm.room.create': true,
  'm.room.power_levels': [...POWER_LEVELS_V1, 'invite'],
  'm.room.redaction': ['redacts'],
};

function rules(topLevel: string[], content: ContentSpec, memberThirdPartyInviteSigned = false): RedactionRules {
  return {
    topLevel: new Set(topLevel),
    content: new Map(Object.entries(content).map(([t, keys]) => [t, keys === true ? true : new Set(keys)])),
    memberThirdPartyInviteSigned,
  };
}

const RULES: Record<RedactionAlgorithm, RedactionRules> = {
  v1: rules(TOP_LEVEL_V1, CONTENT_V1),
  v6: rules(TOP_LEVEL_V1, CONTENT_V6),
  v8: rules(TOP_LEVEL_V1, CONTENT_V8),
  v9: rules(TOP_LEVEL_V1, CONTENT_V9),
  v11: rules(TOP_LEVEL_V11, CONTENT_V11, true),
};

function redactContent(r: RedactionRules, type: unknown, content: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof type !== 'string' || !isJsonObject(content)) return out;
  const keep = r.content.get(type);
  if (keep === true) return { ...content };
  if (keep) {
    for (const k of Object.keys(content)) if (keep.has(k)) out[k] = content[k];
  }
  if (r.memberThirdPartyInviteSigned && type === 'm.room.member') {
    const tpi = content.third_party_invite;
    if (isJsonObject(tpi)) out.third_party_invite = 'signed' in tpi ? { signed: tpi.signed } : {};
  }
  return out;
}

/**
 * The redacted form of an event under `version`'s algorithm. Returns a new top-level object
 * (nested values are shared with the input, which is not modified). `content` is always
 * present in the result, as the algorithm keeps the key and strips inside it.
 */
export function redact<T extends Record<string, unknown>>(version: RoomVersion, event: T): PDU {
  const r = RULES[version.redaction];
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(event)) {
    if (r.topLevel.has(k) && k !== 'content') out[k] = event[k];
  }
  out.content = redactContent(r, event.type, event.content);
  return out as PDU;
}
