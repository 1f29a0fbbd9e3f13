// PostgreSQL text cannot hold NUL: a NUL in a path parameter or in a JSON key or string that a
// handler stores as text would fail deep in a query. These endpoints refuse it up front.
import { MatrixError } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { Handler, RouteOptions } from '../../http/types.js';
import { clientRoute } from './routes.js';

function containsNul(v: unknown, depth = 0): boolean {
  if (typeof v === 'string') return v.includes('\u0000');
  if (depth > 64 || v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some((x) => containsNul(x, depth + 1));
  for (const [k, x] of Object.entries(v)) if (k.includes('\u0000') || containsNul(x, depth + 1)) return true;
  return false;
}

export function rejectNul(params: Record<string, string>, json: unknown): void {
  for (const v of Object.values(params)) if (v.includes('\u0000')) throw new MatrixError(400, 'M_INVALID_PARAM', 'Parameters cannot contain NUL');
  if (containsNul(json)) throw new MatrixError(400, 'M_BAD_JSON', 'The body cannot contain NUL characters');
}

/** clientRoute with the NUL check in front of the handler. */
export function guardedRoute(router: Router, method: string, path: string, handler: Handler, options: RouteOptions = {}): void {
  clientRoute(
    router,
    method,
    path,
    (req) => {
      rejectNul(req.params, req.json);
      return handler(req);
    },
    options,
  );
}
