// POST /register (user-interactive, m.login.dummy) and GET /register/available.
import { MatrixError, forbidden } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { MAX_DEVICE_ID_BYTES, checkNewPassword } from '../../services/accounts.js';
import { jsonObject, optBool, optString } from './params.js';
import { clientRoute } from './routes.js';
import { z } from 'zod';
import { newDeviceFields } from './schemas.js';

const FLOWS = [{ stages: ['m.login.dummy'] }];

/** A client-chosen device id: non-empty, at most 255 bytes. */
export function checkDeviceId(deviceId: string | undefined): string | undefined {
  if (deviceId !== undefined && (deviceId === '' || Buffer.byteLength(deviceId, 'utf8') > MAX_DEVICE_ID_BYTES)) {
    throw new MatrixError(400, 'M_INVALID_PARAM', `device_id must be 1 to ${MAX_DEVICE_ID_BYTES} bytes`);
  }
  return deviceId;
}

export function registerRegistration(router: Router, ctx: ServerContext): void {
  const { accounts, uia, rateLimits, config } = ctx;

  clientRoute(router, 'POST', '/register', async (req) => {
    rateLimits.registration.take(req.remoteAddress);
    if (!config.enable_registration) throw forbidden('Registration is disabled');
    const kind = req.query.get('kind') ?? 'user';
    if (kind === 'guest') throw forbidden('Guest access is disabled');
    if (kind !== 'user') throw new MatrixError(400, 'M_INVALID_PARAM', 'kind must be "user" or "guest"');

    const body = jsonObject(req);
    const username = optString(body, 'username');
    const deviceId = checkDeviceId(optString(body, 'device_id'));
    const displayName = optString(body, 'initial_device_display_name');
    const inhibitLogin = optBool(body, 'inhibit_login') ?? false;
    // The spec wants username problems reported before authentication starts. The password may
    // be left out of a first request that only asks for the flows, but not once auth is given.
    if (body.password !== undefined || body.auth !== undefined) checkNewPassword(body.password);
    if (username !== undefined) await accounts.availableUserId(username);

    await uia.authenticate(body, { op: 'register', flows: FLOWS, userId: null });
    const password = checkNewPassword(body.password);
    const userId = await accounts.register({ ...(username !== undefined ? { username } : {}), password, admin: false });
    ctx.log.info({ userId }, 'registered a new user');
    if (inhibitLogin) return { body: { user_id: userId, home_server: config.server_name } };
    const s = await accounts.startSession(userId, {
      ...(deviceId !== undefined ? { deviceId } : {}),
      ...(displayName !== undefined ? { displayName } : {}),
      ip: req.remoteAddress,
    });
    return { body: { user_id: userId, access_token: s.accessToken, device_id: s.deviceId, home_server: config.server_name } };
  }, { schema: { query: z.looseObject({ kind: z.string().optional() }), body: z.looseObject(newDeviceFields) } });

  clientRoute(router, 'GET', '/register/available', async (req) => {
    rateLimits.registration.take(req.remoteAddress);
    if (!config.enable_registration) throw forbidden('Registration is disabled');
    const username = req.query.get('username');
    if (username === null) throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing username');
    await accounts.availableUserId(username);
    return { body: { available: true } };
  }, { schema: { query: z.looseObject({ username: z.string().optional() }) } });
}
