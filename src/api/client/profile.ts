// Profiles: GET /profile/{userId}, and GET/PUT/DELETE /profile/{userId}/{keyName}
// (displayname, avatar_url, m.tz and namespaced custom fields). Reading needs no token.
import { z } from 'zod';
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { clientRoute } from './routes.js';
import { hashable, longSegment, noNul, params, userId } from './schemas.js';

const byUser = params({ userId });
const byKey = params({ userId, keyName: longSegment });
// displayname and avatar_url reach the user's member events, so the body must be hashable.
const fieldBody = z.looseObject({}).superRefine(noNul).superRefine(hashable);

export function registerProfile(router: Router, ctx: ServerContext): void {
  const { auth, profiles } = ctx;

  clientRoute(router, 'GET', '/profile/{userId}', async (req) => {
    await auth.optionalUser(req);
    return { body: await profiles.getProfile(req.params.userId!) };
  }, { schema: { params: byUser } });

  clientRoute(router, 'GET', '/profile/{userId}/{keyName}', async (req) => {
    await auth.optionalUser(req);
    return { body: await profiles.getField(req.params.userId!, req.params.keyName!) };
  }, { schema: { params: byKey } });

  clientRoute(router, 'PUT', '/profile/{userId}/{keyName}', async (req) => {
    const me = await auth.requireUser(req);
    await profiles.setField(me.userId, req.params.userId!, req.params.keyName!, req.json);
    return { body: {} };
  }, { schema: { params: byKey, body: fieldBody } });

  clientRoute(router, 'DELETE', '/profile/{userId}/{keyName}', async (req) => {
    const me = await auth.requireUser(req);
    await profiles.deleteField(me.userId, req.params.userId!, req.params.keyName!);
    return { body: {} };
  }, { schema: { params: byKey } });
}
