// Device management: GET /devices, GET/PUT/DELETE /devices/{deviceId}, POST /delete_devices.
// Deleting needs the user's password (user-interactive auth) and takes the device's tokens too.
import { MatrixError, notFound } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { MAX_DEVICE_NAME_CHARS } from '../../services/accounts.js';
import type { DeviceRecord } from '../../storage/accounts.js';
import { jsonObject, optString } from './params.js';
import { clientRoute } from './routes.js';
import { z } from 'zod';
import { anyObject, deviceId, params } from './schemas.js';

const byDevice = params({ deviceId });

const PASSWORD_FLOWS = [{ stages: ['m.login.password'] }];

function toClient(d: DeviceRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { device_id: d.deviceId };
  if (d.displayName !== null) out.display_name = d.displayName;
  if (d.lastSeenIp !== null) out.last_seen_ip = d.lastSeenIp;
  if (d.lastSeenTs !== null) out.last_seen_ts = d.lastSeenTs;
  return out;
}

export function registerDevices(router: Router, ctx: ServerContext): void {
  const { auth, accounts, uia } = ctx;

  clientRoute(router, 'GET', '/devices', async (req) => {
    const me = await auth.requireUser(req);
    return { body: { devices: (await accounts.listDevices(me.userId)).map(toClient) } };
  }, { schema: {} });

  clientRoute(router, 'GET', '/devices/{deviceId}', async (req) => {
    const me = await auth.requireUser(req);
    const d = await accounts.getDevice(me.userId, req.params.deviceId!);
    if (!d) throw notFound('No such device');
    return { body: toClient(d) };
  }, { schema: { params: byDevice } });

  clientRoute(router, 'PUT', '/devices/{deviceId}', async (req) => {
    const me = await auth.requireUser(req);
    const deviceId = req.params.deviceId!;
    const name = optString(jsonObject(req), 'display_name');
    if (name !== undefined && name.length > MAX_DEVICE_NAME_CHARS) {
      throw new MatrixError(400, 'M_INVALID_PARAM', `display_name must be at most ${MAX_DEVICE_NAME_CHARS} characters`);
    }
    // Regular clients may only update devices that exist (creating them is for appservices).
    const found =
      name === undefined
        ? (await accounts.getDevice(me.userId, deviceId)) !== undefined
        : await accounts.store.setDeviceDisplayName(me.userId, deviceId, name);
    if (!found) throw notFound('No such device');
    return { body: {} };
  }, { schema: { params: byDevice, body: z.looseObject({ display_name: z.string().nullish() }) } });

  clientRoute(
    router,
    'DELETE',
    '/devices/{deviceId}',
    async (req) => {
      const me = await auth.requireUser(req);
      const deviceId = req.params.deviceId!;
      // The session is bound to this device: it cannot be replayed to delete another one.
      await uia.authenticate(jsonObject(req), { op: `delete device ${deviceId}`, flows: PASSWORD_FLOWS, userId: me.userId });
      await accounts.deleteDevices(me.userId, [deviceId]);
      return { body: {} };
    },
    { body: 'json', schema: { params: byDevice, body: anyObject() } },
  );

  clientRoute(router, 'POST', '/delete_devices', async (req) => {
    const me = await auth.requireUser(req);
    const body = jsonObject(req);
    const devices = body.devices;
    if (devices === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing devices');
    if (!Array.isArray(devices) || !devices.every((d) => typeof d === 'string')) {
      throw new MatrixError(400, 'M_BAD_JSON', 'devices must be an array of strings');
    }
    await uia.authenticate(body, { op: 'delete_devices', flows: PASSWORD_FLOWS, userId: me.userId });
    await accounts.deleteDevices(me.userId, devices as string[]);
    return { body: {} };
  }, { schema: { body: z.looseObject({ devices: z.array(deviceId) }) } });
}
