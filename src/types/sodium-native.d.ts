// The slice of sodium-native's API that Lattice uses (the package ships no types).
declare module 'sodium-native' {
  const sodium: {
    crypto_sign_SEEDBYTES: number;
    crypto_sign_PUBLICKEYBYTES: number;
    crypto_sign_SECRETKEYBYTES: number;
    crypto_sign_BYTES: number;
    crypto_sign_seed_keypair(pk: Buffer, sk: Buffer, seed: Buffer): void;
    crypto_sign_keypair(pk: Buffer, sk: Buffer): void;
    crypto_sign_detached(sig: Buffer, message: Buffer, sk: Buffer): void;
    crypto_sign_verify_detached(sig: Buffer, message: Buffer, pk: Buffer): boolean;
    crypto_hash_sha256_BYTES: number;
    crypto_hash_sha256(out: Buffer, input: Buffer): void;
    crypto_pwhash_STRBYTES: number;
    crypto_pwhash_OPSLIMIT_INTERACTIVE: number;
    crypto_pwhash_MEMLIMIT_INTERACTIVE: number;
    crypto_pwhash_OPSLIMIT_MODERATE: number;
    crypto_pwhash_MEMLIMIT_MODERATE: number;
    crypto_pwhash_str(out: Buffer, passwd: Buffer, opslimit: number, memlimit: number): void;
    crypto_pwhash_str_async(out: Buffer, passwd: Buffer, opslimit: number, memlimit: number): Promise<void>;
    crypto_pwhash_str_verify(str: Buffer, passwd: Buffer): boolean;
    crypto_pwhash_str_verify_async(str: Buffer, passwd: Buffer): Promise<boolean>;
    crypto_pwhash_OPSLIMIT_MIN: number;
    crypto_pwhash_MEMLIMIT_MIN: number;
    crypto_pwhash_str_needs_rehash(str: Buffer, opslimit: number, memlimit: number): boolean;
    randombytes_buf(buf: Buffer): void;
    sodium_malloc(size: number): Buffer;
  };
  export default sodium;
}
