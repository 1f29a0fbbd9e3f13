-- Unread notification counts (spec: "Receiving notifications", "Marking notifications as
-- read"). Push actions are recorded once per event rather than once per (user, event): in a
-- room of 10,000 local members a message costs one row, not 10,000.

-- An event that notified at least one local member. `base` is the outcome of most members
-- (0 none, 1 notify, 2 notify + highlight); `exceptions` is a JSON object user id → outcome
-- for the members whose outcome differs. The sender is never notified. Members are the local
-- users joined when the event was evaluated; a user's read mark is moved to their join, so
-- events from before it never count for them.
CREATE TABLE push_events (
  room_id text NOT NULL,
  stream_ordering bigint NOT NULL,
  thread_id text NOT NULL,
  sender text NOT NULL,
  base smallint NOT NULL,
  exceptions text,
  PRIMARY KEY (room_id, stream_ordering)
);

-- How far each user has read, per thread ('main' or a thread root) or for the whole room
-- (thread_id ''): moved forward by m.read / m.read.private receipts, by the user's own events
-- and by joining. changed_pos is the stream position at which it last moved (incremental
-- syncs include the room when its counts changed).
CREATE TABLE push_read_marks (
  room_id text NOT NULL,
  user_id text NOT NULL,
  thread_id text NOT NULL,
  stream_ordering bigint NOT NULL,
  changed_pos bigint NOT NULL,
  PRIMARY KEY (user_id, room_id, thread_id)
);
-- Every send moves its sender's mark: no index covers the two positions, so those updates
-- stay HOT (no index writes, little bloat).
CREATE INDEX push_read_marks_room ON push_read_marks (room_id);
