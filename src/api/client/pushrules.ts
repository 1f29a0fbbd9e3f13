// Push rules: GET /pushrules/ and /pushrules/global/, and per rule GET/PUT/DELETE
// /pushrules/global/{kind}/{ruleId} with its /enabled and /actions.
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { jsonObject } from './params.js';
import { guardedRoute as clientRoute } from './guard.js';

export function registerPushRules(router: Router, ctx: ServerContext): void {
  const { auth, pushRules } = ctx;
  const base = '/pushrules/global/{kind}/{ruleId}';

  for (const path of ['/pushrules/', '/pushrules']) {
    clientRoute(router, 'GET', path, async (req) => {
      const me = await auth.requireUser(req);
      return { body: { global: await pushRules.ruleset(me.userId) } };
    });
  }
  for (const path of ['/pushrules/global/', '/pushrules/global']) {
    clientRoute(router, 'GET', path, async (req) => {
      const me = await auth.requireUser(req);
      return { body: await pushRules.ruleset(me.userId) };
    });
  }

  clientRoute(router, 'GET', base, async (req) => {
    const me = await auth.requireUser(req);
    return { body: await pushRules.getRule(me.userId, req.params.kind!, req.params.ruleId!) };
  });

  clientRoute(router, 'PUT', base, async (req) => {
    const me = await auth.requireUser(req);
    const before = req.query.get('before') ?? undefined;
    const after = req.query.get('after') ?? undefined;
    await pushRules.putRule(me.userId, req.params.kind!, req.params.ruleId!, req.json, before, after);
    return { body: {} };
  });

  clientRoute(router, 'DELETE', base, async (req) => {
    const me = await auth.requireUser(req);
    await pushRules.deleteRule(me.userId, req.params.kind!, req.params.ruleId!);
    return { body: {} };
  });

  clientRoute(router, 'GET', `${base}/enabled`, async (req) => {
    const me = await auth.requireUser(req);
    const r = await pushRules.getRule(me.userId, req.params.kind!, req.params.ruleId!);
    return { body: { enabled: r.enabled } };
  });

  clientRoute(router, 'PUT', `${base}/enabled`, async (req) => {
    const me = await auth.requireUser(req);
    await pushRules.setEnabled(me.userId, req.params.kind!, req.params.ruleId!, jsonObject(req).enabled);
    return { body: {} };
  });

  clientRoute(router, 'GET', `${base}/actions`, async (req) => {
    const me = await auth.requireUser(req);
    const r = await pushRules.getRule(me.userId, req.params.kind!, req.params.ruleId!);
    return { body: { actions: r.actions } };
  });

  clientRoute(router, 'PUT', `${base}/actions`, async (req) => {
    const me = await auth.requireUser(req);
    await pushRules.setActions(me.userId, req.params.kind!, req.params.ruleId!, jsonObject(req).actions);
    return { body: {} };
  });
}
