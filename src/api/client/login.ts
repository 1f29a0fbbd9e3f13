// GET /login (the supported login types) and POST /login with m.login.password.
import { MatrixError, forbidden } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { identifiedUserId } from '../../services/accounts.js';
import { jsonObject, optString } from './params.js';
import { checkDeviceId } from './register.js';
import { clientRoute } from './routes.js';
import { z } from 'zod';
import { newDeviceFields } from './schemas.js';

export function registerLogin(router: Router, ctx: ServerContext): void {
  const { accounts, rateLimits, config } = ctx;
  const flows = { flows: [{ type: 'm.login.password' }] };
  const wellKnown = config.well_known.client ? { well_known: { 'm.homeserver': { base_url: config.well_known.client } } } : {};

  clientRoute(router, 'GET', '/login', () => ({ body: flows }), { schema: {} });

  clientRoute(router, 'POST', '/login', async (req) => {
    rateLimits.login.take(req.remoteAddress);
    const body = jsonObject(req);
    if (body.type !== 'm.login.password') throw new MatrixError(400, 'M_UNKNOWN', 'Unsupported login type');
    const userId = identifiedUserId(body, config.server_name);
    if (typeof body.password !== 'string') throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing password');
    const deviceId = checkDeviceId(optString(body, 'device_id'));
    const displayName = optString(body, 'initial_device_display_name');

    // Once an account has had too many wrong passwords, even a right one waits its turn.
    rateLimits.loginFailures.check(userId);
    const user = await accounts.checkPassword(userId, body.password);
    if (!user) {
      rateLimits.loginFailures.consume(userId);
      throw forbidden('Invalid username or password');
    }
    const s = await accounts.startSession(user.userId, {
      ...(deviceId !== undefined ? { deviceId } : {}),
      ...(displayName !== undefined ? { displayName } : {}),
      ip: req.remoteAddress,
    });
    return {
      body: { user_id: s.userId, access_token: s.accessToken, device_id: s.deviceId, home_server: config.server_name, ...wellKnown },
    };
  }, { schema: { body: z.looseObject(newDeviceFields) } });
}
