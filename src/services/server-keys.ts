// This server's published signing keys (GET /_matrix/key/v2/server): built and self-signed once,
// then re-signed when half of its validity has passed so notaries never get a nearly-expired one.
import { decodeBase64 } from '../crypto/base64.js';
import { signJson } from '../crypto/sign-json.js';
import type { SigningKey } from '../crypto/signing-key.js';

export interface OldKey {
  key: string;
  expired_ts: number;
}

export interface ServerKeysResponse {
  server_name: string;
  verify_keys: Record<string, { key: string }>;
  old_verify_keys: Record<string, OldKey>;
  valid_until_ts: number;
  signatures: Record<string, Record<string, string>>;
}

export class ServerKeys {
  private cached?: { body: ServerKeysResponse; refreshAt: number };

  constructor(
    readonly serverName: string,
    readonly keys: readonly SigningKey[],
    private readonly oldKeys: Record<string, OldKey>,
    private readonly validityMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (keys.length === 0) throw new Error('at least one signing key is needed');
    for (const [id, k] of Object.entries(oldKeys)) {
      if (decodeBase64(k.key).length !== 32) throw new Error(`old signing key ${id} is not a 32-byte ed25519 key`);
    }
  }

  /** The key this server signs new events and requests with. */
  get signingKey(): SigningKey {
    return this.keys[0]!;
  }

  response(): ServerKeysResponse {
    const now = this.now();
    if (this.cached && now < this.cached.refreshAt) return this.cached.body;
    const validUntil = now + this.validityMs;
    let body: ServerKeysResponse = {
      server_name: this.serverName,
      verify_keys: Object.fromEntries(this.keys.map((k) => [k.keyId, { key: k.publicKeyBase64 }])),
      old_verify_keys: { ...this.oldKeys },
      valid_until_ts: validUntil,
      signatures: {},
    };
    for (const k of this.keys) body = signJson(body, this.serverName, k);
    this.cached = { body, refreshAt: now + this.validityMs / 2 };
    return body;
  }
}
