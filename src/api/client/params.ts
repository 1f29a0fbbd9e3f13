// Reading fields of a JSON request body, with the spec's errors for wrong shapes.
import { MatrixError } from '../../http/errors.js';
import type { Request } from '../../http/types.js';

/** The body as a JSON object (400 M_NOT_JSON for arrays, strings, numbers...). */
export function jsonObject(req: Request): Record<string, unknown> {
  const j = req.json;
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new MatrixError(400, 'M_NOT_JSON', 'Request body must be a JSON object');
  return j as Record<string, unknown>;
}

/** An optional string field (null counts as absent). */
export function optString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new MatrixError(400, 'M_INVALID_PARAM', `${key} must be a string`);
  return v;
}

/** An optional boolean field (null counts as absent). */
export function optBool(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new MatrixError(400, 'M_INVALID_PARAM', `${key} must be a boolean`);
  return v;
}
