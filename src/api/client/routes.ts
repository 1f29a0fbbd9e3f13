// Registers a Client-Server endpoint under /_matrix/client/v3 and its legacy r0 alias, with
// rate-limit errors answered with a Retry-After header.
import type { Router } from '../../http/router.js';
import type { Handler, RouteOptions } from '../../http/types.js';

const PREFIXES = ['/_matrix/client/v3', '/_matrix/client/r0'];

export function clientRoute(router: Router, method: string, path: string, handler: Handler, options: RouteOptions = {}): void {
  for (const p of PREFIXES) router.add(method, p + path, handler, options);
}
