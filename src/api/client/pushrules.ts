// Push rules: GET /pushrules/ and /pushrules/global/, and per rule GET/PUT/DELETE
// /pushrules/global/{kind}/{ruleId} with its /enabled and /actions.
import { z } from 'zod';
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { jsonObject } from './params.js';
import { clientRoute } from './routes.js';
import { params, segment, textObject } from './schemas.js';

const rule = params({ kind: segment, ruleId: segment });
const none = {};

export function registerPushRules(router: Router, ctx: ServerContext): void {
  const { auth, pushRules } = ctx;
  const base = '/pushrules/global/{kind}/{ruleId}';

  for (const path of ['/pushrules/', '/pushrules']) {
    clientRoute(router, 'GET', path, async (req) => {
      const me = await auth.requireUser(req);
      return { body: { global: await pushRules.ruleset(me.userId) } };
    }, { schema: none });
  }
  for (const path of ['/pushrules/global/', '/pushrules/global']) {
    clientRoute(router, 'GET', path, async (req) => {
      const me = await auth.requireUser(req);
      return { body: await pushRules.ruleset(me.userId) };
    }, { schema: none });
  }

  clientRoute(router, 'GET', base, async (req) => {
    const me = await auth.requireUser(req);
    return { body: await pushRules.getRule(me.userId, req.params.kind!, req.params.ruleId!) };
  }, { schema: { params: rule } });

  clientRoute(router, 'PUT', base, async (req) => {
    const me = await auth.requireUser(req);
    const before = req.query.get('before') ?? undefined;
    const after = req.query.get('after') ?? undefined;
    await pushRules.putRule(me.userId, req.params.kind!, req.params.ruleId!, req.json, before, after);
    return { body: {} };
  }, { schema: { params: rule, query: z.looseObject({ before: segment.optional(), after: segment.optional() }), body: textObject } });

  clientRoute(router, 'DELETE', base, async (req) => {
    const me = await auth.requireUser(req);
    await pushRules.deleteRule(me.userId, req.params.kind!, req.params.ruleId!);
    return { body: {} };
  }, { schema: { params: rule } });

  clientRoute(router, 'GET', `${base}/enabled`, async (req) => {
    const me = await auth.requireUser(req);
    const r = await pushRules.getRule(me.userId, req.params.kind!, req.params.ruleId!);
    return { body: { enabled: r.enabled } };
  }, { schema: { params: rule } });

  clientRoute(router, 'PUT', `${base}/enabled`, async (req) => {
    const me = await auth.requireUser(req);
    await pushRules.setEnabled(me.userId, req.params.kind!, req.params.ruleId!, jsonObject(req).enabled);
    return { body: {} };
  }, { schema: { params: rule, body: textObject } });

  clientRoute(router, 'GET', `${base}/actions`, async (req) => {
    const me = await auth.requireUser(req);
    const r = await pushRules.getRule(me.userId, req.params.kind!, req.params.ruleId!);
    return { body: { actions: r.actions } };
  }, { schema: { params: rule } });

  clientRoute(router, 'PUT', `${base}/actions`, async (req) => {
    const me = await auth.requireUser(req);
    await pushRules.setActions(me.userId, req.params.kind!, req.params.ruleId!, jsonObject(req).actions);
    return { body: {} };
  }, { schema: { params: rule, body: textObject } });
}
