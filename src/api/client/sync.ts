// GET /sync and the filter endpoints.
import { forbidden, MatrixError, notFound } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { parseFilter, type Filter } from '../../services/sync/filter.js';
import { serializeSync } from '../../services/sync/serialize.js';
import { SyncService } from '../../services/sync/sync.js';
import { clientRoute } from './routes.js';
import { jsonObject } from './params.js';
import { z } from 'zod';
import { params, segment, textObject, userId } from './schemas.js';

const syncQuery = z.looseObject({
  since: z.string().optional(),
  filter: z.string().optional(),
  timeout: z.string().optional(),
  full_state: z.enum(['true', 'false']).optional(),
  set_presence: z.enum(['online', 'offline', 'unavailable']).optional(),
});

const MAX_TIMEOUT_MS = 5 * 60_000;
const JSON_HEADERS = { 'Content-Type': 'application/json' };

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

export function registerSync(router: Router, ctx: ServerContext): void {
  const sync = new SyncService(ctx);

  // Inline filters parsed once per distinct text: clients send the same filter on every
  // long-poll, and 10,000 waiting syncs would each hold a parsed copy. Shared, so frozen.
  const inlineFilters = new Map<string, Filter>();

  async function filterParam(userId: string, raw: string | null): Promise<Filter> {
    if (raw === null || raw === '') return {};
    if (raw.trimStart().startsWith('{')) {
      const known = inlineFilters.get(raw);
      if (known) return known;
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch {
        throw new MatrixError(400, 'M_INVALID_PARAM', 'filter is not valid JSON');
      }
      const f = deepFreeze(parseFilter(v));
      if (inlineFilters.size >= 1000) inlineFilters.clear();
      inlineFilters.set(raw, f);
      return f;
    }
    const stored = await ctx.filters.get(userId, raw);
    if (stored === undefined) throw new MatrixError(400, 'M_INVALID_PARAM', 'unknown filter id');
    return parseFilter(stored);
  }

  clientRoute(router, 'GET', '/sync', async (req) => {
    const user = await ctx.auth.requireUser(req);
    const q = req.query;
    const timeoutRaw = q.get('timeout');
    const timeout = timeoutRaw === null ? 0 : Number(timeoutRaw);
    if (!Number.isFinite(timeout) || timeout < 0) throw new MatrixError(400, 'M_INVALID_PARAM', 'timeout must be a non-negative number');
    // full_state and set_presence values are checked by the route's query schema.
    const fullState = q.get('full_state');
    const setPresence = q.get('set_presence');
    const body = await sync.sync(
      user.userId,
      user.deviceId,
      {
        ...(q.get('since') ? { since: q.get('since')! } : {}),
        timeoutMs: Math.min(timeout, MAX_TIMEOUT_MS),
        fullState: fullState === 'true',
        filter: await filterParam(user.userId, q.get('filter')),
        ...(setPresence ? { setPresence } : {}),
      },
      req.signal,
    );
    // Serialized here so room parts shared between syncs are spliced in as text.
    return { body: serializeSync(body), headers: JSON_HEADERS };
  }, { schema: { query: syncQuery } });

  clientRoute(router, 'POST', '/user/{userId}/filter', async (req) => {
    const user = await ctx.auth.requireUser(req);
    if (req.params.userId !== user.userId) throw forbidden('Cannot create filters for other users');
    const body = jsonObject(req);
    parseFilter(body);
    return { body: { filter_id: await ctx.filters.create(user.userId, body) } };
  }, { schema: { params: params({ userId }), body: textObject } });

  clientRoute(router, 'GET', '/user/{userId}/filter/{filterId}', async (req) => {
    const user = await ctx.auth.requireUser(req);
    if (req.params.userId !== user.userId) throw forbidden('Cannot read filters of other users');
    const f = await ctx.filters.get(user.userId, req.params.filterId!);
    if (f === undefined) throw notFound('Filter not found');
    return { body: f };
  }, { schema: { params: params({ userId, filterId: segment }) } });
}
