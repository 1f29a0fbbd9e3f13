// Account operations shared by the registration, login, device and admin endpoints and the
// `register-user` command: user id rules, creating users, sessions (a device with a token),
// removing devices, password changes and deactivation.
import { MatrixError, forbidden } from '../http/errors.js';
import type { AccountStore, DeviceRecord, UserRecord } from '../storage/accounts.js';
import type { Logger } from '../util/logger.js';
import { type Auth, type PasswordHasher, newAccessToken, newDeviceId } from './auth.js';

export const invalidUsername = (msg: string) => new MatrixError(400, 'M_INVALID_USERNAME', msg);
export const userInUse = () => new MatrixError(400, 'M_USER_IN_USE', 'Desired user ID is already taken');

// The current localpart grammar (appendices, "User Identifiers").
const LOCALPART = /^[a-z0-9._=\-/+]+$/;
const MAX_USER_ID_BYTES = 255;
export const MAX_PASSWORD_BYTES = 512;
export const MAX_DEVICE_ID_BYTES = 255;
export const MAX_DEVICE_NAME_CHARS = 256;

/**
 * The id a new account asking for `username` gets. Upper case is folded to lower case (the
 * spec has servers downcase usernames); anything else outside the grammar is refused.
 */
export function newUserId(username: string, serverName: string): string {
  const localpart = username.toLowerCase();
  if (!LOCALPART.test(localpart)) {
    throw invalidUsername('User names may contain only a-z, 0-9 and the characters . _ = - / +');
  }
  const userId = `@${localpart}:${serverName}`;
  if (Buffer.byteLength(userId, 'utf8') > MAX_USER_ID_BYTES) throw invalidUsername('User ID would be longer than 255 bytes');
  return userId;
}

/**
 * The local user id a login names, as a localpart or a full user id (case-folded, as ids are
 * created lower-case). Undefined for a user of another server.
 */
export function localUserId(user: string, serverName: string): string | undefined {
  let localpart = user;
  if (user.startsWith('@')) {
    const colon = user.indexOf(':');
    if (colon < 0 || user.slice(colon + 1) !== serverName) return undefined;
    localpart = user.slice(1, colon);
  }
  if (localpart === '') return undefined;
  return `@${localpart.toLowerCase()}:${serverName}`;
}

/**
 * The local user a login or password-auth dict names: `identifier` of type m.id.user, or the
 * deprecated top-level `user`. Third-party ids are refused with 403: no account has any.
 */
export function identifiedUserId(dict: Record<string, unknown>, serverName: string): string {
  let user: unknown;
  const id = dict.identifier;
  if (id !== undefined && id !== null) {
    if (typeof id !== 'object' || Array.isArray(id)) throw new MatrixError(400, 'M_BAD_JSON', 'identifier must be an object');
    const { type } = id as Record<string, unknown>;
    if (type === 'm.id.thirdparty' || type === 'm.id.phone') throw forbidden('No account is bound to that third-party identifier');
    if (type !== 'm.id.user') throw new MatrixError(400, 'M_UNKNOWN', 'Unknown identifier type');
    user = (id as Record<string, unknown>).user;
  } else if (dict.user !== undefined) {
    user = dict.user;
  } else if (dict.medium !== undefined || dict.address !== undefined) {
    throw forbidden('No account is bound to that third-party identifier');
  } else {
    throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing identifier');
  }
  if (typeof user !== 'string') throw new MatrixError(400, 'M_BAD_JSON', 'identifier.user must be a string');
  const userId = localUserId(user, serverName);
  if (!userId) throw forbidden('Invalid username or password');
  return userId;
}

/** A password a new account or a password change may use; returns it unchanged. */
export function checkNewPassword(password: unknown, field = 'password'): string {
  if (password === undefined || password === null) throw new MatrixError(400, 'M_MISSING_PARAM', `Missing ${field}`);
  if (typeof password !== 'string') throw new MatrixError(400, 'M_INVALID_PARAM', `${field} must be a string`);
  if (password.length === 0) throw new MatrixError(400, 'M_WEAK_PASSWORD', 'The password must not be empty');
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new MatrixError(400, 'M_INVALID_PARAM', `The password must be at most ${MAX_PASSWORD_BYTES} bytes`);
  }
  return password;
}

/** Hashes the password and inserts the user; M_USER_IN_USE when the id is taken. */
export async function createAccount(
  store: AccountStore,
  hasher: PasswordHasher,
  a: { userId: string; password: string; admin: boolean },
): Promise<void> {
  const passwordHash = await hasher.hash(a.password);
  if (!(await store.createUser({ userId: a.userId, passwordHash, isAdmin: a.admin, now: Date.now() }))) throw userInUse();
}

export interface Session {
  userId: string;
  deviceId: string;
  accessToken: string;
}

/** Called after devices are deleted (logout, device deletion, deactivation), e.g. to drop their keys. */
export type DevicesRemovedListener = (userId: string, deviceIds: readonly string[]) => Promise<void> | void;
/** Called after an account is created through the server (e.g. to set a default display name). */
export type UserCreatedListener = (userId: string, info: { displayName?: string }) => Promise<void> | void;
/** Called after an account is deactivated (e.g. to leave its rooms). */
export type UserDeactivatedListener = (userId: string) => Promise<void> | void;

export class AccountService {
  private readonly removedListeners: DevicesRemovedListener[] = [];
  private readonly createdListeners: UserCreatedListener[] = [];
  private readonly deactivatedListeners: UserDeactivatedListener[] = [];

  constructor(
    readonly store: AccountStore,
    private readonly auth: Auth,
    readonly hasher: PasswordHasher,
    readonly serverName: string,
    private readonly log: Logger,
  ) {}

