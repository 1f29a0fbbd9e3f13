-- Local user accounts, their devices and the access tokens bound to those devices.
CREATE TABLE users (
  user_id text PRIMARY KEY,
  -- argon2id string (crypto_pwhash_str); NULL when the account cannot log in with a password.
  password_hash text,
  is_admin boolean NOT NULL DEFAULT false,
  created_ts bigint NOT NULL,
  deactivated boolean NOT NULL DEFAULT false
);

CREATE TABLE devices (
  user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  device_id text NOT NULL,
  display_name text,
  created_ts bigint NOT NULL,
  last_seen_ts bigint,
  last_seen_ip text,
  PRIMARY KEY (user_id, device_id)
);

-- Only the SHA-256 of each token is kept: a leaked table does not hand out sessions.
-- Deleting a device deletes its tokens.
CREATE TABLE access_tokens (
  token_hash bytea PRIMARY KEY,
  user_id text NOT NULL,
  device_id text NOT NULL,
  created_ts bigint NOT NULL,
  FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
CREATE INDEX access_tokens_device ON access_tokens (user_id, device_id);
