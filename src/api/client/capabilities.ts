// GET /capabilities: what this server lets clients change.
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { DEFAULT_ROOM_VERSION, SUPPORTED_ROOM_VERSIONS } from '../../events/room-versions.js';
import { clientRoute } from './routes.js';

export function capabilities(): Record<string, unknown> {
  const available: Record<string, string> = {};
  for (const v of SUPPORTED_ROOM_VERSIONS) available[v] = 'stable';
  return {
    'm.change_password': { enabled: true },
    'm.room_versions': { default: DEFAULT_ROOM_VERSION, available },
    'm.set_displayname': { enabled: true },
    'm.set_avatar_url': { enabled: true },
    'm.3pid_changes': { enabled: false },
    'm.get_login_token': { enabled: false },
    'm.profile_fields': { enabled: true },
  };
}

export function registerCapabilities(router: Router, ctx: ServerContext): void {
  const body = { capabilities: capabilities() };
  clientRoute(router, 'GET', '/capabilities', async (req) => {
    await ctx.auth.requireUser(req);
    return { body };
  }, { schema: {} });
}
