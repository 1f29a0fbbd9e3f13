// GET /_matrix/federation/v1/version
import type { Router } from '../../http/router.js';
import { VERSION } from '../../util/version.js';

export function registerVersion(router: Router): void {
  const body = { server: { name: 'Lattice', version: VERSION } };
  router.add('GET', '/_matrix/federation/v1/version', () => ({ body }), { schema: {} });
}
