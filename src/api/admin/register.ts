// Synapse-compatible shared-secret registration, so its tooling (register_new_matrix_user and
// friends) works against Lattice: GET /_synapse/admin/v1/register hands out a nonce; POST
// registers a user when `mac` is HMAC-SHA1(secret, nonce NUL username NUL password NUL
// admin|notadmin [NUL user_type]) in hex. Nonces are single-use and expire after a minute.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MatrixError, forbidden } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { randomBytes } from '../../services/auth.js';
import { checkNewPassword, newUserId } from '../../services/accounts.js';
import { jsonObject } from '../client/params.js';
import { anyObject } from '../client/schemas.js';

const PATH = '/_synapse/admin/v1/register';
const NONCE_TTL_MS = 60_000;
const MAX_NONCES = 10_000;
const MAX_FIELD_CHARS = 512;

/** The hex MAC a client must send for these fields. */
export function registrationMac(secret: string, nonce: string, username: string, password: string, admin: boolean, userType?: string): string {
  const h = createHmac('sha1', Buffer.from(secret, 'utf8'));
  h.update(nonce, 'utf8').update('\0').update(username, 'utf8').update('\0').update(password, 'utf8').update('\0');
  h.update(admin ? 'admin' : 'notadmin');
  if (userType) h.update('\0').update(userType, 'utf8');
  return h.digest('hex');
}

const badJson = (msg: string) => new MatrixError(400, 'M_BAD_JSON', msg);

function stringField(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (v === undefined) throw badJson(`${key} must be specified`);
  if (typeof v !== 'string' || v.length > MAX_FIELD_CHARS || v.includes('\0')) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid ${key}`);
  return v;
}

export function registerSharedSecretRegistration(router: Router, ctx: ServerContext): void {
  const { config, accounts } = ctx;
  const secret = config.registration_shared_secret;
  // nonce -> issue time; insertion order is issue order, so expired ones are at the front.
  const nonces = new Map<string, number>();
  const disabled = () => new MatrixError(400, 'M_FORBIDDEN', 'Shared secret registration is not enabled');

  const prune = (now: number) => {
    for (const [n, at] of nonces) {
      if (at + NONCE_TTL_MS > now && nonces.size < MAX_NONCES) break;
      nonces.delete(n);
    }
  };

  router.add('GET', PATH, () => {
    if (!secret) throw disabled();
    const now = Date.now();
    prune(now);
    const nonce = randomBytes(32).toString('hex');
    nonces.set(nonce, now);
    return { body: { nonce } };
  }, { schema: {} });

  router.add(
    'POST',
    PATH,
    async (req) => {
      if (!secret) throw disabled();
      const body = jsonObject(req);
      if (typeof body.nonce !== 'string') throw badJson('nonce must be specified');
      const issued = nonces.get(body.nonce);
      // Used up by any attempt, good MAC or not: one guess per nonce.
      nonces.delete(body.nonce);
      if (issued === undefined || issued + NONCE_TTL_MS <= Date.now()) throw new MatrixError(400, 'M_UNKNOWN', 'unrecognised nonce');

      const username = stringField(body, 'username');
      const password = stringField(body, 'password');
      const admin = body.admin === true;
      const userType = body.user_type;
      if (userType !== undefined && userType !== null && typeof userType !== 'string') throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid user type');
      const displayName = body.displayname;
      if (typeof body.mac !== 'string') throw badJson('mac must be specified');

      const want = Buffer.from(registrationMac(secret, body.nonce, username, password, admin, userType ?? undefined), 'ascii');
      const got = Buffer.from(body.mac, 'ascii');
      if (got.length !== want.length || !timingSafeEqual(got, want)) throw forbidden('HMAC incorrect');

      checkNewPassword(password);
      newUserId(username, config.server_name); // the grammar check, before hashing anything
      const userId = await accounts.register({
        username,
        password,
        admin,
        ...(typeof displayName === 'string' ? { displayName } : {}),
      });
      ctx.log.info({ userId, admin }, 'registered a user with the shared secret');
      const s = await accounts.startSession(userId, { ip: req.remoteAddress });
      return { body: { user_id: userId, access_token: s.accessToken, device_id: s.deviceId, home_server: config.server_name } };
    },
    // The field checks (and their M_BAD_JSON / M_INVALID_PARAM split) follow Synapse, in the handler.
    { schema: { body: anyObject() } },
  );
}
