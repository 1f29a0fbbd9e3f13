// GET /_matrix/key/v2/server: this server's keys, signed by themselves.
import type { Router } from '../../http/router.js';
import type { ServerKeys } from '../../services/server-keys.js';

export function registerKeys(router: Router, keys: ServerKeys): void {
  router.add('GET', '/_matrix/key/v2/server', () => ({ body: keys.response() }), { schema: {} });
}
