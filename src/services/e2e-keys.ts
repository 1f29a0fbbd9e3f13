// End-to-end encryption keys of local users: device identity keys, one-time and fallback keys,
// cross-signing keys and signatures; device-list changes; and their parts of /sync
// (device_lists, device_one_time_keys_count, device_unused_fallback_key_types).
import { MatrixError, badJson, forbidden } from '../http/errors.js';
import { canonicalJson, CanonicalJsonError } from '../crypto/canonical.js';
import { Base64Error, decodeBase64 } from '../crypto/base64.js';
import { checkJsonSignature } from '../crypto/sign-json.js';
import { isValidUserId, serverNameOf } from '../events/identifiers.js';
import { E2eKeyStore, type OneTimeKeyRow, type SignatureRow } from '../storage/e2e-keys.js';
import type { Sql } from '../storage/pool.js';
import type { ServerContext } from './context.js';
import type { SyncContributor, SyncRequestContext, SyncResponse } from './sync/types.js';
import { isJsonObject, type JsonObject } from './account-data.js';
import { withPositions } from './change-log.js';
import { DeviceMap } from '../util/device-map.js';
import { DeviceListTracker, MembershipLog } from './device-lists.js';

export const CROSS_SIGNING_TYPES = ['master', 'self_signing', 'user_signing'] as const;
export type CrossSigningType = (typeof CROSS_SIGNING_TYPES)[number];

interface KeyCounts {
  counts: Record<string, number>;
  fallback: string[];
}

/** Signature check that treats JSON canonical JSON cannot represent, or a bad key, as a bad signature. */
function signatureOk(obj: JsonObject, signer: string, keyId: string, publicKeyB64: unknown): boolean {
  if (typeof publicKeyB64 !== 'string') return false;
  try {
    const pub = decodeBase64(publicKeyB64);
    if (pub.length !== 32) return false;
    return checkJsonSignature(obj, signer, keyId, pub) === 'ok';
  } catch (e) {
    if (e instanceof CanonicalJsonError || e instanceof Base64Error) return false;
    throw e;
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a as object).equals(canonicalJson(b as object));
  } catch {
    return false;
  }
}

