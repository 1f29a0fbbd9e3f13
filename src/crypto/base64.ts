// Unpadded base64 (RFC 4648 section 4) and its URL-safe variant (section 5), as the spec's
// appendix defines them. Decoding is strict: wrong alphabet, impossible lengths and
// non-zero trailing bits are refused; "=" padding is accepted as the spec recommends.

export class Base64Error extends Error {
  override name = 'Base64Error';
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').replace(/=+$/, '');
}

export function encodeBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

const STD = /^[A-Za-z0-9+/]*$/;
const URL = /^[A-Za-z0-9\-_]*$/;

function decode(input: string, alphabet: RegExp, encoding: 'base64' | 'base64url', strictBits = true): Buffer {
  let s = input;
  const pad = s.indexOf('=');
  if (pad !== -1) {
    // Padding is only valid as the tail that completes a multiple of four characters.
    const tail = s.slice(pad);
    if (!/^={1,2}$/.test(tail) || s.length % 4 !== 0) throw new Base64Error('invalid base64 padding');
    s = s.slice(0, pad);
  }
  if (!alphabet.test(s)) throw new Base64Error('invalid base64 character');
  if (s.length % 4 === 1) throw new Base64Error('invalid base64 length');
  const out = Buffer.from(s, encoding);
  // Node ignores non-zero trailing bits; a strict decoder must not, or two strings decode alike.
  const rem = s.length % 4;
  if (rem !== 0 && strictBits) {
    const last = s.charCodeAt(s.length - 1);
    const v = sextet(last);
    const mask = rem === 2 ? 0x0f : 0x03;
    if ((v & mask) !== 0) throw new Base64Error('invalid base64 trailing bits');
  }
  return out;
}

function sextet(c: number): number {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  if (c === 43 || c === 45) return 62;
  return 63;
}

export function decodeBase64(input: string): Buffer {
  return decode(input, STD, 'base64');
}

/**
 * Like decodeBase64 but ignores non-zero trailing bits, as Python's decoder (and so Synapse)
 * does. For key material written by other tools (the spec's own test seed has such bits);
 * never for signatures, where one value must have one spelling.
 */
export function decodeBase64Lenient(input: string): Buffer {
  return decode(input, STD, 'base64', false);
}

export function decodeBase64Url(input: string): Buffer {
  return decode(input, URL, 'base64url');
}
