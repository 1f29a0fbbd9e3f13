-- Rooms, the event DAG, state snapshots and the sync stream.

-- One position shared by every stream a sync token covers (events, account data, receipts,
-- to-device, device lists...), so a token is one number plus the ephemeral counters.
CREATE SEQUENCE stream_seq;

CREATE TABLE rooms (
  room_id text PRIMARY KEY,
  room_version text NOT NULL,
  creator text,
  created_ts bigint NOT NULL,
  -- Published in the local room directory.
  is_public boolean NOT NULL DEFAULT false,
  -- Root of the state trie of the current state, and the room's greatest depth.
  current_state_root bigint NOT NULL DEFAULT 0,
  max_depth bigint NOT NULL DEFAULT 0,
  -- Events with no children yet: the prev_events of the next event. A column rather than a
  -- table: it is rewritten by every send, and one row update (HOT) leaves no index bloat.
  forward_extremities text[] NOT NULL DEFAULT '{}'
);

-- Immutable nodes of the persistent hash trie that holds room state (src/storage/state-tree.ts).
-- A state snapshot is the id of a root node; snapshots share every unchanged node.
CREATE TABLE state_nodes (
  node_id bigserial PRIMARY KEY,
  data text NOT NULL
);

CREATE TABLE events (
  -- Internal numeric id: what state snapshots and edges store.
  event_nid bigserial PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  room_id text NOT NULL,
  type text NOT NULL,
  state_key text,
  sender text NOT NULL,
  depth bigint NOT NULL,
  origin_server_ts bigint NOT NULL,
  -- Position in the sync stream; null for outliers (events not in the room's timeline).
  stream_ordering bigint UNIQUE,
  -- The event exactly as signed, re-served unchanged.
  json text NOT NULL,
  redacts text,
  outlier boolean NOT NULL DEFAULT false,
  soft_failed boolean NOT NULL DEFAULT false,
  -- Why the event was rejected, or null when it was accepted.
  rejected text,
  -- State trie roots before and after this event (0 = empty state).
  state_before bigint,
  state_after bigint,
  -- For state events: the event this one replaced in the room state (unsigned.prev_content).
  replaces_state_nid bigint,
  -- The redaction event that redacted this one, once one is accepted.
  redacted_by text,
  -- The local sender's device and transaction id, for idempotent sends and local echo.
  txn_device text,
  txn_id text
);
CREATE INDEX events_room_stream ON events (room_id, stream_ordering) WHERE stream_ordering IS NOT NULL;
CREATE INDEX events_redacts ON events (redacts) WHERE redacts IS NOT NULL;
CREATE UNIQUE INDEX events_txn ON events (room_id, sender, txn_device, txn_id) WHERE txn_id IS NOT NULL;

-- No foreign keys on the edge tables: the room service inserts edges in the same statement as
-- their event, and the checks cost more than the insert itself.
CREATE TABLE event_edges (
  event_nid bigint NOT NULL,
  prev_event_id text NOT NULL,
  PRIMARY KEY (event_nid, prev_event_id)
);
CREATE INDEX event_edges_prev ON event_edges (prev_event_id);

CREATE TABLE event_auth_edges (
  event_nid bigint NOT NULL,
  auth_event_id text NOT NULL,
  PRIMARY KEY (event_nid, auth_event_id)
);

-- The room's current state, row per (type, state_key), for queries the trie cannot answer.
CREATE TABLE current_state (
  room_id text NOT NULL,
  type text NOT NULL,
  state_key text NOT NULL,
  event_nid bigint NOT NULL,
  PRIMARY KEY (room_id, type, state_key)
);

-- Every user's current membership of every room this server knows, with the stream position
-- at which it last changed (sync uses it to find joins and leaves since a token).
CREATE TABLE room_memberships (
  room_id text NOT NULL,
  user_id text NOT NULL,
  membership text NOT NULL,
  event_nid bigint NOT NULL,
  stream_ordering bigint NOT NULL,
  forgotten boolean NOT NULL DEFAULT false,
  PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_memberships_user ON room_memberships (user_id, membership);

CREATE TABLE room_aliases (
  alias text PRIMARY KEY,
  room_id text NOT NULL,
  creator text NOT NULL
);
CREATE INDEX room_aliases_room ON room_aliases (room_id);

-- Filters clients upload for /sync and /messages (POST /user/{userId}/filter).
CREATE TABLE user_filters (
  user_id text NOT NULL,
  filter_id bigserial,
  filter text NOT NULL,
  PRIMARY KEY (user_id, filter_id)
);
