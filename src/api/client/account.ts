// GET /account/whoami, POST /account/password and POST /account/deactivate.
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { checkNewPassword } from '../../services/accounts.js';
import { jsonObject, optBool } from './params.js';
import { clientRoute } from './routes.js';
import { anyObject } from './schemas.js';

// Field checks stay with checkNewPassword and user-interactive auth, which own their errcodes.
const uiaBody = { schema: { body: anyObject() } };

const PASSWORD_FLOWS = [{ stages: ['m.login.password'] }];

export function registerAccount(router: Router, ctx: ServerContext): void {
  const { auth, accounts, uia } = ctx;

  clientRoute(router, 'GET', '/account/whoami', async (req) => {
    const me = await auth.requireUser(req);
    return { body: { user_id: me.userId, device_id: me.deviceId, is_guest: false } };
  }, { schema: {} });

  // Both may be called with or without an access token; with one, the password must be the
  // token owner's. Without, the password stage alone says whose account it is.
  clientRoute(router, 'POST', '/account/password', async (req) => {
    const me = await auth.optionalUser(req);
    const body = jsonObject(req);
    const newPassword = checkNewPassword(body.new_password, 'new_password');
    const logoutDevices = optBool(body, 'logout_devices') ?? true;
    const { userId } = await uia.authenticate(body, { op: 'account/password', flows: PASSWORD_FLOWS, userId: me?.userId ?? null });
    // The token making the request stays valid (the spec says not to revoke it).
    await accounts.changePassword(userId!, newPassword, logoutDevices, me?.deviceId ?? null);
    return { body: {} };
  }, uiaBody);

  clientRoute(router, 'POST', '/account/deactivate', async (req) => {
    const me = await auth.optionalUser(req);
    const body = jsonObject(req);
    const { userId } = await uia.authenticate(body, { op: 'account/deactivate', flows: PASSWORD_FLOWS, userId: me?.userId ?? null });
    await accounts.deactivate(userId!);
    ctx.log.info({ userId }, 'deactivated a user');
    // No third-party ids are ever bound, so there is nothing to unbind.
    return { body: { id_server_unbind_result: 'success' } };
  }, uiaBody);
}
