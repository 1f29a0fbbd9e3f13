// POST /createRoom: the events the spec lists, in its order, built and authorized one by one
// against the new room's state, then written in a single transaction.
import { randomBytes } from 'node:crypto';
import { checkAuth } from '../../events/auth/index.js';
import { roomIdFromCreateEvent } from '../../events/event-id.js';
import { isValidUserId } from '../../events/identifiers.js';
import { DEFAULT_ROOM_VERSION, getRoomVersion, type RoomVersion } from '../../events/room-versions.js';
import { buildEvent } from '../../events/signing.js';
import { badJson, MatrixError } from '../../http/errors.js';
import type { StoredEvent } from '../../storage/events.js';
import { stateKey } from '../../storage/state-tree.js';
import { buildLocalEvent, newStoredEvent, type LocalEventRequest } from './build.js';
import { LoadedRoom } from './loaded-room.js';
import { persistBatch } from './persist.js';
import type { RoomService } from './service.js';

export interface CreateRoomRequest {
  visibility?: 'public' | 'private';
  room_alias_name?: string;
  name?: string;
  topic?: string;
  invite?: string[];
  room_version?: string;
  creation_content?: Record<string, unknown>;
  initial_state?: Array<{ type: string; state_key?: string; content: Record<string, unknown> }>;
  preset?: 'private_chat' | 'public_chat' | 'trusted_private_chat';
  is_direct?: boolean;
  power_level_content_override?: Record<string, unknown>;
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Checks the request's shape; throws M_BAD_JSON / M_INVALID_PARAM naming the field. */
export function parseCreateRoom(body: unknown): CreateRoomRequest {
  if (!isObj(body)) throw badJson('body must be a JSON object');
  const str = (k: string) => {
    if (body[k] !== undefined && typeof body[k] !== 'string') throw badJson(`${k} must be a string`);
  };
  ['room_alias_name', 'name', 'topic', 'room_version'].forEach(str);
  if (body.visibility !== undefined && body.visibility !== 'public' && body.visibility !== 'private') throw badJson('visibility must be "public" or "private"');
  if (body.preset !== undefined && !['private_chat', 'public_chat', 'trusted_private_chat'].includes(body.preset as string)) {
    throw badJson('preset must be private_chat, public_chat or trusted_private_chat');
  }
  if (body.invite !== undefined) {
    if (!Array.isArray(body.invite) || body.invite.some((u) => typeof u !== 'string')) throw badJson('invite must be a list of user ids');
    for (const u of body.invite as string[]) if (!isValidUserId(u)) throw new MatrixError(400, 'M_INVALID_PARAM', `invalid user id ${u}`);
  }
  for (const k of ['creation_content', 'power_level_content_override']) if (body[k] !== undefined && !isObj(body[k])) throw badJson(`${k} must be an object`);
  if (body.initial_state !== undefined) {
    if (!Array.isArray(body.initial_state)) throw badJson('initial_state must be a list');
    for (const ev of body.initial_state) {
      if (!isObj(ev) || typeof ev.type !== 'string' || !isObj(ev.content) || (ev.state_key !== undefined && typeof ev.state_key !== 'string')) {
        throw badJson('initial_state entries need type (string), state_key (string, optional) and content (object)');
      }
    }
  }
  if (body.is_direct !== undefined && typeof body.is_direct !== 'boolean') throw badJson('is_direct must be a boolean');
  return body as CreateRoomRequest;
}

function defaultPowerLevels(version: RoomVersion, creator: string, req: CreateRoomRequest, preset: string): Record<string, unknown> {
  const users: Record<string, number> = {};
  if (!version.privilegedCreators) users[creator] = 100;
  if (preset === 'trusted_private_chat' && !version.privilegedCreators) for (const u of req.invite ?? []) users[u] = 100;
  return {
    users,
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      // v12: tombstones must need more than state_default and than the creators' peers.
      'm.room.tombstone': version.privilegedCreators ? 150 : 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: preset === 'public_chat' ? 50 : 0,
    historical: 100,
    notifications: { room: 50 },
  };
}

export async function createRoom(
  rooms: RoomService,
  creator: string,
  req: CreateRoomRequest,
  profile: { displayname?: string; avatar_url?: string },
): Promise<{ roomId: string; alias?: string }> {
  const versionId = req.room_version ?? DEFAULT_ROOM_VERSION;
  const version = getRoomVersion(versionId);
  if (!version) throw new MatrixError(400, 'M_UNSUPPORTED_ROOM_VERSION', `room version ${versionId} is not supported`);
  const preset = req.preset ?? (req.visibility === 'public' ? 'public_chat' : 'private_chat');
  const serverName = rooms.serverName;
  const key = rooms.signingKey;

  let alias: string | undefined;
  if (req.room_alias_name !== undefined) {
    alias = `#${req.room_alias_name}:${serverName}`;
    if (!/^[^\s:#]+$/.test(req.room_alias_name) || Buffer.byteLength(alias) > 255) throw new MatrixError(400, 'M_INVALID_PARAM', 'invalid room alias name');
    if (await rooms.aliases.resolve(alias)) throw new MatrixError(400, 'M_ROOM_IN_USE', 'room alias already taken');
  }

  // 1. The create event.
  const createContent: Record<string, unknown> = { ...(req.creation_content ?? {}), room_version: version.id };
  if (version.creatorInContent) createContent.creator = creator;
  if (preset === 'trusted_private_chat' && version.privilegedCreators && req.invite?.length) {
    const extra = Array.isArray(createContent.additional_creators) ? (createContent.additional_creators as unknown[]) : [];
    createContent.additional_creators = [...new Set([...extra, ...req.invite])];
  }
  const roomIdV1 = version.roomIdFormat === 'server' ? `!${randomBytes(12).toString('base64url')}:${serverName}` : undefined;
  const createTemplate = {
    ...(roomIdV1 ? { room_id: roomIdV1 } : {}),
    sender: creator,
    type: 'm.room.create',
    state_key: '',
    content: createContent,
    prev_events: [],
    auth_events: [],
    depth: 1,
  };
  const draft = { ...createTemplate, origin_server_ts: Date.now(), hashes: { sha256: '' }, signatures: {} };
  const verdict = checkAuth(version, draft as never, () => undefined);
  if (!verdict.allowed) throw new MatrixError(400, 'M_BAD_JSON', `creation_content: ${verdict.reason}`);
  const built = buildEvent(version, createTemplate, serverName, key);
  const roomId = roomIdV1 ?? roomIdFromCreateEvent(version, built.event);

  // The other events, in the spec's order.
  const reqs: LocalEventRequest[] = [];
  const state = (type: string, content: Record<string, unknown>, sk = '') => reqs.push({ type, sender: creator, state_key: sk, content });
  state('m.room.member', { membership: 'join', ...profile }, creator);
  state('m.room.power_levels', { ...defaultPowerLevels(version, creator, req, preset), ...(req.power_level_content_override ?? {}) });
  if (alias) state('m.room.canonical_alias', { alias });
  const initial = new Map((req.initial_state ?? []).map((e) => [stateKey(e.type, e.state_key ?? ''), e]));
  const presetEvents: Array<[string, Record<string, unknown>]> = [
    ['m.room.join_rules', { join_rule: preset === 'public_chat' ? 'public' : 'invite' }],
    ['m.room.history_visibility', { history_visibility: 'shared' }],
    ['m.room.guest_access', { guest_access: preset === 'public_chat' ? 'forbidden' : 'can_join' }],
  ];
  for (const [type, content] of presetEvents) if (!initial.has(stateKey(type, ''))) state(type, content);
  for (const e of req.initial_state ?? []) state(e.type, e.content, e.state_key ?? '');
  if (req.name !== undefined) state('m.room.name', { name: req.name });
  if (req.topic !== undefined) state('m.room.topic', { topic: req.topic });
  for (const u of req.invite ?? []) state('m.room.member', { membership: 'invite', ...(req.is_direct ? { is_direct: true } : {}) }, u);

  const ids = await rooms.allocateIds(reqs.length + 1);
  const positions = ids.map((i) => i.stream);
  let createdRoom: LoadedRoom;
  let createdBatch: StoredEvent[];
  try {
    const createStored = newStoredEvent(roomId, ids[0]!, { eventId: built.eventId, pdu: built.event, json: JSON.stringify(built.event) });
    const room = new LoadedRoom((u) => rooms.isLocalUser(u), roomId, version, createStored, 0, 1, [createStored], new Map([[stateKey('m.room.create', ''), createStored.nid]]), new Map());
    rooms.events.remember(createStored);
    const batch = [createStored];
    for (let i = 0; i < reqs.length; i++) {
      let b;
      try {
        b = await buildLocalEvent(rooms.events, room, reqs[i]!, serverName, key);
      } catch (e) {
        if (e instanceof MatrixError && e.errcode === 'M_FORBIDDEN') {
          throw new MatrixError(400, 'M_INVALID_ROOM_STATE', `${reqs[i]!.type} refused: ${e.message}`);
        }
        throw e;
      }
      const s = newStoredEvent(roomId, ids[i + 1]!, b);
      rooms.applyInMemory(room, s);
      batch.push(s);
    }
    if (alias && !(await rooms.aliases.create(alias, roomId, creator))) throw new MatrixError(400, 'M_ROOM_IN_USE', 'room alias already taken');
    try {
      await persistBatch(rooms.persistDeps, room, batch, { creator, isPublic: req.visibility === 'public' });
    } catch (e) {
      if (alias) await rooms.aliases.delete(alias);
      throw e;
    }
    rooms.registerRoom(room);
    createdRoom = room;
    createdBatch = batch;
  } finally {
    rooms.completePositions(positions);
  }
  // After the positions are complete, so that woken syncs can read up to these events.
  rooms.committed(createdRoom, createdBatch);
  return { roomId, ...(alias ? { alias } : {}) };
}
