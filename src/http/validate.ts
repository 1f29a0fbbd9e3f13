// The validation layer at the route boundary: a route's schema (RouteOptions.schema) is checked
// against the decoded path parameters, the query and the parsed JSON body before its handler
// runs. A refusal is a MatrixError naming the field, never an exception from deeper down.
import type { z } from 'zod';
import { MatrixError } from './errors.js';
import type { Request, RouteSchema } from './types.js';

type Where = 'params' | 'query' | 'body';

/** First value of each query parameter (repeated parameters are read by their first value). */
export function queryObject(q: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of q) if (!Object.prototype.hasOwnProperty.call(out, k)) out[k] = v;
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out === '' ? String(k) : `.${String(k)}`;
  return out;
}

/**
 * The spec's error for the first issue: a body that is not an object is M_NOT_JSON (as the
 * handlers always answered), a missing field M_MISSING_PARAM, a bad path or query parameter
 * M_INVALID_PARAM and a bad body field M_BAD_JSON. A custom issue may choose its own errcode
 * with `params: {errcode}`.
 */
export function toMatrixError(where: Where, input: unknown, issues: readonly z.core.$ZodIssue[]): MatrixError {
  const issue = issues[0]!;
  const field = fieldName(issue.path);
  const own = issue.code === 'custom' ? (issue.params?.errcode as string | undefined) : undefined;
  if (where === 'body' && issue.path.length === 0 && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    return new MatrixError(400, 'M_NOT_JSON', 'Request body must be a JSON object');
  }
  const what = where === 'body' ? field || 'body' : `${where === 'params' ? 'path parameter' : 'query parameter'} ${field}`;
  if (!own && issue.path.length > 0 && valueAt(input, issue.path) === undefined && issue.code === 'invalid_type') {
    return new MatrixError(400, 'M_MISSING_PARAM', `Missing ${what}`);
  }
  return new MatrixError(400, own ?? (where === 'body' ? 'M_BAD_JSON' : 'M_INVALID_PARAM'), `${what}: ${issue.message}`);
}

function check(where: Where, schema: z.ZodType, input: unknown): void {
  const r = schema.safeParse(input);
  if (!r.success) throw toMatrixError(where, input, r.error.issues);
}

/** Throws the spec's 400 when the request does not fit the route's schema. */
export function validateRequest(schema: RouteSchema | undefined, req: Request): void {
  if (!schema) return;
  if (schema.params) check('params', schema.params, req.params);
  if (schema.query) check('query', schema.query, queryObject(req.query));
  // Routes that read no JSON body have no parsed body to check.
  if (schema.body && req.json !== undefined) check('body', schema.body, req.json);
}
