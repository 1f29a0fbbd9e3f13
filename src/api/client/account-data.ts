// Account data: GET/PUT /user/{userId}/account_data/{type} and the per-room
// /user/{userId}/rooms/{roomId}/account_data/{type}.
import { forbidden, notFound } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { Request } from '../../http/types.js';
import type { ServerContext } from '../../services/context.js';
import { checkRoomIdParam } from '../../services/account-data.js';
import { guardedRoute as clientRoute } from './guard.js';

/** The requester, who must be the {userId} of the path. */
export async function requireSelf(ctx: ServerContext, req: Request, what = 'account data'): Promise<{ userId: string; deviceId: string }> {
  const me = await ctx.auth.requireUser(req);
  if (me.userId !== req.params.userId) throw forbidden(`Cannot access ${what} of other users`);
  return me;
}

export function registerAccountData(router: Router, ctx: ServerContext): void {
  const { accountData } = ctx;

  clientRoute(router, 'GET', '/user/{userId}/account_data/{type}', async (req) => {
    const me = await requireSelf(ctx, req);
    const content = await accountData.get(me.userId, '', req.params.type!);
    if (!content) throw notFound('Account data not found');
    return { body: content };
  });

  clientRoute(router, 'PUT', '/user/{userId}/account_data/{type}', async (req) => {
    const me = await requireSelf(ctx, req);
    await accountData.setByClient(me.userId, '', req.params.type!, req.json);
    return { body: {} };
  });

  clientRoute(router, 'GET', '/user/{userId}/rooms/{roomId}/account_data/{type}', async (req) => {
    const me = await requireSelf(ctx, req);
    checkRoomIdParam(req.params.roomId!);
    const content = await accountData.get(me.userId, req.params.roomId!, req.params.type!);
    if (!content) throw notFound('Room account data not found');
    return { body: content };
  });

  clientRoute(router, 'PUT', '/user/{userId}/rooms/{roomId}/account_data/{type}', async (req) => {
    const me = await requireSelf(ctx, req);
    checkRoomIdParam(req.params.roomId!);
    await accountData.setByClient(me.userId, req.params.roomId!, req.params.type!, req.json);
    return { body: {} };
  });
}
