// The request/response shapes handlers see: plain data, independent of uWebSockets.js.
import type { z } from 'zod';
import type { MatrixError } from './errors.js';

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
  /**
   * The client's address: the peer's, or, when the peer is a trusted reverse proxy on a listener
   * with `x_forwarded`, the right-most untrusted address of X-Forwarded-For.
   */
  remoteAddress: string;
  /** Identifies the request in the logs and in the X-Request-Id response header. */
  id: string;
  /** Fields for the request's access-log line, filled in as it is served (the user, by authentication). */
  log: RequestLogFields;
  /** With body 'stream': the body, already on disk. */
  upload?: StreamedBody;
  /** Aborted when the client goes away before the response (long polls stop waiting). */
  signal: AbortSignal;
}

export interface RequestLogFields {
  user?: string;
}

/** A streamed body in a temporary file, removed after the response unless the handler moved it. */
export interface StreamedBody {
  path: string;
  size: number;
  sha256: Buffer;
}

/** What a streamed route's `authorize` allows: where the body goes and how big it may get. */
export interface BodyGrant {
  /** Directory for the temporary file: on the file system where the body will end up, so it can be renamed there. */
  dir: string;
  maxBytes: number;
  /** The error for a body that grows past maxBytes (default 413 M_TOO_LARGE). */
  overLimit?: () => MatrixError;
  /** Called once when the request is over, however it ended. */
  release(): void;
}

export interface Response {
  status?: number;
  /** An object is sent as JSON; a Buffer or string as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: Request) => Promise<Response> | Response;

export interface RouteOptions {
  /**
   * How to read the body: 'json' (parsed, must be JSON), 'raw' (bytes), 'none' (the default for
   * GET) or 'stream' (written to a temporary file as it arrives, see `authorize`).
   */
  body?: 'json' | 'raw' | 'none' | 'stream';
  /** Body size cap in bytes; defaults to the server's JSON or request cap. */
  maxBytes?: number;
  /** Checked by the front end before the handler runs (src/http/validate.ts). */
  schema?: RouteSchema;
  /**
   * With body 'stream' (required there): runs before a byte of the body is read, with the declared
   * Content-Length (undefined when chunked). A thrown error is answered at once and the
   * connection closed without reading the body.
   */
  authorize?: (req: Request, declaredBytes: number | undefined) => Promise<BodyGrant>;
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
