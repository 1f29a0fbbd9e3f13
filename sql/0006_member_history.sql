-- A user's member events in a room, in stream order: history visibility reads them to find when
-- a former member joined and left (src/services/rooms/visibility.ts).
CREATE INDEX events_room_member ON events (room_id, state_key, stream_ordering)
  WHERE type = 'm.room.member' AND stream_ordering IS NOT NULL;
