// /.well-known/matrix/server and /.well-known/matrix/client, when the operator configured them.
import type { Router } from '../../http/router.js';

export interface WellKnownConfig {
  server: string | null;
  client: string | null;
}

export function registerWellKnown(router: Router, cfg: WellKnownConfig): void {
  if (cfg.server) {
    const body = { 'm.server': cfg.server };
    router.add('GET', '/.well-known/matrix/server', () => ({ body }), { schema: {} });
  }
  if (cfg.client) {
    const body = { 'm.homeserver': { base_url: cfg.client } };
    router.add('GET', '/.well-known/matrix/client', () => ({ body }), { schema: {} });
  }
}
