// A profile change becomes a new m.room.member event (same membership, new displayname and
// avatar_url) in every room the user is joined to, as clients expect.
import type { Logger } from '../../util/logger.js';
import type { RoomService } from './service.js';

export function propagateProfileChange(
  rooms: RoomService,
  log: Logger,
  userId: string,
  profile: { displayname?: string; avatar_url?: string },
): Promise<void> {
  return (async () => {
    for (const roomId of await rooms.joinedRoomsOf(userId)) {
      try {
        const room = await rooms.requireRoom(roomId);
        const current = await rooms.currentStateEvent(room, 'm.room.member', userId);
        if (current?.pdu.content.membership !== 'join') continue;
        const content: Record<string, unknown> = { ...current.pdu.content, membership: 'join' };
        delete content.displayname;
        delete content.avatar_url;
        if (profile.displayname !== undefined) content.displayname = profile.displayname;
        if (profile.avatar_url !== undefined) content.avatar_url = profile.avatar_url;
        await rooms.send(roomId, { type: 'm.room.member', sender: userId, state_key: userId, content });
      } catch (err) {
        // One room refusing (e.g. the user lost permission) must not stop the others.
        log.warn({ err, roomId, userId }, 'could not update the member event after a profile change');
      }
    }
  })();
}
