// Repository for local accounts: users, their devices, and access tokens (stored as SHA-256
// hashes). Every statement that removes tokens returns their hashes so the caller can evict
// them from the in-memory token cache.
import type { Sql } from './pool.js';

export interface UserRecord {
  userId: string;
  passwordHash: string | null;
  isAdmin: boolean;
  createdTs: number;
  deactivated: boolean;
}

export interface DeviceRecord {
  deviceId: string;
  displayName: string | null;
  lastSeenTs: number | null;
  lastSeenIp: string | null;
}

export interface TokenOwner {
  userId: string;
  deviceId: string;
  isAdmin: boolean;
}

export interface RemovedDevices {
  deviceIds: string[];
  tokenHashes: Buffer[];
}

export interface LastSeen {
  userId: string;
  deviceId: string;
  ts: number;
  ip: string;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export class AccountStore {
  constructor(private readonly sql: Sql) {}

  /** Inserts the user; false when the id is taken. */
  async createUser(u: { userId: string; passwordHash: string | null; isAdmin: boolean; now: number }): Promise<boolean> {
    const rows = await this.sql`
      INSERT INTO users (user_id, password_hash, is_admin, created_ts)
      VALUES (${u.userId}, ${u.passwordHash}, ${u.isAdmin}, ${u.now})
      ON CONFLICT (user_id) DO NOTHING
      RETURNING user_id`;
    return rows.length === 1;
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    const rows = await this.sql`
      SELECT user_id, password_hash, is_admin, created_ts, deactivated FROM users WHERE user_id = ${userId}`;
    const r = rows[0];
    if (!r) return undefined;
    return {
      userId: r.user_id as string,
      passwordHash: r.password_hash as string | null,
      isAdmin: r.is_admin as boolean,
      createdTs: Number(r.created_ts),
      deactivated: r.deactivated as boolean,
    };
  }

  async userExists(userId: string): Promise<boolean> {
    const rows = await this.sql`SELECT 1 FROM users WHERE user_id = ${userId}`;
    return rows.length > 0;
  }

  /** Replaces the hash only if it is still `expected` (a login re-hashing must not undo a password change). */
  async setPasswordHash(userId: string, hash: string, expected?: string): Promise<boolean> {
    const rows =
      expected === undefined
        ? await this.sql`UPDATE users SET password_hash = ${hash} WHERE user_id = ${userId} AND NOT deactivated RETURNING 1`
        : await this.sql`UPDATE users SET password_hash = ${hash} WHERE user_id = ${userId} AND password_hash = ${expected} RETURNING 1`;
    return rows.length > 0;
  }

  /** Marks the user deactivated, wipes the password and removes every device and token. */
  async deactivateUser(userId: string): Promise<RemovedDevices> {
    return this.sql.begin(async (tx) => {
      await tx`UPDATE users SET deactivated = true, password_hash = NULL WHERE user_id = ${userId}`;
      return removeDevices(tx as unknown as Sql, userId, null, null);
    }) as Promise<RemovedDevices>;
  }

  /**
   * Binds a new access token to the device, creating the device if it is new. Tokens the device
   * held before are revoked (the spec: a client naming its device id replaces its old session).
   */
  async createSession(s: {
    userId: string;
    deviceId: string;
    displayName: string | null;
    tokenHash: Buffer;
    now: number;
    ip: string | null;
  }): Promise<{ created: boolean; revoked: Buffer[] }> {
    return this.sql.begin(async (tx) => {
      const ins = await tx`
        INSERT INTO devices (user_id, device_id, display_name, created_ts, last_seen_ts, last_seen_ip)
        VALUES (${s.userId}, ${s.deviceId}, ${s.displayName}, ${s.now}, ${s.now}, ${s.ip})
        ON CONFLICT (user_id, device_id) DO NOTHING
        RETURNING device_id`;
      let revoked: Buffer[] = [];
      if (ins.length === 0) {
        // Existing device: lock it so a concurrent delete cannot interleave, then drop its old tokens.
        await tx`SELECT 1 FROM devices WHERE user_id = ${s.userId} AND device_id = ${s.deviceId} FOR UPDATE`;
        const old = await tx`
          DELETE FROM access_tokens WHERE user_id = ${s.userId} AND device_id = ${s.deviceId} RETURNING token_hash`;
        revoked = old.map((r) => r.token_hash as Buffer);
        await tx`
          UPDATE devices SET last_seen_ts = ${s.now}, last_seen_ip = ${s.ip}
          WHERE user_id = ${s.userId} AND device_id = ${s.deviceId}`;
      }
      await tx`
        INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts)
        VALUES (${s.tokenHash}, ${s.userId}, ${s.deviceId}, ${s.now})`;
      return { created: ins.length === 1, revoked };
    }) as Promise<{ created: boolean; revoked: Buffer[] }>;
  }

  /** The owner of a token, if the token exists and its user is active. */
  async lookupToken(tokenHash: Buffer): Promise<TokenOwner | undefined> {
    const rows = await this.sql`
      SELECT t.user_id, t.device_id, u.is_admin
      FROM access_tokens t JOIN users u ON u.user_id = t.user_id
      WHERE t.token_hash = ${tokenHash} AND NOT u.deactivated`;
    const r = rows[0];
    return r ? { userId: r.user_id as string, deviceId: r.device_id as string, isAdmin: r.is_admin as boolean } : undefined;
  }

  async getDevice(userId: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const rows = await this.sql`
      SELECT device_id, display_name, last_seen_ts, last_seen_ip FROM devices
      WHERE user_id = ${userId} AND device_id = ${deviceId}`;
    return rows[0] ? toDevice(rows[0]) : undefined;
  }

  async listDevices(userId: string): Promise<DeviceRecord[]> {
    const rows = await this.sql`
      SELECT device_id, display_name, last_seen_ts, last_seen_ip FROM devices
      WHERE user_id = ${userId} ORDER BY device_id`;
    return rows.map(toDevice);
  }

  /** False when the user has no such device. */
  async setDeviceDisplayName(userId: string, deviceId: string, displayName: string): Promise<boolean> {
    const rows = await this.sql`
      UPDATE devices SET display_name = ${displayName}
      WHERE user_id = ${userId} AND device_id = ${deviceId} RETURNING 1`;
    return rows.length > 0;
  }

  /**
   * Deletes the named devices (null: all of them), except `keep`, with their tokens. Returns
   * the ids that existed and the hashes of the tokens that went with them.
   */
  async deleteDevices(userId: string, deviceIds: readonly string[] | null, keep: string | null = null): Promise<RemovedDevices> {
    return this.sql.begin((tx) => removeDevices(tx as unknown as Sql, userId, deviceIds, keep)) as Promise<RemovedDevices>;
  }

  /** Writes a batch of last-seen times in one statement. */
  async updateLastSeen(entries: readonly LastSeen[]): Promise<void> {
    if (entries.length === 0) return;
    await this.sql`
      UPDATE devices d SET last_seen_ts = v.ts, last_seen_ip = v.ip
      FROM unnest(${entries.map((e) => e.userId)}::text[], ${entries.map((e) => e.deviceId)}::text[],
                  ${entries.map((e) => e.ts)}::bigint[], ${entries.map((e) => e.ip)}::text[]) AS v(user_id, device_id, ts, ip)
      WHERE d.user_id = v.user_id AND d.device_id = v.device_id AND (d.last_seen_ts IS NULL OR d.last_seen_ts < v.ts)`;
  }
}

async function removeDevices(tx: Sql, userId: string, deviceIds: readonly string[] | null, keep: string | null): Promise<RemovedDevices> {
  // Lock the rows first: a login racing with this delete then waits, and its token insert
  // fails its foreign key instead of leaving a token we did not see (and so did not evict).
  const locked =
    deviceIds === null
      ? await tx`SELECT device_id FROM devices WHERE user_id = ${userId} AND device_id IS DISTINCT FROM ${keep} FOR UPDATE`
      : await tx`SELECT device_id FROM devices WHERE user_id = ${userId} AND device_id = ANY(${deviceIds as string[]}::text[])
                 AND device_id IS DISTINCT FROM ${keep} FOR UPDATE`;
  const ids = locked.map((r) => r.device_id as string);
  if (ids.length === 0) return { deviceIds: [], tokenHashes: [] };
  const tokens = await tx`
    DELETE FROM access_tokens WHERE user_id = ${userId} AND device_id = ANY(${ids}::text[]) RETURNING token_hash`;
  await tx`DELETE FROM devices WHERE user_id = ${userId} AND device_id = ANY(${ids}::text[])`;
  return { deviceIds: ids, tokenHashes: tokens.map((r) => r.token_hash as Buffer) };
}

function toDevice(r: Record<string, unknown>): DeviceRecord {
  return {
    deviceId: r.device_id as string,
    displayName: (r.display_name as string | null) ?? null,
    lastSeenTs: num(r.last_seen_ts),
    lastSeenIp: (r.last_seen_ip as string | null) ?? null,
  };
}
