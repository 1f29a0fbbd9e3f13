// Builds and wires the per-user client data services (account data, to-device, E2E keys,
// receipts, typing, presence, push rules, profiles, media): their sync contributors and the
// account listeners they need.
import type { ResolvedConfig } from '../config/load.js';
import type { Sql } from '../storage/pool.js';
import type { Logger } from '../util/logger.js';
import { propagateProfileChange } from './rooms/profile-propagation.js';
import type { ServerContext } from './context.js';
import type { Notifier } from './notifier.js';
import type { StreamTracker } from './streams.js';
import { AccountDataService } from './account-data.js';
import { ToDeviceService } from './to-device.js';
import { E2eKeysService } from './e2e-keys.js';
import { ReceiptsService } from './receipts.js';
import { TypingService } from './typing.js';
import { PresenceService } from './presence.js';
import { PushRulesService } from './push-rules.js';
import { ProfileService } from './profiles.js';
import { MediaService } from './media.js';

export interface ClientDataServices {
  accountData: AccountDataService;
  toDevice: ToDeviceService;
  e2eKeys: E2eKeysService;
  receipts: ReceiptsService;
  typing: TypingService;
  presence: PresenceService;
  pushRules: PushRulesService;
  profiles: ProfileService;
  media: MediaService;
}

export function createClientDataServices(base: { config: ResolvedConfig; log: Logger; sql: Sql; streams: StreamTracker; notifier: Notifier }): ClientDataServices {
  const accountData = new AccountDataService(base);
  return {
    accountData,
    toDevice: new ToDeviceService(base),
    e2eKeys: new E2eKeysService(base),
    receipts: new ReceiptsService(base, accountData),
    typing: new TypingService(base),
    presence: new PresenceService(base),
    pushRules: new PushRulesService(base, accountData),
    profiles: new ProfileService(base),
    media: new MediaService(base),
  };
}

/** Registers the sync contributors and account listeners; loads what must be in memory. */
export async function wireClientDataServices(ctx: ServerContext): Promise<void> {
  ctx.syncContributors.push(
    ctx.accountData.contributor,
    ctx.toDevice.contributor,
    ctx.e2eKeys.contributor,
    ctx.receipts.contributor,
    ctx.typing.contributor,
    ctx.presence.contributor,
  );
  ctx.accounts.onDevicesRemoved(async (userId, deviceIds) => {
    await ctx.toDevice.devicesRemoved(userId, deviceIds);
    await ctx.e2eKeys.devicesRemoved(userId, deviceIds);
  });
  ctx.accounts.onUserCreated(async (userId, info) => {
    // Like other servers, a new account starts with its localpart as display name.
    await ctx.profiles.setDisplayName(userId, info.displayName ?? userId.slice(1, userId.indexOf(':')));
  });
  // Member events carry the profile: the room service asks for it when it writes one.
  ctx.rooms.profileOf = (userId) => ctx.profiles.memberProfile(userId);
  ctx.profiles.onChange((userId, profile) => propagateProfileChange(ctx.rooms, ctx.log, userId, profile));
  await ctx.presence.init();
}

export function closeClientDataServices(ctx: ServerContext): void {
  ctx.toDevice.close();
  ctx.typing.close();
  ctx.presence.close();
  ctx.media.close();
}
