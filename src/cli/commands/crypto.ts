// `canonical-json`, `sign-json`, `verify-json`: the crypto core for operators and tests.
import { canonicalJsonFromBytes, CanonicalJsonError } from '../../crypto/canonical.js';
import { decodeBase64 } from '../../crypto/base64.js';
import { readSigningKeys } from '../../crypto/signing-key.js';
import { signJson, verifyJsonSignature } from '../../crypto/sign-json.js';
import { defineCommand, eachDocument, NDJSON_OPTION, parseJsonDocument, UsageError } from '../io.js';

function requireObject(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('input must be a JSON object');
  return v as Record<string, unknown>;
}

export const canonicalJsonCmd = defineCommand(
  {
    name: 'canonical-json',
    synopsis: '[--drop K1,K2] [--lax] [--ndjson] < JSON',
    description: 'Prints the canonical JSON of the document on stdin. Input canonical JSON forbids\n(floats, integers beyond ±(2^53-1), duplicate keys, invalid UTF-8) is an error.',
    options: {
      drop: { type: 'string', arg: 'K1,K2', help: 'leave out these top-level keys' },
      lax: { type: 'boolean', help: 'allow integers beyond ±(2^53-1) (room versions 1-5)' },
      ndjson: NDJSON_OPTION,
    },
  },
  async (values) => {
    const drop = values.drop ? values.drop.split(',').filter(Boolean) : undefined;
    return eachDocument(!!values.ndjson, (doc) => {
      try {
        return canonicalJsonFromBytes(doc, { ...(drop ? { drop } : {}), lax: !!values.lax }).toString('utf8');
      } catch (e) {
        if (e instanceof CanonicalJsonError) throw new Error(`not representable as canonical JSON: ${e.message}`);
        throw e;
      }
    });
  },
);

export const signJsonCmd = defineCommand(
  {
    name: 'sign-json',
    synopsis: '--server NAME --key FILE [--ndjson] < JSON',
    description: 'Signs the JSON object on stdin (without its "signatures" and "unsigned") and prints it\nwith the signature added.',
    options: {
      server: { type: 'string', arg: 'NAME', help: 'the server name the signature is filed under' },
      key: { type: 'string', arg: 'FILE', help: 'signing key file in Synapse\'s format (the first key is used)' },
      ndjson: NDJSON_OPTION,
    },
  },
  async (values) => {
    if (!values.server || !values.key) throw new UsageError('--server NAME and --key FILE are required');
    const [key] = await readSigningKeys(values.key);
    return eachDocument(!!values.ndjson, (doc) => JSON.stringify(signJson(requireObject(parseJsonDocument(doc)), values.server!, key!)));
  },
);

export const verifyJsonCmd = defineCommand(
  {
    name: 'verify-json',
    synopsis: '--server NAME --key-id ID --public-key B64 [--ndjson] < JSON',
    description: 'Checks the signature of NAME with key ID on the JSON object on stdin; prints {"valid": true|false}.',
    options: {
      server: { type: 'string', arg: 'NAME', help: 'the signing server' },
      'key-id': { type: 'string', arg: 'ID', help: 'the key id, e.g. ed25519:abc' },
      'public-key': { type: 'string', arg: 'B64', help: 'the ed25519 public key, unpadded base64' },
      ndjson: NDJSON_OPTION,
    },
  },
  async (values) => {
    if (!values.server || !values['key-id'] || !values['public-key']) {
      throw new UsageError('--server NAME, --key-id ID and --public-key B64 are required');
    }
    let publicKey: Buffer;
    try {
      publicKey = decodeBase64(values['public-key']);
    } catch {
      throw new UsageError('--public-key is not unpadded base64');
    }
    return eachDocument(!!values.ndjson, (doc) => {
      const obj = requireObject(parseJsonDocument(doc));
      return JSON.stringify({ valid: verifyJsonSignature(obj, values.server!, values['key-id']!, publicKey) });
    });
  },
);
