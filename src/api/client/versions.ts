// GET /_matrix/client/versions: the spec versions this server speaks.
import type { Router } from '../../http/router.js';

export const CLIENT_SPEC_VERSIONS = ['r0.6.1', 'v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11', 'v1.12'];

export function registerVersions(router: Router): void {
  const body = { versions: CLIENT_SPEC_VERSIONS, unstable_features: {} };
  router.add('GET', '/_matrix/client/versions', () => ({ body }), { schema: {} });
}
