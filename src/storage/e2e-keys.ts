// Repository for end-to-end encryption keys: device identity keys, one-time and fallback keys,
// cross-signing keys, uploaded signatures, and the log of device-list changes.
import type { Sql } from './pool.js';

export interface StoredDeviceKeys {
  userId: string;
  deviceId: string;
  displayName: string | null;
  /** JSON text as uploaded. */
  keys: string;
}

export interface OneTimeKeyRow {
  algorithm: string;
  keyId: string;
  json: string;
}

export interface SignatureRow {
  targetUser: string;
  targetKeyId: string;
  signer: string;
  signerKeyId: string;
  signature: string;
}

export class E2eKeyStore {
  constructor(private readonly sql: Sql) {}

  async deviceKeys(userId: string, deviceId: string, sql: Sql = this.sql): Promise<string | undefined> {
    const rows = await sql`SELECT key_json FROM e2e_device_keys WHERE user_id = ${userId} AND device_id = ${deviceId}`;
    return rows[0]?.key_json as string | undefined;
  }

  async setDeviceKeys(sql: Sql, userId: string, deviceId: string, json: string): Promise<void> {
    await sql`
      INSERT INTO e2e_device_keys (user_id, device_id, key_json) VALUES (${userId}, ${deviceId}, ${json})
      ON CONFLICT (user_id, device_id) DO UPDATE SET key_json = EXCLUDED.key_json`;
  }

  /** Keys of the users' existing devices (deviceIds null: all of them). */
  async queryDeviceKeys(userId: string, deviceIds: string[] | null): Promise<StoredDeviceKeys[]> {
    const rows =
      deviceIds === null
        ? await this.sql`
            SELECT d.device_id, d.display_name, k.key_json FROM devices d
            JOIN e2e_device_keys k ON k.user_id = d.user_id AND k.device_id = d.device_id
            WHERE d.user_id = ${userId}`
        : await this.sql`
            SELECT d.device_id, d.display_name, k.key_json FROM devices d
            JOIN e2e_device_keys k ON k.user_id = d.user_id AND k.device_id = d.device_id
            WHERE d.user_id = ${userId} AND d.device_id = ANY(${deviceIds})`;
    return rows.map((r) => ({ userId, deviceId: r.device_id as string, displayName: r.display_name as string | null, keys: r.key_json as string }));
  }

  async deviceExists(sql: Sql, userId: string, deviceId: string): Promise<boolean> {
    const rows = await sql`SELECT 1 FROM devices WHERE user_id = ${userId} AND device_id = ${deviceId}`;
    return rows.length > 0;
  }

  /** The existing one-time keys among `keys` (to detect conflicting re-uploads). */
  async existingOneTimeKeys(sql: Sql, userId: string, deviceId: string, keys: OneTimeKeyRow[]): Promise<OneTimeKeyRow[]> {
    if (keys.length === 0) return [];
    const rows = await sql`
      SELECT algorithm, key_id, key_json FROM e2e_one_time_keys
      WHERE user_id = ${userId} AND device_id = ${deviceId}
        AND (algorithm || ':' || key_id) = ANY(${keys.map((k) => `${k.algorithm}:${k.keyId}`)})`;
    return rows.map((r) => ({ algorithm: r.algorithm as string, keyId: r.key_id as string, json: r.key_json as string }));
  }

  async addOneTimeKeys(sql: Sql, userId: string, deviceId: string, keys: OneTimeKeyRow[], uploadPos: number): Promise<void> {
    const rows = keys.map((k) => ({ user_id: userId, device_id: deviceId, algorithm: k.algorithm, key_id: k.keyId, key_json: k.json, upload_pos: uploadPos }));
    for (let i = 0; i < rows.length; i += 1000) {
      await sql`INSERT INTO e2e_one_time_keys ${sql(rows.slice(i, i + 1000))} ON CONFLICT DO NOTHING`;
    }
  }

  async setFallbackKey(sql: Sql, userId: string, deviceId: string, k: OneTimeKeyRow): Promise<void> {
    await sql`
      INSERT INTO e2e_fallback_keys (user_id, device_id, algorithm, key_id, key_json, used)
      VALUES (${userId}, ${deviceId}, ${k.algorithm}, ${k.keyId}, ${k.json}, false)
      ON CONFLICT (user_id, device_id, algorithm) DO UPDATE
        SET key_id = EXCLUDED.key_id, key_json = EXCLUDED.key_json,
            used = e2e_fallback_keys.used AND e2e_fallback_keys.key_id = EXCLUDED.key_id AND e2e_fallback_keys.key_json = EXCLUDED.key_json`;
  }

  async oneTimeKeyCounts(userId: string, deviceId: string, sql: Sql = this.sql): Promise<Record<string, number>> {
    const rows = await sql`
      SELECT algorithm, count(*)::int AS n FROM e2e_one_time_keys
      WHERE user_id = ${userId} AND device_id = ${deviceId} GROUP BY algorithm`;
    const out: Record<string, number> = {};
    for (const r of rows) out[r.algorithm as string] = r.n as number;
    return out;
  }

