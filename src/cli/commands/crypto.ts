// `canonical-json`, `sign-json`, `verify-json`: the crypto core for operators and tests.
import { canonicalJsonFromBytes, CanonicalJsonError } from '../../crypto/canonical.js';
import { decodeBase64 } from '../../crypto/base64.js';
import { readSigningKeys } from '../../crypto/signing-key.js';
import { signJson, verifyJsonSignature } from '../../crypto/sign-json.js';
import { eachDocument, parseCommandArgs, parseJsonDocument, UsageError, type Command } from '../io.js';

function requireObject(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('input must be a JSON object');
  return v as Record<string, unknown>;
}

export const canonicalJsonCmd: Command = async (args) => {
  const { values } = parseCommandArgs(args, { drop: { type: 'string' }, ndjson: { type: 'boolean' }, lax: { type: 'boolean' } });
  const drop = values.drop ? values.drop.split(',').filter(Boolean) : undefined;
  return eachDocument(!!values.ndjson, (doc) => {
    try {
      return canonicalJsonFromBytes(doc, { ...(drop ? { drop } : {}), lax: !!values.lax }).toString('utf8');
    } catch (e) {
      if (e instanceof CanonicalJsonError) throw new Error(`not representable as canonical JSON: ${e.message}`);
      throw e;
    }
  });
};

export const signJsonCmd: Command = async (args) => {
  const { values } = parseCommandArgs(args, {
    server: { type: 'string' },
    key: { type: 'string' },
    ndjson: { type: 'boolean' },
  });
  if (!values.server || !values.key) throw new UsageError('--server NAME and --key FILE are required');
  const [key] = await readSigningKeys(values.key);
  return eachDocument(!!values.ndjson, (doc) => JSON.stringify(signJson(requireObject(parseJsonDocument(doc)), values.server!, key!)));
};

export const verifyJsonCmd: Command = async (args) => {
  const { values } = parseCommandArgs(args, {
    server: { type: 'string' },
    'key-id': { type: 'string' },
    'public-key': { type: 'string' },
    ndjson: { type: 'boolean' },
  });
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
};
