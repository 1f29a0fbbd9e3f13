// Server signing keys in the file format Synapse uses: one line per key,
// `ed25519 <version> <unpadded base64 seed>`.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { decodeBase64Lenient, encodeBase64 } from './base64.js';
import { generateKeyPair, keyPairFromSeed, SEED_BYTES } from './ed25519.js';

export interface SigningKey {
  algorithm: 'ed25519';
  version: string;
  /** `ed25519:<version>` */
  keyId: string;
  seed: Buffer;
  publicKey: Buffer;
  secretKey: Buffer;
  /** unpadded base64 of the public key, as published in key responses */
  publicKeyBase64: string;
}

const VERSION_RE = /^[a-zA-Z0-9_]+$/;

export function signingKeyFromSeed(version: string, seed: Uint8Array): SigningKey {
  if (!VERSION_RE.test(version)) throw new Error(`invalid signing key version "${version}"`);
  const kp = keyPairFromSeed(seed);
  return {
    algorithm: 'ed25519',
    version,
    keyId: `ed25519:${version}`,
    seed: kp.seed,
    publicKey: kp.publicKey,
    secretKey: kp.secretKey,
    publicKeyBase64: encodeBase64(kp.publicKey),
  };
}

export function generateSigningKey(version = randomVersion()): SigningKey {
  return signingKeyFromSeed(version, generateKeyPair().seed);
}

function randomVersion(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let v = 'a_';
  for (let i = 0; i < 4; i++) v += alphabet[Math.floor(Math.random() * alphabet.length)];
  return v;
}

export function formatSigningKeys(keys: readonly SigningKey[]): string {
  return keys.map((k) => `${k.algorithm} ${k.version} ${encodeBase64(k.seed)}\n`).join('');
}

export function parseSigningKeys(text: string): SigningKey[] {
  const keys: SigningKey[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    if (parts.length !== 3 || parts[0] !== 'ed25519') {
      throw new Error(`signing key line ${i + 1}: expected "ed25519 <version> <base64 seed>"`);
    }
    const seed = decodeBase64Lenient(parts[2]!);
    if (seed.length !== SEED_BYTES) throw new Error(`signing key line ${i + 1}: seed must be ${SEED_BYTES} bytes`);
    keys.push(signingKeyFromSeed(parts[1]!, seed));
  }
  if (keys.length === 0) throw new Error('signing key file holds no key');
  return keys;
}

export async function readSigningKeys(path: string): Promise<SigningKey[]> {
  return parseSigningKeys(await readFile(path, 'utf8'));
}

/** Reads the key file, creating it with a fresh key when it does not exist. */
export async function loadOrCreateSigningKeys(path: string): Promise<{ keys: SigningKey[]; created: boolean }> {
  try {
    return { keys: await readSigningKeys(path), created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const key = generateSigningKey();
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, formatSigningKeys([key]), { mode: 0o600, flag: 'wx' });
  return { keys: [key], created: true };
}
