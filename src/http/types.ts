// The request/response shapes handlers see: plain data, independent of uWebSockets.js.
import type { z } from 'zod';

export interface Request {
  method: string;
  /** Path without the query string, still percent-encoded. */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Raw body bytes (empty when the route reads no body). */
  body: Buffer;
  /** Parsed JSON body when the route asked for JSON. */
  json: unknown;
  remoteAddress: string;
  /** Aborted when the client goes away before the response (long polls stop waiting). */
  signal: AbortSignal;
}

export interface Response {
  status?: number;
  /** An object is sent as JSON; a Buffer or string as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: Request) => Promise<Response> | Response;

export interface RouteOptions {
  /** How to read the body: 'json' (parsed, must be JSON), 'raw' (bytes) or 'none' (the default for GET). */
  body?: 'json' | 'raw' | 'none';
  /** Body size cap in bytes; defaults to the server's JSON or request cap. */
  maxBytes?: number;
  /** Checked by the front end before the handler runs (src/http/validate.ts). */
  schema?: RouteSchema;
}

/**
 * Per-route input schemas: `params` sees the decoded path parameters, `query` the first value of
 * each query parameter, `body` the parsed JSON body. Plain zod schemas (no transforms), so
 * z.toJSONSchema can describe them.
 */
export interface RouteSchema {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
}
