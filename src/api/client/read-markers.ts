// POST /rooms/{roomId}/read_markers: the fully-read marker and, optionally, receipts.
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { jsonObject } from './params.js';
import { clientRoute } from './routes.js';
import { params, roomId, textObject } from './schemas.js';

export function registerReadMarkers(router: Router, ctx: ServerContext): void {
  clientRoute(router, 'POST', '/rooms/{roomId}/read_markers', async (req) => {
    const me = await ctx.auth.requireUser(req);
    await ctx.receipts.readMarkers(me.userId, req.params.roomId!, jsonObject(req));
    return { body: {} };
  }, { schema: { params: params({ roomId }), body: textObject } });
}
