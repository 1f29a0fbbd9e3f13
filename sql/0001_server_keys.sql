-- Keys of other servers, fetched directly or through notaries, kept for signature checks.
CREATE TABLE server_keys (
  server_name text NOT NULL,
  key_id text NOT NULL,
  public_key bytea NOT NULL,
  -- valid_until_ts for current keys; expired_ts for old_verify_keys.
  valid_until_ts bigint NOT NULL,
  expired_ts bigint,
  fetched_at bigint NOT NULL,
  PRIMARY KEY (server_name, key_id)
);
