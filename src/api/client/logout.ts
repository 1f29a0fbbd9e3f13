// POST /logout and POST /logout/all: the token's device (or every device) goes, with its tokens.
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { clientRoute } from './routes.js';

export function registerLogout(router: Router, ctx: ServerContext): void {
  const { auth, accounts } = ctx;
  // These two take an empty body: read it raw so a client sending none (or no JSON) is fine.
  const opts = { body: 'raw' as const, maxBytes: 64 * 1024, schema: {} };

  clientRoute(router, 'POST', '/logout', async (req) => {
    const me = await auth.requireUser(req);
    await accounts.deleteDevices(me.userId, [me.deviceId]);
    return { body: {} };
  }, opts);

  clientRoute(router, 'POST', '/logout/all', async (req) => {
    const me = await auth.requireUser(req);
    await accounts.deleteDevices(me.userId, null);
    return { body: {} };
  }, opts);
}