function stringMap(v: unknown): v is Record<string, string> {
  return isJsonObject(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** The single public key of a cross-signing key object, or undefined. */
export function crossSigningPublicKey(k: JsonObject): string | undefined {
  if (!isJsonObject(k.keys)) return undefined;
  const entries = Object.entries(k.keys);
  if (entries.length !== 1) return undefined;
  const [id, value] = entries[0]!;
  return id.startsWith('ed25519:') && typeof value === 'string' && id.slice(8) === value ? value : undefined;
}

function parseKeyMap(v: unknown, field: string): OneTimeKeyRow[] {
  if (v === undefined || v === null) return [];
  if (!isJsonObject(v)) throw badJson(`${field} must be an object`);
  const out: OneTimeKeyRow[] = [];
  for (const [id, key] of Object.entries(v)) {
    const colon = id.indexOf(':');
    if (colon <= 0 || colon === id.length - 1) throw badJson(`${field}: key ids look like <algorithm>:<key_id>, not ${JSON.stringify(id.slice(0, 100))}`);
    if (typeof key !== 'string' && !isJsonObject(key)) throw badJson(`${field}.${id} must be a string or an object`);
    out.push({ algorithm: id.slice(0, colon), keyId: id.slice(colon + 1), json: JSON.stringify(key) });
  }
  return out;
}

export class E2eKeysService {
  readonly store: E2eKeyStore;
  readonly deviceLists: DeviceListTracker;
  private readonly counts = new DeviceMap<KeyCounts>();

  constructor(private readonly ctx: Pick<ServerContext, 'sql' | 'streams' | 'notifier' | 'config' | 'log'>) {
    this.store = new E2eKeyStore(ctx.sql);
    const start = ctx.streams.position;
    this.deviceLists = new DeviceListTracker(ctx.sql, this.store, new MembershipLog(ctx.sql, start), start);
  }

  private isLocal(userId: string): boolean {
    return serverNameOf(userId) === this.ctx.config.server_name;
  }

  // ---------------------------------------------------------------- device-list changes

  /** Records in `tx` that `userId`'s device list changed; call `announce` after the commit. */
  private async recordChange(tx: Sql, alloc: (n?: number) => Promise<number[]>, userId: string): Promise<number> {
    const [pos] = await alloc();
    await this.store.recordChange(tx, pos!, [userId]);
    return pos!;
  }

  /** Wakes the syncs of local users who track `userId`'s devices. */
  private async announce(userId: string): Promise<void> {
    try {
      this.ctx.notifier.notifyUsers(await this.deviceLists.localWatchers(userId, this.ctx.config.server_name));
    } catch (e) {
      this.ctx.log.warn({ err: e, userId }, 'could not wake the syncs of users tracking a device list');
    }
  }

  /** Marks `userId`'s device list changed (e.g. a device was renamed or added). */
  async deviceListChanged(userId: string): Promise<void> {
    await withPositions(this.ctx, (tx, alloc) => this.recordChange(tx, alloc, userId), (pos) => this.deviceLists.record(pos, [userId]));
    await this.announce(userId);
  }

  /** Drops the keys of deleted devices and tells the users who track them. */
  async devicesRemoved(userId: string, deviceIds: readonly string[]): Promise<void> {
    const pos = await withPositions(
      this.ctx,
      async (tx, alloc) => {
        await this.store.deleteDevices(tx, userId, deviceIds);
        return this.recordChange(tx, alloc, userId);
      },
      (p) => this.deviceLists.record(p, [userId]),
    );
    for (const d of deviceIds) this.counts.delete(userId, d);
    if (pos) await this.announce(userId);
  }

  // ---------------------------------------------------------------- upload

  async upload(userId: string, deviceId: string, body: JsonObject): Promise<Record<string, number>> {
    const dk = body.device_keys;
    if (dk !== undefined && dk !== null) this.checkDeviceKeys(userId, deviceId, dk);
    const otks = parseKeyMap(body.one_time_keys, 'one_time_keys');
    const fallbacks = parseKeyMap(body.fallback_keys, 'fallback_keys');
    const algs = new Set<string>();
    for (const f of fallbacks) {
      if (algs.has(f.algorithm)) throw badJson(`fallback_keys: more than one ${f.algorithm} key`);
      algs.add(f.algorithm);
    }

    const { counts, changed } = await withPositions(
      this.ctx,
      async (tx, alloc) => {
        let changed = 0;
        if (isJsonObject(dk)) {
          const old = await this.store.deviceKeys(userId, deviceId, tx);
          if (old === undefined || !sameJson(JSON.parse(old), dk)) {
            await this.store.setDeviceKeys(tx, userId, deviceId, JSON.stringify(dk));
            changed = await this.recordChange(tx, alloc, userId);
          }
        }
        if (otks.length) {
          const existing = await this.store.existingOneTimeKeys(tx, userId, deviceId, otks);
          const byId = new Map(otks.map((k) => [`${k.algorithm}:${k.keyId}`, k]));
          for (const e of existing) {
            const mine = byId.get(`${e.algorithm}:${e.keyId}`)!;
            if (!sameJson(JSON.parse(e.json), JSON.parse(mine.json))) {
              throw new MatrixError(400, 'M_INVALID_PARAM', `One-time key ${e.algorithm}:${e.keyId} already exists with other content`);
            }
          }
          // Keys uploaded together are equivalent; batches are claimed oldest first.
          const [batch] = await alloc();
          await this.store.addOneTimeKeys(tx, userId, deviceId, otks, batch!);
        }
        for (const f of fallbacks) await this.store.setFallbackKey(tx, userId, deviceId, f);
        return { counts: await this.store.oneTimeKeyCounts(userId, deviceId, tx), changed };
      },
      (r) => {
        if (r.changed) this.deviceLists.record(r.changed, [userId]);
      },
    );
    this.counts.delete(userId, deviceId);
    if (changed) await this.announce(userId);
    return { signed_curve25519: 0, ...counts };
  }

  private checkDeviceKeys(userId: string, deviceId: string, dk: unknown): asserts dk is JsonObject {
    if (!isJsonObject(dk)) throw badJson('device_keys must be an object');
    if (dk.user_id !== userId) throw badJson('device_keys.user_id must be the user who uploads them');
    if (dk.device_id !== deviceId) throw badJson("device_keys.device_id must be the uploading session's device");
    if (!Array.isArray(dk.algorithms) || !dk.algorithms.every((a) => typeof a === 'string')) throw badJson('device_keys.algorithms must be a list of strings');
    if (!stringMap(dk.keys)) throw badJson('device_keys.keys must map key ids to keys');
    if (!isJsonObject(dk.signatures)) throw badJson('device_keys.signatures must be an object');
    const keyId = `ed25519:${deviceId}`;
    if (!signatureOk(dk, userId, keyId, dk.keys[keyId])) {
      throw new MatrixError(400, 'M_INVALID_SIGNATURE', `device_keys must be signed by the device's own ${keyId} key`);
    }
  }

  // ---------------------------------------------------------------- query and claim

  async query(requester: string, body: JsonObject): Promise<JsonObject> {
    const wanted = body.device_keys;
    if (!isJsonObject(wanted)) throw badJson('device_keys must be an object');
    const deviceKeys: Record<string, Record<string, JsonObject>> = {};
    const master: Record<string, JsonObject> = {};
    const selfSigning: Record<string, JsonObject> = {};
    const userSigning: Record<string, JsonObject> = {};
    const failures: Record<string, JsonObject> = {};
    for (const [userId, devices] of Object.entries(wanted)) {
      if (!Array.isArray(devices) || !devices.every((d) => typeof d === 'string')) throw badJson(`device_keys.${userId} must be a list of device ids`);
      if (!isValidUserId(userId)) continue;
      if (!this.isLocal(userId)) {
        // Federation is not available: the user's server counts as unreachable.
        failures[serverNameOf(userId)!] = { errcode: 'M_UNKNOWN', error: 'Remote key queries are not supported' };
        continue;
      }
      const [rows, sigs, cross] = await Promise.all([
        this.store.queryDeviceKeys(userId, devices.length ? (devices as string[]) : null),
        this.store.signaturesOn(userId),
        this.store.crossSigningKeys(userId),
      ]);
      // Visible signatures: the owner's own, and the requester's (user-signing) ones.
      const visible = sigs.filter((s) => s.signer === userId || s.signer === requester);
      const out: Record<string, JsonObject> = {};
      for (const r of rows) {
        const keys = JSON.parse(r.keys) as JsonObject;
        mergeSignatures(keys, visible, r.deviceId);
        const unsigned = isJsonObject(keys.unsigned) ? keys.unsigned : {};
        keys.unsigned = r.displayName !== null ? { ...unsigned, device_display_name: r.displayName } : unsigned;
        out[r.deviceId] = keys;
      }
      deviceKeys[userId] = out;
      const m = cross.get('master');
      if (m) {
        const k = JSON.parse(m) as JsonObject;
        mergeSignatures(k, visible, crossSigningPublicKey(k) ?? '');
        master[userId] = k;
      }
      const ss = cross.get('self_signing');
      if (ss) selfSigning[userId] = JSON.parse(ss) as JsonObject;
      const us = cross.get('user_signing');
      if (us && userId === requester) userSigning[userId] = JSON.parse(us) as JsonObject;
    }
    return { device_keys: deviceKeys, master_keys: master, self_signing_keys: selfSigning, user_signing_keys: userSigning, failures };
  }

  async claim(body: JsonObject): Promise<JsonObject> {
    const wanted = body.one_time_keys;
    if (!isJsonObject(wanted)) throw badJson('one_time_keys must be an object');
    const result: Record<string, Record<string, Record<string, unknown>>> = {};
    const failures: Record<string, JsonObject> = {};
    for (const [userId, devices] of Object.entries(wanted)) {
      if (!isJsonObject(devices)) throw badJson(`one_time_keys.${userId} must be an object`);
      for (const [deviceId, algorithm] of Object.entries(devices)) {
        if (typeof algorithm !== 'string') throw badJson(`one_time_keys.${userId}.${deviceId} must be an algorithm name`);
      }
    }
    for (const [userId, devices] of Object.entries(wanted as Record<string, Record<string, string>>)) {
      if (!isValidUserId(userId)) continue;
      if (!this.isLocal(userId)) {
        failures[serverNameOf(userId)!] = { errcode: 'M_UNKNOWN', error: 'Remote key claims are not supported' };
        continue;
      }
      for (const [deviceId, algorithm] of Object.entries(devices)) {
        const k = await this.store.claim(userId, deviceId, algorithm);
        if (!k) continue;
        this.counts.delete(userId, deviceId);
        ((result[userId] ??= {})[deviceId] ??= {})[`${k.algorithm}:${k.keyId}`] = JSON.parse(k.json) as unknown;
      }
    }
    return { one_time_keys: result, failures };
  }

  /** GET /keys/changes between two stream positions. */
  async changes(userId: string, from: number, to: number): Promise<{ changed: string[]; left: string[] }> {
    const upto = Math.min(to, this.ctx.streams.position);
    const rows = await this.ctx.sql`SELECT room_id FROM room_memberships WHERE user_id = ${userId} AND membership = 'join'`;
    return this.deviceLists.between(userId, rows.map((r) => r.room_id as string), from, upto);
  }

  // ---------------------------------------------------------------- cross-signing

  /** Whether an upload would only repeat the keys already stored (no UIA needed then). */
  async crossSigningUploadNeedsAuth(userId: string, body: JsonObject): Promise<boolean> {
    const stored = await this.store.crossSigningKeys(userId);
    if (!stored.has('master')) return false;
    for (const t of CROSS_SIGNING_TYPES) {
      const k = body[`${t}_key`];
      if (k === undefined || k === null) continue;
      const old = stored.get(t);
      if (old === undefined || !sameJson(JSON.parse(old), k)) return true;
    }
    return false;
  }

  async uploadCrossSigningKeys(userId: string, body: JsonObject): Promise<void> {
    const given: Partial<Record<CrossSigningType, JsonObject>> = {};
    for (const t of CROSS_SIGNING_TYPES) {
      const k = body[`${t}_key`];
      if (k === undefined || k === null) continue;
      if (!isJsonObject(k)) throw badJson(`${t}_key must be an object`);
      if (k.user_id !== userId) throw badJson(`${t}_key.user_id must be the uploading user`);
      if (!Array.isArray(k.usage) || !k.usage.includes(t)) throw badJson(`${t}_key.usage must include ${t}`);
      if (!crossSigningPublicKey(k)) throw badJson(`${t}_key.keys must hold exactly one ed25519 key, named by itself`);
      given[t] = k;
    }
    if (Object.keys(given).length === 0) return;

    const changed = await withPositions(
      this.ctx,
      async (tx, alloc) => {
        await tx`SELECT pg_advisory_xact_lock(hashtextextended(${'cross_signing\u0001' + userId}, 0))`;
        const stored = await this.store.crossSigningKeys(userId, tx);
        const masterObj = given.master ?? (stored.has('master') ? (JSON.parse(stored.get('master')!) as JsonObject) : undefined);
        if (!masterObj) throw new MatrixError(400, 'M_MISSING_PARAM', 'No master signing key is available');
        const masterPub = crossSigningPublicKey(masterObj)!;
        for (const t of ['self_signing', 'user_signing'] as const) {
          const k = given[t];
          if (k && !signatureOk(k, userId, `ed25519:${masterPub}`, masterPub)) {
            throw new MatrixError(400, 'M_INVALID_SIGNATURE', `${t}_key must be signed by the master key`);
          }
        }
        // Cross-signing public keys share the device id namespace.
        const pubs = Object.values(given).map((k) => crossSigningPublicKey(k)!);
        const clash = await tx`SELECT device_id FROM devices WHERE user_id = ${userId} AND device_id = ANY(${pubs})`;
        if (clash.length) throw forbidden('A cross-signing key has the id of one of your devices');
        let any = false;
        for (const t of CROSS_SIGNING_TYPES) {
          const k = given[t];
          if (!k) continue;
          const old = stored.get(t);
          if (old !== undefined && sameJson(JSON.parse(old), k)) continue;
          await this.store.setCrossSigningKey(tx, userId, t, JSON.stringify(k));
          any = true;
        }
        return any ? this.recordChange(tx, alloc, userId) : 0;
      },
      (pos) => {
        if (pos) this.deviceLists.record(pos, [userId]);
      },
    );
    if (changed) await this.announce(userId);
  }

  /** POST /keys/signatures/upload: returns the failures map. */
  async uploadSignatures(userId: string, body: JsonObject): Promise<Record<string, Record<string, JsonObject>>> {
    const failures: Record<string, Record<string, JsonObject>> = {};
    const fail = (u: string, k: string, errcode: string, error: string) => ((failures[u] ??= {})[k] = { errcode, error });
    const accepted: SignatureRow[] = [];
    const cross = await this.store.crossSigningKeys(userId);
    const parse = (t: string) => (cross.has(t) ? (JSON.parse(cross.get(t)!) as JsonObject) : undefined);
    const selfSigning = parse('self_signing');
    const userSigning = parse('user_signing');
    const myMaster = parse('master');

    for (const [targetUser, keys] of Object.entries(body)) {
      if (!isJsonObject(keys)) throw badJson(`${targetUser} must map key ids to signed objects`);
      for (const [keyId, signed] of Object.entries(keys)) {
        if (!isJsonObject(signed) || !isJsonObject(signed.signatures)) {
          fail(targetUser, keyId, 'M_INVALID_PARAM', 'Expected a signed object');
          continue;
        }
        const mySigs = signed.signatures[userId];
        if (!stringMap(mySigs) || Object.keys(mySigs).length === 0) {
          fail(targetUser, keyId, 'M_INVALID_PARAM', 'No signature by the uploading user');
          continue;
        }
        // The object must be the stored key, apart from signatures.
        let stored: JsonObject | undefined;
        let signerKey: JsonObject | undefined;
        if (targetUser === userId && myMaster && keyId === crossSigningPublicKey(myMaster)) {
          stored = myMaster; // signed by one of the user's devices
        } else if (targetUser === userId) {
          const dk = await this.store.deviceKeys(userId, keyId);
          stored = dk === undefined ? undefined : (JSON.parse(dk) as JsonObject);
          signerKey = selfSigning;
        } else if (this.isLocal(targetUser)) {
          const theirs = await this.store.crossSigningKeys(targetUser);
          const m = theirs.get('master');
          const mo = m === undefined ? undefined : (JSON.parse(m) as JsonObject);
          stored = mo && crossSigningPublicKey(mo) === keyId ? mo : undefined;
          signerKey = userSigning;
        }
        if (!stored) {
          fail(targetUser, keyId, 'M_NOT_FOUND', 'No such key');
          continue;
        }
        const strip = (o: JsonObject) => {
          const { signatures: _s, unsigned: _u, ...rest } = o;
          return rest;
        };
        if (!sameJson(strip(stored), strip(signed))) {
          fail(targetUser, keyId, 'M_INVALID_PARAM', 'The signed object does not match the stored key');
          continue;
        }
        const good: SignatureRow[] = [];
        for (const [sigKeyId, sig] of Object.entries(mySigs)) {
          let pub: string | undefined;
          if (signerKey) {
            pub = crossSigningPublicKey(signerKey);
            if (`ed25519:${pub}` !== sigKeyId) continue;
          } else {
            // A device of the user signing its master key.
            const dev = await this.store.deviceKeys(userId, sigKeyId.slice('ed25519:'.length));
            const dk = dev === undefined ? undefined : (JSON.parse(dev) as JsonObject);
            pub = dk && isJsonObject(dk.keys) ? (dk.keys[sigKeyId] as string | undefined) : undefined;
          }
          if (pub === undefined) continue;
          if (!signatureOk({ ...signed, signatures: { [userId]: { [sigKeyId]: sig } } }, userId, sigKeyId, pub)) {
            fail(targetUser, keyId, 'M_INVALID_SIGNATURE', 'Invalid signature');
            good.length = 0;
            break;
          }
          good.push({ targetUser, targetKeyId: keyId, signer: userId, signerKeyId: sigKeyId, signature: sig });
        }
        if (good.length === 0 && !failures[targetUser]?.[keyId]) fail(targetUser, keyId, 'M_INVALID_SIGNATURE', 'No signature by a key that may sign this one');
        accepted.push(...good);
      }
    }
    if (accepted.length) {
      // Signatures on a user's keys change what others see of that user.
      const targets = [...new Set(accepted.map((a) => a.targetUser))];
      await withPositions(
        this.ctx,
        async (tx, alloc) => {
          await this.store.addSignatures(tx, accepted);
          const pos = (await alloc())[0]!;
          await this.store.recordChange(tx, pos, targets);
          return pos;
        },
        (pos) => this.deviceLists.record(pos, targets),
      );
      for (const t of targets) await this.announce(t);
    }
    return failures;
  }

  // ---------------------------------------------------------------- sync

  private async countsFor(userId: string, deviceId: string): Promise<KeyCounts> {
    let c = this.counts.get(userId, deviceId);
    if (!c) {
      const [counts, fallback] = await Promise.all([this.store.oneTimeKeyCounts(userId, deviceId), this.store.unusedFallbackTypes(userId, deviceId)]);
      c = { counts, fallback };
      // Bounded: forget everything rather than grow without limit.
      if (this.counts.size > 100_000) this.counts.clear();
      this.counts.set(userId, deviceId, c);
    }
    return c;
  }

  readonly contributor: SyncContributor = {
    name: 'e2e_keys',
    contribute: (req, res) => this.contribute(req, res),
  };

  private async contribute(req: SyncRequestContext, res: SyncResponse): Promise<void> {
    const c = await this.countsFor(req.userId, req.deviceId);
    res.device_one_time_keys_count = { signed_curve25519: 0, ...c.counts };
    res.device_unused_fallback_key_types = [...c.fallback];
    if (req.since) {
      const dl = await this.deviceLists.between(req.userId, req.joinedRoomIds, req.since.stream, req.upto.stream);
      for (const u of dl.changed) if (!res.device_lists.changed.includes(u)) res.device_lists.changed.push(u);
      for (const u of dl.left) if (!res.device_lists.left.includes(u)) res.device_lists.left.push(u);
    }
  }
}

/** Adds the stored signatures on key `keyId` to `obj.signatures`. */
function mergeSignatures(obj: JsonObject, sigs: readonly SignatureRow[], keyId: string): void {
  const mine = sigs.filter((s) => s.targetKeyId === keyId);
  if (mine.length === 0) return;
  const out: Record<string, Record<string, string>> = isJsonObject(obj.signatures) ? { ...(obj.signatures as Record<string, Record<string, string>>) } : {};
  for (const s of mine) out[s.signer] = { ...(out[s.signer] ?? {}), [s.signerKeyId]: s.signature };
  obj.signatures = out;
}
