// User profiles (displayname, avatar_url, m.tz and custom fields). Changes of displayname or
// avatar_url are announced to listeners: the room service updates the user's m.room.member
// events from them.
import { MatrixError, forbidden, notFound } from '../http/errors.js';
import { serverNameOf, utf8Length } from '../events/identifiers.js';
import { ProfileStore } from '../storage/profiles.js';
import type { ServerContext } from './context.js';
import { isJsonObject, type JsonObject } from './account-data.js';

/** The spec's pattern for profile keys. */
export const PROFILE_KEY = /^(avatar_url|displayname|m\.tz|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$/;
export const MAX_PROFILE_BYTES = 64 * 1024;
export const MAX_DISPLAYNAME_CHARS = 256;
const MXC = /^mxc:\/\/[A-Za-z0-9.:[\]-]+\/[A-Za-z0-9_-]+$/;

/** What member events carry. */
export interface MemberProfile {
  displayname?: string;
  avatar_url?: string;
}

export type ProfileChangeListener = (userId: string, profile: MemberProfile) => Promise<void> | void;

export function memberProfileOf(fields: JsonObject): MemberProfile {
  const out: MemberProfile = {};
  if (typeof fields.displayname === 'string') out.displayname = fields.displayname;
  if (typeof fields.avatar_url === 'string') out.avatar_url = fields.avatar_url;
  return out;
}

export class ProfileService {
  readonly store: ProfileStore;
  private readonly listeners: ProfileChangeListener[] = [];

  constructor(private readonly ctx: Pick<ServerContext, 'sql' | 'config' | 'log'>) {
    this.store = new ProfileStore(ctx.sql);
  }

  /** Called after a user's displayname or avatar_url changed (and committed). */
  onChange(listener: ProfileChangeListener): void {
    this.listeners.push(listener);
  }

  private isLocal(userId: string): boolean {
    return serverNameOf(userId) === this.ctx.config.server_name;
  }

  /** The whole profile; 404 for unknown (or remote) users. */
  async getProfile(userId: string): Promise<JsonObject> {
    if (!this.isLocal(userId)) throw notFound('Profile not found');
    const text = await this.store.get(userId);
    if (text === undefined) {
      if (!(await this.store.userExists(userId))) throw notFound('Profile not found');
      return {};
    }
    return JSON.parse(text) as JsonObject;
  }

  /** The displayname and avatar_url of a local user (empty when unknown), for member events. */
  async memberProfile(userId: string): Promise<MemberProfile> {
    const text = await this.store.get(userId);
    return text === undefined ? {} : memberProfileOf(JSON.parse(text) as JsonObject);
  }

  async getField(userId: string, key: string): Promise<JsonObject> {
    checkKey(key);
    const profile = await this.getProfile(userId);
    if (!(key in profile)) throw notFound('No such profile field');
    return { [key]: profile[key] };
  }

  /** PUT /profile/{userId}/{keyName}. */
  async setField(requester: string, userId: string, key: string, body: unknown): Promise<void> {
    checkKey(key);
    if (requester !== userId) throw forbidden('Cannot change the profile of another user');
    if (!isJsonObject(body)) throw new MatrixError(400, 'M_BAD_JSON', 'The body must be a JSON object');
    if (!(key in body)) throw new MatrixError(400, 'M_MISSING_PARAM', `The body must hold ${key}`);
    const value = body[key];
    if (key === 'displayname' || key === 'avatar_url') {
      // null clears these two (older clients send it to remove a name or avatar).
      if (value !== null && typeof value !== 'string') throw new MatrixError(400, 'M_BAD_JSON', `${key} must be a string`);
      if (key === 'displayname' && typeof value === 'string' && value.length > MAX_DISPLAYNAME_CHARS) {
        throw new MatrixError(400, 'M_INVALID_PARAM', `displayname must be at most ${MAX_DISPLAYNAME_CHARS} characters`);
      }
      if (key === 'avatar_url' && typeof value === 'string' && value !== '' && !MXC.test(value)) {
        throw new MatrixError(400, 'M_INVALID_PARAM', 'avatar_url must be an mxc:// URI');
      }
    } else if (key === 'm.tz' && typeof value !== 'string') {
      throw new MatrixError(400, 'M_BAD_JSON', 'm.tz must be a string');
    }
    const clear = (key === 'displayname' || key === 'avatar_url') && (value === null || value === '');
    await this.change(userId, (fields) => {
      if (clear) delete fields[key];
      else fields[key] = value;
    });
  }

  async deleteField(requester: string, userId: string, key: string): Promise<void> {
    checkKey(key);
    if (requester !== userId) throw forbidden('Cannot change the profile of another user');
    await this.change(userId, (fields) => {
      delete fields[key];
    });
  }

  /** Sets the displayname without checks (e.g. the default one of a new account). */
  async setDisplayName(userId: string, displayname: string): Promise<void> {
    await this.change(userId, (fields) => {
      fields.displayname = displayname.slice(0, MAX_DISPLAYNAME_CHARS);
    });
  }

  private async change(userId: string, fn: (fields: JsonObject) => void): Promise<void> {
    const result = (await this.ctx.sql.begin(async (tx) => {
      const t = tx as unknown as import('../storage/pool.js').Sql;
      await this.store.lock(t, userId);
      const text = await this.store.get(userId, t);
      const fields = text === undefined ? {} : (JSON.parse(text) as JsonObject);
      const before = memberProfileOf(fields);
      fn(fields);
      const next = JSON.stringify(fields);
      if (Buffer.byteLength(next, 'utf8') > MAX_PROFILE_BYTES) throw new MatrixError(400, 'M_PROFILE_TOO_LARGE', 'The profile would exceed 64 KiB');
      if (next !== text) await this.store.put(t, userId, next);
      const after = memberProfileOf(fields);
      return { changed: before.displayname !== after.displayname || before.avatar_url !== after.avatar_url, after };
    })) as { changed: boolean; after: MemberProfile };
    if (!result.changed) return;
    for (const l of this.listeners) {
      try {
        await l(userId, result.after);
      } catch (e) {
        this.ctx.log.error({ err: e, userId }, 'profile change listener failed');
      }
    }
  }
}

function checkKey(key: string): void {
  if (utf8Length(key) > 255) throw new MatrixError(400, 'M_KEY_TOO_LARGE', 'Profile keys are at most 255 bytes');
  if (!PROFILE_KEY.test(key)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid profile key');
}
