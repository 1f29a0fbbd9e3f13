// Schema pieces shared by the route schemas (RouteOptions.schema, checked in src/http/validate.ts).
// Identifiers are at most 255 UTF-8 bytes and hold no NUL (PostgreSQL text cannot store it) and
// no lone surrogate (UTF-8 cannot encode it). Event content must be hashable as canonical JSON.
// Bodies are loose objects: clients send fields this server does not read.
import { z } from 'zod';
import { MAX_IDENTIFIER_BYTES, utf8Length } from '../../events/identifiers.js';
import { isWellFormed } from '../../util/text.js';

// Also a JSON Schema `pattern`, so a schema-driven client knows NUL is refused.
const NO_NUL = /^[^\u0000]*$/;

/** A string naming something: `min` to 255 bytes, no NUL, no lone surrogate. */
export function identifier(min = 1, maxBytes = MAX_IDENTIFIER_BYTES): z.ZodString {
  return z
    .string()
    .min(min)
    // Characters bound the bytes from below: a hint for JSON Schema, the byte check is below.
    .max(maxBytes)
    .regex(NO_NUL, 'must not contain NUL')
    .refine((s) => isWellFormed(s), 'must not contain a lone surrogate')
    .refine((s) => utf8Length(s) <= maxBytes, `must be at most ${maxBytes} bytes`);
}

const withSigil = (sigil: RegExp, what: string) => identifier(2).regex(sigil, `must be a ${what}`);

export const userId = withSigil(/^@[^:]*:./, 'user id (@localpart:server)');
export const roomId = withSigil(/^!/, 'room id');
export const eventId = withSigil(/^\$/, 'event id');
export const roomAlias = withSigil(/^#/, 'room alias');
export const roomIdOrAlias = withSigil(/^[!#]/, 'room id or alias');
export const eventType = identifier(1);
export const stateKey = identifier(0);
export const txnId = identifier(1);
export const deviceId = identifier(1);
/** Any other path segment (push rule ids, tags, filter ids, media ids...). */
export const segment = identifier(1);
/** A path segment whose length limit has its own errcode (profile keys: M_KEY_TOO_LARGE). */
export const longSegment = z
  .string()
  .min(1)
  .regex(NO_NUL, 'must not contain NUL')
  .refine((s) => isWellFormed(s), 'must not contain a lone surrogate');

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Why `v` cannot be hashed as canonical JSON, or undefined. JSON.parse has already turned
 * 1e400 into Infinity and kept big integers as unsafe doubles (an integer past 2^53−1 never
 * rounds back inside the range), so a value check sees every float and out-of-range integer.
 * Depth is bounded by the body scanner (src/http/json.ts), so recursion is safe.
 */
export function unhashable(v: unknown, path: Array<string | number>): string | undefined {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return Number.isFinite(v) ? 'floats are not allowed' : 'numbers must be finite integers';
    if (v > MAX_SAFE || v < -MAX_SAFE) return 'integers must be within ±(2^53−1)';
    return undefined;
  }
  if (typeof v === 'string') return !isWellFormed(v) ? 'strings must not contain lone surrogates' : undefined;
  if (v === null || typeof v !== 'object') return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      path.push(i);
      const why = unhashable(v[i], path);
      if (why) return why;
      path.pop();
    }
    return undefined;
  }
  for (const k of Object.keys(v)) {
    path.push(k);
    if (!isWellFormed(k)) return 'keys must not contain lone surrogates';
    const why = unhashable((v as Record<string, unknown>)[k], path);
    if (why) return why;
    path.pop();
  }
  return undefined;
}

/** Refinement: the value can be hashed for federation (400 M_BAD_JSON naming where not). */
export function hashable(v: unknown, ctx: z.RefinementCtx): void {
  const path: Array<string | number> = [];
  const why = unhashable(v, path);
  if (why) ctx.addIssue({ code: 'custom', message: why, path });
}

function containsNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\u0000');
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(containsNul);
  for (const k of Object.keys(v)) if (k.includes('\u0000') || containsNul((v as Record<string, unknown>)[k])) return true;
  return false;
}

/** Refinement for bodies whose strings and keys end up in text columns, where NUL cannot go. */
export function noNul(v: unknown, ctx: z.RefinementCtx): void {
  if (containsNul(v)) ctx.addIssue({ code: 'custom', message: 'must not contain NUL characters' });
}

/** A JSON object with any members. */
export const anyObject = () => z.looseObject({});

/** Event content: any object that canonical JSON can hash. */
export const eventContent = anyObject().superRefine(hashable);

/** A body whose strings are stored as text: any object without NUL. */
export const textObject = anyObject().superRefine(noNul);

/** Free text that is stored in a text column. */
export const text = () => z.string().regex(NO_NUL, 'must not contain NUL');

/** The fields of login and registration that name the new device. */
export const newDeviceFields = { device_id: deviceId.nullish(), initial_device_display_name: text().nullish() };

/** An optional string field that may also be null (clients send null for "absent"). */
export const optString = () => z.string().nullish();

/** Path parameters: an object of the given parameter schemas. */
export const params = <T extends z.ZodRawShape>(shape: T) => z.object(shape);

/** The usual body of a membership change: a reason, all of it going into the event. */
export const membershipBody = z.looseObject({ reason: optString() }).superRefine(hashable);
