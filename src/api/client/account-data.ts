// Account data: GET/PUT /user/{userId}/account_data/{type} and the per-room
// /user/{userId}/rooms/{roomId}/account_data/{type}.
import { forbidden, notFound } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { Request } from '../../http/types.js';
import type { ServerContext } from '../../services/context.js';
import { checkRoomIdParam } from '../../services/account-data.js';
import { clientRoute } from './routes.js';
import { eventType, params, roomId, textObject, userId } from './schemas.js';

const global = params({ userId, type: eventType });
const perRoom = params({ userId, roomId, type: eventType });

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
  }, { schema: { params: global } });

  clientRoute(router, 'PUT', '/user/{userId}/account_data/{type}', async (req) => {
    const me = await requireSelf(ctx, req);
    await accountData.setByClient(me.userId, '', req.params.type!, req.json);
    return { body: {} };
  }, { schema: { params: global, body: textObject } });

  clientRoute(router, 'GET', '/user/{userId}/rooms/{roomId}/account_data/{type}', async (req) => {
    const me = await requireSelf(ctx, req);
    checkRoomIdParam(req.params.roomId!);
    const content = await accountData.get(me.userId, req.params.roomId!, req.params.type!);
    if (!content) throw notFound('Room account data not found');
    return { body: content };
  }, { schema: { params: perRoom } });

  clientRoute(router, 'PUT', '/user/{userId}/rooms/{roomId}/account_data/{type}', async (req) => {
    const me = await requireSelf(ctx, req);
    checkRoomIdParam(req.params.roomId!);
    await accountData.setByClient(me.userId, req.params.roomId!, req.params.type!, req.json);
    return { body: {} };
  }, { schema: { params: perRoom, body: textObject } });
}
