// Registers every endpoint family on the router.
import type { Router } from '../http/router.js';
import type { ServerContext } from '../services/context.js';
import { registerVersion } from './federation/version.js';
import { registerKeys } from './federation/keys.js';
import { registerVersions } from './client/versions.js';
import { registerWellKnown } from './wellknown/index.js';

export function registerApi(router: Router, ctx: ServerContext): void {
  registerVersion(router);
  registerKeys(router, ctx.serverKeys);
  registerVersions(router);
  registerWellKnown(router, ctx.config.well_known);
}
