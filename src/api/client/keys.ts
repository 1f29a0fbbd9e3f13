// End-to-end keys: POST /keys/upload, /keys/query, /keys/claim, GET /keys/changes, and
// cross-signing: POST /keys/device_signing/upload (user-interactive auth when it would replace
// keys) and /keys/signatures/upload.
import { z } from 'zod';
import { MatrixError } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { parseSyncToken } from '../../services/sync/types.js';
import { jsonObject } from './params.js';
import { clientRoute } from './routes.js';
import { textObject } from './schemas.js';

const keysBody = { schema: { body: textObject } };

const PASSWORD_FLOWS = [{ stages: ['m.login.password'] }];

function streamOf(token: string | null, name: string): number {
  if (token === null) throw new MatrixError(400, 'M_MISSING_PARAM', `Missing ${name}`);
  const t = parseSyncToken(token);
  if (!t) throw new MatrixError(400, 'M_INVALID_PARAM', `${name} is not a sync token`);
  return t.stream;
}

export function registerE2eKeys(router: Router, ctx: ServerContext): void {
  const { auth, e2eKeys } = ctx;

  clientRoute(router, 'POST', '/keys/upload', async (req) => {
    const me = await auth.requireUser(req);
    return { body: { one_time_key_counts: await e2eKeys.upload(me.userId, me.deviceId, jsonObject(req)) } };
  }, keysBody);

  clientRoute(router, 'POST', '/keys/query', async (req) => {
    const me = await auth.requireUser(req);
    return { body: await e2eKeys.query(me.userId, jsonObject(req)) };
  }, keysBody);

  clientRoute(router, 'POST', '/keys/claim', async (req) => {
    await auth.requireUser(req);
    return { body: await e2eKeys.claim(jsonObject(req)) };
  }, keysBody);

  clientRoute(router, 'GET', '/keys/changes', async (req) => {
    const me = await auth.requireUser(req);
    const from = streamOf(req.query.get('from'), 'from');
    const to = streamOf(req.query.get('to'), 'to');
    return { body: await e2eKeys.changes(me.userId, from, to) };
  }, { schema: { query: z.looseObject({ from: z.string().optional(), to: z.string().optional() }) } });

  clientRoute(router, 'POST', '/keys/device_signing/upload', async (req) => {
    const me = await auth.requireUser(req);
    const body = jsonObject(req);
    if (await e2eKeys.crossSigningUploadNeedsAuth(me.userId, body)) {
      await ctx.uia.authenticate(body, { op: 'upload cross-signing keys', flows: PASSWORD_FLOWS, userId: me.userId });
    }
    await e2eKeys.uploadCrossSigningKeys(me.userId, body);
    return { body: {} };
  }, keysBody);

  clientRoute(router, 'POST', '/keys/signatures/upload', async (req) => {
    const me = await auth.requireUser(req);
    return { body: { failures: await e2eKeys.uploadSignatures(me.userId, jsonObject(req)) } };
  }, keysBody);
}
