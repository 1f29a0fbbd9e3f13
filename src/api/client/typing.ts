// PUT /rooms/{roomId}/typing/{userId}.
import { MatrixError, forbidden } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { jsonObject } from './params.js';
import { clientRoute } from './routes.js';
import { params, roomId, textObject, userId } from './schemas.js';

export function registerTyping(router: Router, ctx: ServerContext): void {
  clientRoute(router, 'PUT', '/rooms/{roomId}/typing/{userId}', async (req) => {
    const me = await ctx.auth.requireUser(req);
    if (req.params.userId !== me.userId) throw forbidden('Cannot set the typing state of another user');
    const body = jsonObject(req);
    if (typeof body.typing !== 'boolean') throw new MatrixError(400, 'M_BAD_JSON', 'typing must be a boolean');
    const timeout = body.timeout;
    if (timeout !== undefined && typeof timeout !== 'number') throw new MatrixError(400, 'M_BAD_JSON', 'timeout must be an integer');
    await ctx.typing.set(me.userId, req.params.roomId!, body.typing, timeout);
    return { body: {} };
  }, { schema: { params: params({ roomId, userId }), body: textObject } });
}
