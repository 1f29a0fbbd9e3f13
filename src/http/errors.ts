// Matrix error responses: {errcode, error} with the HTTP status the spec gives each case.

export class MatrixError extends Error {
  override name = 'MatrixError';
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    /** Extra top-level fields, e.g. retry_after_ms. */
    readonly extra: Record<string, unknown> = {},
    /** Response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toJSON(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

export const unrecognized = (msg = 'Unrecognized request') => new MatrixError(404, 'M_UNRECOGNIZED', msg);
export const methodNotAllowed = () => new MatrixError(405, 'M_UNRECOGNIZED', 'Method not allowed for this endpoint');
export const notJson = (msg = 'Content not JSON') => new MatrixError(400, 'M_NOT_JSON', msg);
export const badJson = (msg: string) => new MatrixError(400, 'M_BAD_JSON', msg);
export const tooLarge = (msg = 'Request body too large') => new MatrixError(413, 'M_TOO_LARGE', msg);
export const invalidParam = (msg: string) => new MatrixError(400, 'M_INVALID_PARAM', msg);
export const notFound = (msg = 'Not found') => new MatrixError(404, 'M_NOT_FOUND', msg);
export const forbidden = (msg: string) => new MatrixError(403, 'M_FORBIDDEN', msg);
export const serverBusy = (msg = 'The server is busy; try again') => new MatrixError(503, 'M_UNKNOWN', msg, {}, { 'Retry-After': '1' });
export const unknownError = (msg = 'Internal server error') => new MatrixError(500, 'M_UNKNOWN', msg);
export const limitExceeded = (retryAfterMs: number, msg = 'Too many requests') =>
  new MatrixError(429, 'M_LIMIT_EXCEEDED', msg, { retry_after_ms: retryAfterMs }, { 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) });