  async unusedFallbackTypes(userId: string, deviceId: string): Promise<string[]> {
    const rows = await this.sql`
      SELECT algorithm FROM e2e_fallback_keys WHERE user_id = ${userId} AND device_id = ${deviceId} AND NOT used ORDER BY algorithm`;
    return rows.map((r) => r.algorithm as string);
  }

  /** Takes the oldest one-time key of `algorithm`, or else marks and returns the fallback key. */
  async claim(userId: string, deviceId: string, algorithm: string): Promise<OneTimeKeyRow | undefined> {
    const otk = await this.sql`
      DELETE FROM e2e_one_time_keys WHERE ctid = (
        SELECT ctid FROM e2e_one_time_keys
        WHERE user_id = ${userId} AND device_id = ${deviceId} AND algorithm = ${algorithm}
        ORDER BY upload_pos, key_id LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING key_id, key_json`;
    if (otk[0]) return { algorithm, keyId: otk[0].key_id as string, json: otk[0].key_json as string };
    const fb = await this.sql`
      UPDATE e2e_fallback_keys SET used = true
      WHERE user_id = ${userId} AND device_id = ${deviceId} AND algorithm = ${algorithm}
      RETURNING key_id, key_json`;
    return fb[0] ? { algorithm, keyId: fb[0].key_id as string, json: fb[0].key_json as string } : undefined;
  }

  async deleteDevices(sql: Sql, userId: string, deviceIds: readonly string[]): Promise<boolean> {
    const ids = [...deviceIds];
    const had = await sql`DELETE FROM e2e_device_keys WHERE user_id = ${userId} AND device_id = ANY(${ids}) RETURNING 1`;
    await sql`DELETE FROM e2e_one_time_keys WHERE user_id = ${userId} AND device_id = ANY(${ids})`;
    await sql`DELETE FROM e2e_fallback_keys WHERE user_id = ${userId} AND device_id = ANY(${ids})`;
    await sql`DELETE FROM e2e_signatures WHERE target_user = ${userId} AND target_key_id = ANY(${ids})`;
    return had.length > 0;
  }

  // ------------------------------------------------------------------ cross-signing

  async crossSigningKeys(userId: string, sql: Sql = this.sql): Promise<Map<string, string>> {
    const rows = await sql`SELECT key_type, key_json FROM e2e_cross_signing_keys WHERE user_id = ${userId}`;
    return new Map(rows.map((r) => [r.key_type as string, r.key_json as string]));
  }

  async setCrossSigningKey(sql: Sql, userId: string, keyType: string, json: string): Promise<void> {
    await sql`
      INSERT INTO e2e_cross_signing_keys (user_id, key_type, key_json) VALUES (${userId}, ${keyType}, ${json})
      ON CONFLICT (user_id, key_type) DO UPDATE SET key_json = EXCLUDED.key_json`;
  }

  async addSignatures(sql: Sql, rows: SignatureRow[]): Promise<void> {
    const data = rows.map((r) => ({
      target_user: r.targetUser,
      target_key_id: r.targetKeyId,
      signer: r.signer,
      signer_key_id: r.signerKeyId,
      signature: r.signature,
    }));
    for (let i = 0; i < data.length; i += 1000) {
      await sql`INSERT INTO e2e_signatures ${sql(data.slice(i, i + 1000))}
        ON CONFLICT (target_user, target_key_id, signer, signer_key_id) DO UPDATE SET signature = EXCLUDED.signature`;
    }
  }

  /** Uploaded signatures on the keys of `targetUser`. */
  async signaturesOn(targetUser: string): Promise<SignatureRow[]> {
    const rows = await this.sql`
      SELECT target_key_id, signer, signer_key_id, signature FROM e2e_signatures WHERE target_user = ${targetUser}`;
    return rows.map((r) => ({
      targetUser,
      targetKeyId: r.target_key_id as string,
      signer: r.signer as string,
      signerKeyId: r.signer_key_id as string,
      signature: r.signature as string,
    }));
  }

  // ------------------------------------------------------------------ device-list changes

  async recordChange(sql: Sql, pos: number, userIds: readonly string[]): Promise<void> {
    const rows = userIds.map((u) => ({ stream_pos: pos, user_id: u }));
    await sql`INSERT INTO device_list_changes ${sql(rows)} ON CONFLICT DO NOTHING`;
  }

  /** Users whose device list changed in (since, upto]. */
  async changedUsers(since: number, upto: number): Promise<Array<{ pos: number; userId: string }>> {
    const rows = await this.sql`
      SELECT stream_pos, user_id FROM device_list_changes WHERE stream_pos > ${since} AND stream_pos <= ${upto}`;
    return rows.map((r) => ({ pos: Number(r.stream_pos), userId: r.user_id as string }));
  }
}
