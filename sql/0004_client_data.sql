-- Per-user client data: account data, to-device messages, end-to-end keys and device lists,
-- receipts, presence, push rules, profiles and media. Every row a sync returns carries the
-- stream_seq position of its last change.

-- Global (room_id = '') and per-room account data. m.push_rules lives in push_rules; its row
-- here only records the position of the last change.
CREATE TABLE account_data (
  user_id text NOT NULL,
  room_id text NOT NULL,
  type text NOT NULL,
  content text NOT NULL,
  stream_pos bigint NOT NULL,
  PRIMARY KEY (user_id, room_id, type)
);
CREATE INDEX account_data_user_stream ON account_data (user_id, stream_pos);

-- Messages waiting for a device, in order of arrival. One sendToDevice request takes one
-- position, and sends at most one message to each device.
CREATE TABLE to_device_messages (
  user_id text NOT NULL,
  device_id text NOT NULL,
  stream_pos bigint NOT NULL,
  sender text NOT NULL,
  type text NOT NULL,
  content text NOT NULL,
  PRIMARY KEY (user_id, device_id, stream_pos)
);

-- Transaction ids already used by a sender's device, for idempotent retries.
CREATE TABLE to_device_txns (
  user_id text NOT NULL,
  device_id text NOT NULL,
  txn_id text NOT NULL,
  created_ts bigint NOT NULL,
  PRIMARY KEY (user_id, device_id, txn_id)
);

-- When a sync response could not hold every pending message, the position of the last one it
-- held, keyed by the response's stream position: the next sync from that token deletes only
-- up to there.
CREATE TABLE to_device_deliveries (
  user_id text NOT NULL,
  device_id text NOT NULL,
  response_pos bigint NOT NULL,
  delivered_upto bigint NOT NULL,
  PRIMARY KEY (user_id, device_id, response_pos)
);

-- Device identity keys as uploaded (signed JSON).
CREATE TABLE e2e_device_keys (
  user_id text NOT NULL,
  device_id text NOT NULL,
  key_json text NOT NULL,
  PRIMARY KEY (user_id, device_id)
);

-- Unclaimed one-time keys; upload_pos orders them by upload batch (claimed oldest first).
CREATE TABLE e2e_one_time_keys (
  user_id text NOT NULL,
  device_id text NOT NULL,
  algorithm text NOT NULL,
  key_id text NOT NULL,
  key_json text NOT NULL,
  upload_pos bigint NOT NULL,
  PRIMARY KEY (user_id, device_id, algorithm, key_id)
);
CREATE INDEX e2e_one_time_keys_claim ON e2e_one_time_keys (user_id, device_id, algorithm, upload_pos);

-- At most one fallback key per device and algorithm; `used` once it has been claimed.
CREATE TABLE e2e_fallback_keys (
  user_id text NOT NULL,
  device_id text NOT NULL,
  algorithm text NOT NULL,
  key_id text NOT NULL,
  key_json text NOT NULL,
  used boolean NOT NULL DEFAULT false,
  PRIMARY KEY (user_id, device_id, algorithm)
);

-- Cross-signing keys (master, self_signing, user_signing) as uploaded.
CREATE TABLE e2e_cross_signing_keys (
  user_id text NOT NULL,
  key_type text NOT NULL,
  key_json text NOT NULL,
  PRIMARY KEY (user_id, key_type)
);

-- Signatures uploaded with /keys/signatures/upload: `signer` signed `target_user`'s key
-- `target_key_id` (a device id or a cross-signing public key).
CREATE TABLE e2e_signatures (
  target_user text NOT NULL,
  target_key_id text NOT NULL,
  signer text NOT NULL,
  signer_key_id text NOT NULL,
  signature text NOT NULL,
  PRIMARY KEY (target_user, target_key_id, signer, signer_key_id)
);

-- "User X's device list or cross-signing keys changed at this position".
CREATE TABLE device_list_changes (
  stream_pos bigint NOT NULL,
  user_id text NOT NULL,
  PRIMARY KEY (stream_pos, user_id)
);

-- Device lists in sync need the membership changes since a token; this finds them without
-- scanning every membership.
CREATE INDEX room_memberships_stream ON room_memberships (stream_ordering);

-- The latest receipt of each (user, type, thread) in a room; thread_id '' is unthreaded.
CREATE TABLE receipts (
  room_id text NOT NULL,
  user_id text NOT NULL,
  receipt_type text NOT NULL,
  thread_id text NOT NULL,
  event_id text NOT NULL,
  ts bigint NOT NULL,
  stream_pos bigint NOT NULL,
  PRIMARY KEY (room_id, user_id, receipt_type, thread_id)
);
CREATE INDEX receipts_room_stream ON receipts (room_id, stream_pos);

CREATE TABLE presence (
  user_id text PRIMARY KEY,
  state text NOT NULL,
  status_msg text,
  last_active_ts bigint NOT NULL,
  stream_pos bigint NOT NULL
);
CREATE INDEX presence_stream ON presence (stream_pos);

-- A user's push rules: their own rules and their changes to the server-default ones, as one
-- JSON document (src/services/push-rules.ts).
CREATE TABLE push_rules (
  user_id text PRIMARY KEY,
  rules text NOT NULL
);

-- Profile fields (displayname, avatar_url, m.tz, custom keys) as one JSON object.
CREATE TABLE profiles (
  user_id text PRIMARY KEY,
  fields text NOT NULL
);

-- Local media. size is NULL while an id made by /create waits for its upload.
CREATE TABLE media (
  media_id text PRIMARY KEY,
  uploader text NOT NULL,
  content_type text,
  filename text,
  size bigint,
  sha256 bytea,
  created_ts bigint NOT NULL,
  unused_expires_ts bigint
);
CREATE INDEX media_pending ON media (uploader) WHERE size IS NULL;

-- Generated thumbnails, each a file beside its original.
CREATE TABLE media_thumbnails (
  media_id text NOT NULL REFERENCES media (media_id) ON DELETE CASCADE,
  width integer NOT NULL,
  height integer NOT NULL,
  method text NOT NULL,
  animated boolean NOT NULL,
  content_type text NOT NULL,
  size bigint NOT NULL,
  PRIMARY KEY (media_id, width, height, method, animated)
);
