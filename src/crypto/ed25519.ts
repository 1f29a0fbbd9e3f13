// ed25519 through sodium-native (libsodium): the only signature algorithm Matrix uses.
import sodium from 'sodium-native';

export const SEED_BYTES = sodium.crypto_sign_SEEDBYTES;
export const PUBLIC_KEY_BYTES = sodium.crypto_sign_PUBLICKEYBYTES;
export const SIGNATURE_BYTES = sodium.crypto_sign_BYTES;

export interface Ed25519KeyPair {
  seed: Buffer;
  publicKey: Buffer;
  /** libsodium's 64-byte secret key (seed followed by public key). */
  secretKey: Buffer;
}

export function keyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
  if (seed.byteLength !== SEED_BYTES) throw new Error(`ed25519 seed must be ${SEED_BYTES} bytes`);
  const publicKey = Buffer.alloc(PUBLIC_KEY_BYTES);
  const secretKey = sodium.sodium_malloc(sodium.crypto_sign_SECRETKEYBYTES) as unknown as Buffer;
  const seedBuf = Buffer.from(seed);
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, seedBuf);
  return { seed: seedBuf, publicKey, secretKey };
}

export function generateKeyPair(): Ed25519KeyPair {
  const seed = Buffer.alloc(SEED_BYTES);
  sodium.randombytes_buf(seed);
  return keyPairFromSeed(seed);
}

export function sign(message: Uint8Array, secretKey: Uint8Array): Buffer {
  const sig = Buffer.alloc(SIGNATURE_BYTES);
  sodium.crypto_sign_detached(sig, message as Buffer, secretKey as Buffer);
  return sig;
}

export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.byteLength !== SIGNATURE_BYTES || publicKey.byteLength !== PUBLIC_KEY_BYTES) return false;
  return sodium.crypto_sign_verify_detached(signature as Buffer, message as Buffer, publicKey as Buffer);
}