  onDevicesRemoved(listener: DevicesRemovedListener): void {
    this.removedListeners.push(listener);
  }

  onUserCreated(listener: UserCreatedListener): void {
    this.createdListeners.push(listener);
  }

  onUserDeactivated(listener: UserDeactivatedListener): void {
    this.deactivatedListeners.push(listener);
  }

  /** The user id for `username`, checked against the grammar and not yet taken. */
  async availableUserId(username: string): Promise<string> {
    const userId = newUserId(username, this.serverName);
    if (await this.store.userExists(userId)) throw userInUse();
    return userId;
  }

  /** Creates an account; with no username, the server picks a localpart. */
  async register(a: { username?: string; password: string; admin: boolean; displayName?: string }): Promise<string> {
    let userId: string;
    if (a.username !== undefined) {
      userId = newUserId(a.username, this.serverName);
      await createAccount(this.store, this.hasher, { userId, password: a.password, admin: a.admin });
    } else {
      for (let attempt = 0; ; attempt++) {
        userId = newUserId(`u${newDeviceId().toLowerCase()}`, this.serverName);
        try {
          await createAccount(this.store, this.hasher, { userId, password: a.password, admin: a.admin });
          break;
        } catch (e) {
          if (!(e instanceof MatrixError && e.errcode === 'M_USER_IN_USE') || attempt >= 3) throw e;
        }
      }
    }
    const info = a.displayName === undefined ? {} : { displayName: a.displayName };
    this.notify(this.createdListeners, (l) => l(userId, info), userId);
    return userId;
  }

  /**
   * Logs a user in on a device: the named one (created if new; its old tokens revoked) or a
   * new one. Returns the fresh access token.
   */
  async startSession(userId: string, opts: { deviceId?: string; displayName?: string; ip?: string } = {}): Promise<Session> {
    const { token, hash } = newAccessToken();
    const deviceId = opts.deviceId ?? newDeviceId();
    const displayName = opts.displayName === undefined ? null : opts.displayName.slice(0, MAX_DEVICE_NAME_CHARS);
    const { revoked } = await this.store.createSession({ userId, deviceId, displayName, tokenHash: hash, now: Date.now(), ip: opts.ip ?? null });
    if (revoked.length) this.auth.evict(revoked);
    return { userId, deviceId, accessToken: token };
  }

  /**
   * The active user whose password this is, or undefined. Takes as long for unknown users, and
   * upgrades the stored hash when the configured cost has changed.
   */
  async checkPassword(userId: string, password: string): Promise<UserRecord | undefined> {
    const user = await this.store.getUser(userId);
    const hash = user && !user.deactivated ? user.passwordHash : null;
    if (!(await this.hasher.verify(hash, password)) || !user || hash === null) return undefined;
    if (this.hasher.needsRehash(hash)) {
      this.hasher
        .hash(password)
        .then((fresh) => this.store.setPasswordHash(userId, fresh, hash))
        .catch((e: unknown) => this.log.warn({ err: e, userId }, 'could not upgrade a password hash'));
    }
    return user;
  }

  async getDevice(userId: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const d = await this.store.getDevice(userId, deviceId);
    return d && this.withPendingLastSeen(userId, d);
  }

  async listDevices(userId: string): Promise<DeviceRecord[]> {
    return (await this.store.listDevices(userId)).map((d) => this.withPendingLastSeen(userId, d));
  }

  /** Deletes devices (null: all, except `keep`) with their tokens; returns the ids that existed. */
  async deleteDevices(userId: string, deviceIds: readonly string[] | null, keep: string | null = null): Promise<string[]> {
    const removed = await this.store.deleteDevices(userId, deviceIds, keep);
    this.afterRemoval(userId, removed.deviceIds, removed.tokenHashes);
    return removed.deviceIds;
  }

  /** Sets a new password; with `logoutDevices`, deletes every device but `keepDevice`. */
  async changePassword(userId: string, newPassword: string, logoutDevices: boolean, keepDevice: string | null): Promise<void> {
    const hash = await this.hasher.hash(newPassword);
    if (!(await this.store.setPasswordHash(userId, hash))) throw new MatrixError(403, 'M_FORBIDDEN', 'The account is deactivated');
    if (logoutDevices) await this.deleteDevices(userId, null, keepDevice);
  }

  /** The user can no longer log in; every session ends. */
  async deactivate(userId: string): Promise<void> {
    const removed = await this.store.deactivateUser(userId);
    this.auth.forgetUser(userId);
    this.afterRemoval(userId, removed.deviceIds, removed.tokenHashes);
    this.notify(this.deactivatedListeners, (l) => l(userId), userId);
  }

  private afterRemoval(userId: string, deviceIds: string[], tokenHashes: Buffer[]): void {
    this.auth.evict(tokenHashes);
    if (deviceIds.length === 0) return;
    this.auth.forgetDevices(userId, deviceIds);
    this.notify(this.removedListeners, (l) => l(userId, deviceIds), userId);
  }

  // Listeners run after the change is committed; a failing one is logged, not the request's error.
  private notify<L>(listeners: L[], call: (l: L) => Promise<void> | void, userId: string): void {
    for (const l of listeners) {
      Promise.resolve()
        .then(() => call(l))
        .catch((e: unknown) => this.log.error({ err: e, userId }, 'account listener failed'));
    }
  }

  private withPendingLastSeen(userId: string, d: DeviceRecord): DeviceRecord {
    const p = this.auth.pendingLastSeen(userId, d.deviceId);
    return p && (d.lastSeenTs === null || p.ts > d.lastSeenTs) ? { ...d, lastSeenTs: p.ts, lastSeenIp: p.ip } : d;
  }
}
