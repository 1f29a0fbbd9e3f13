// PUT /sendToDevice/{eventType}/{txnId}: messages to other devices, delivered through /sync.
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { clientRoute } from './routes.js';
import { eventType, params, textObject, txnId } from './schemas.js';

export function registerToDevice(router: Router, ctx: ServerContext): void {
  clientRoute(router, 'PUT', '/sendToDevice/{eventType}/{txnId}', async (req) => {
    const me = await ctx.auth.requireUser(req);
    await ctx.toDevice.send(me, req.params.eventType!, req.params.txnId!, req.json);
    return { body: {} };
  }, { schema: { params: params({ eventType, txnId }), body: textObject } });
}
