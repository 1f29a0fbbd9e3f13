// GET/PUT /presence/{userId}/status.
import { forbidden } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { jsonObject } from './params.js';
import { clientRoute } from './routes.js';
import { params, textObject, userId } from './schemas.js';

const byUser = params({ userId });

export function registerPresence(router: Router, ctx: ServerContext): void {
  clientRoute(router, 'PUT', '/presence/{userId}/status', async (req) => {
    const me = await ctx.auth.requireUser(req);
    if (req.params.userId !== me.userId) throw forbidden('Cannot set the presence of another user');
    await ctx.presence.setByClient(me.userId, jsonObject(req));
    return { body: {} };
  }, { schema: { params: byUser, body: textObject } });

  clientRoute(router, 'GET', '/presence/{userId}/status', async (req) => {
    const me = await ctx.auth.requireUser(req);
    return { body: await ctx.presence.get(me.userId, req.params.userId!) };
  }, { schema: { params: byUser } });
}
