// Room tags: GET /user/{userId}/rooms/{roomId}/tags, PUT/DELETE .../tags/{tag}. Tags are the
// room's m.tag account data ({"tags": {name: {order?}}}), so they reach /sync with it.
import { MatrixError, badJson } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { checkRoomIdParam, isJsonObject, type JsonObject } from '../../services/account-data.js';
import { utf8Length } from '../../events/identifiers.js';
import { requireSelf } from './account-data.js';
import { clientRoute } from './routes.js';
import { params, roomId, segment, textObject, userId } from './schemas.js';

const byRoom = params({ userId, roomId });
const byTag = params({ userId, roomId, tag: segment });

function tagsOf(content: JsonObject | undefined): JsonObject {
  return content && isJsonObject(content.tags) ? content.tags : {};
}

function checkTag(tag: string): void {
  if (tag.length === 0 || utf8Length(tag) > 255) throw new MatrixError(400, 'M_INVALID_PARAM', 'A tag must be 1 to 255 bytes');
}

export function registerTags(router: Router, ctx: ServerContext): void {
  const { accountData } = ctx;

  clientRoute(router, 'GET', '/user/{userId}/rooms/{roomId}/tags', async (req) => {
    const me = await requireSelf(ctx, req, 'tags');
    checkRoomIdParam(req.params.roomId!);
    return { body: { tags: tagsOf(await accountData.get(me.userId, req.params.roomId!, 'm.tag')) } };
  }, { schema: { params: byRoom } });

  clientRoute(router, 'PUT', '/user/{userId}/rooms/{roomId}/tags/{tag}', async (req) => {
    const me = await requireSelf(ctx, req, 'tags');
    const roomId = req.params.roomId!;
    const tag = req.params.tag!;
    checkRoomIdParam(roomId);
    checkTag(tag);
    const body = req.json;
    if (!isJsonObject(body)) throw badJson('The tag must be a JSON object');
    if (body.order !== undefined && (typeof body.order !== 'number' || !Number.isFinite(body.order))) throw badJson('order must be a number');
    await accountData.update(me.userId, roomId, 'm.tag', (old) => ({ ...(old ?? {}), tags: { ...tagsOf(old), [tag]: body } }));
    return { body: {} };
  }, { schema: { params: byTag, body: textObject } });

  clientRoute(router, 'DELETE', '/user/{userId}/rooms/{roomId}/tags/{tag}', async (req) => {
    const me = await requireSelf(ctx, req, 'tags');
    const roomId = req.params.roomId!;
    const tag = req.params.tag!;
    checkRoomIdParam(roomId);
    await accountData.update(me.userId, roomId, 'm.tag', (old) => {
      const tags = tagsOf(old);
      if (!(tag in tags)) return undefined;
      const { [tag]: _gone, ...rest } = tags;
      return { ...(old ?? {}), tags: rest };
    });
    return { body: {} };
  }, { schema: { params: byTag } });
}
