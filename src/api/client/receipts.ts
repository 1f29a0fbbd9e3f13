// POST /rooms/{roomId}/receipt/{receiptType}/{eventId}: m.read, m.read.private (threaded or
// not) and m.fully_read.
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { jsonObject } from './params.js';
import { clientRoute } from './routes.js';
import { eventId, params, roomId, segment, textObject } from './schemas.js';

export function registerReceipts(router: Router, ctx: ServerContext): void {
  clientRoute(router, 'POST', '/rooms/{roomId}/receipt/{receiptType}/{eventId}', async (req) => {
    const me = await ctx.auth.requireUser(req);
    const p = req.params;
    await ctx.receipts.post(me.userId, p.roomId!, p.receiptType!, p.eventId!, jsonObject(req));
    return { body: {} };
  }, { schema: { params: params({ roomId, receiptType: segment, eventId }), body: textObject } });
}
