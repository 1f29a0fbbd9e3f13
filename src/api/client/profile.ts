// Profiles: GET /profile/{userId}, and GET/PUT/DELETE /profile/{userId}/{keyName}
// (displayname, avatar_url, m.tz and namespaced custom fields). Reading needs no token.
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { guardedRoute as clientRoute } from './guard.js';

export function registerProfile(router: Router, ctx: ServerContext): void {
  const { auth, profiles } = ctx;

  clientRoute(router, 'GET', '/profile/{userId}', async (req) => {
    await auth.optionalUser(req);
    return { body: await profiles.getProfile(req.params.userId!) };
  });

  clientRoute(router, 'GET', '/profile/{userId}/{keyName}', async (req) => {
    await auth.optionalUser(req);
    return { body: await profiles.getField(req.params.userId!, req.params.keyName!) };
  });

  clientRoute(router, 'PUT', '/profile/{userId}/{keyName}', async (req) => {
    const me = await auth.requireUser(req);
    await profiles.setField(me.userId, req.params.userId!, req.params.keyName!, req.json);
    return { body: {} };
  });

  clientRoute(router, 'DELETE', '/profile/{userId}/{keyName}', async (req) => {
    const me = await auth.requireUser(req);
    await profiles.deleteField(me.userId, req.params.userId!, req.params.keyName!);
    return { body: {} };
  });
}
