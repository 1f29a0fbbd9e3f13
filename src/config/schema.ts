// The configuration schema: every key, its default and its meaning. `generate-config` writes
// the documentation below as comments, so keep `doc` strings short and true.
import { z } from 'zod';
import { parseCidr } from '../http/client-address.js';

const SERVER_NAME = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,255})(?::\d{1,5})?$/;

export const listenerSchema = z.strictObject({
  bind: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8008),
  x_forwarded: z.boolean().default(false),
});

export const tlsListenerSchema = z.strictObject({
  bind: z.string().min(1).default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(8448),
  cert_file: z.string().min(1),
  key_file: z.string().min(1),
});

/** A token bucket: `burst` requests at once, refilled at `per_second`. */
export const rateLimitSchema = z.strictObject({
  per_second: z.number().positive(),
  burst: z.number().int().min(1),
});

export const configSchema = z.strictObject({
  server_name: z.string().regex(SERVER_NAME, 'must be a valid Matrix server name (host[:port])').default('localhost'),
  data_dir: z.string().min(1).default('./data'),
  listeners: z
    .strictObject({
      http: listenerSchema.prefault({}),
      federation_tls: tlsListenerSchema.nullable().default(null),
    })
    .prefault({}),
  trusted_proxies: z
    .array(z.string().refine((s) => parseCidr(s) !== undefined, 'must be an IP address or CIDR range'))
    .default(['127.0.0.0/8', '::1/128']),
  database: z
    .strictObject({
      url: z.string().min(1).nullable().default(null),
      pool_max: z.number().int().min(1).max(1000).default(10),
      statement_timeout_ms: z.number().int().min(0).default(60_000),
      idle_in_transaction_timeout_ms: z.number().int().min(0).default(60_000),
      acquire_timeout_ms: z.number().int().min(0).default(10_000),
    })
    .prefault({}),
  signing_key_path: z.string().min(1).nullable().default(null),
  old_signing_keys: z
    .record(
      z.string().regex(/^ed25519:[a-zA-Z0-9_]+$/, 'key ids look like ed25519:<version>'),
      z.strictObject({ key: z.string().min(1), expired_ts: z.number().int().nonnegative() }),
    )
    .default({}),
  key_validity_ms: z.number().int().min(60_000).default(24 * 3600 * 1000),
  max_request_body_bytes: z.number().int().min(1024).default(50 * 1024 * 1024),
  max_json_body_bytes: z.number().int().min(1024).default(1024 * 1024),
  worker_threads: z.number().int().min(1).max(256).nullable().default(null),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  well_known: z
    .strictObject({
      server: z.string().min(1).nullable().default(null),
      client: z.string().url().nullable().default(null),
    })
    .prefault({}),
  enable_registration: z.boolean().default(false),
  registration_shared_secret: z.string().min(1).nullable().default(null),
  password_hashing: z
    .strictObject({
      ops_limit: z.number().int().min(1).max(32).default(2),
      mem_limit_kib: z.number().int().min(8).max(4 * 1024 * 1024).default(64 * 1024),
      max_concurrent: z.number().int().min(1).max(64).default(2),
    })
    .prefault({}),
  rate_limits: z
    .strictObject({
      login: rateLimitSchema.nullable().default({ per_second: 0.2, burst: 10 }),
      login_failures: rateLimitSchema.nullable().default({ per_second: 0.02, burst: 5 }),
      registration: rateLimitSchema.nullable().default({ per_second: 0.05, burst: 10 }),
    })
    .prefault({}),
  media: z
    .strictObject({
      max_upload_bytes: z.number().int().min(1).default(50 * 1024 * 1024),
      allowed_content_types: z.array(z.string().min(1)).nullable().default(null),
      user_quota_bytes: z.number().int().min(0).nullable().default(null),
      max_pending_uploads: z.number().int().min(1).default(10),
      max_uploads_in_flight_per_user: z.number().int().min(1).default(3),
      max_uploads_in_flight: z.number().int().min(1).default(64),
      unused_expiry_ms: z.number().int().min(1000).default(24 * 3600 * 1000),
      max_thumbnail_source_bytes: z.number().int().min(1).default(20 * 1024 * 1024),
      max_thumbnail_source_pixels: z.number().int().min(1).default(32 * 1024 * 1024),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;

/** One line of documentation per key, in file order, for the generated config file. */
export const configDocs: Array<[path: string, doc: string]> = [
  ['server_name', 'The server name: the domain part of user ids and room aliases. Cannot change later.'],
  ['data_dir', 'Where the embedded database, the signing key and media live.'],
  ['listeners.http', 'Plain HTTP listener for the client and federation APIs (behind a TLS reverse proxy). x_forwarded: true believes X-Forwarded-For from trusted_proxies.'],
  ['listeners.federation_tls', 'Optional TLS listener for federation on its own port: {bind, port, cert_file, key_file}.'],
  ['trusted_proxies', 'Reverse proxies (IPs or CIDR ranges) whose X-Forwarded-For names the client on x_forwarded listeners.'],
  ['database.url', 'postgres:// URL. Null: an embedded PostgreSQL under data_dir. The DATABASE_URL environment variable overrides it.'],
  ['database.pool_max', 'Most connections in the pool.'],
  ['database.statement_timeout_ms', 'The database cancels a statement running longer than this. 0: no limit.'],
  ['database.idle_in_transaction_timeout_ms', 'The database ends a session idle inside a transaction this long. 0: never.'],
  ['database.acquire_timeout_ms', 'A transaction waiting this long for a free connection fails with 503. 0: waits forever.'],
  ['signing_key_path', 'Signing key file (Synapse format). Null: <data_dir>/signing.key, created on first start.'],
  ['old_signing_keys', 'Keys this server used to sign with: { "ed25519:<version>": { key, expired_ts } }.'],
  ['key_validity_ms', 'How long published keys are valid (valid_until_ts = now + this).'],
  ['max_request_body_bytes', 'Largest request body accepted (uploads); larger bodies get 413 M_TOO_LARGE.'],
  ['max_json_body_bytes', 'Largest JSON request body accepted; larger bodies get 413 M_TOO_LARGE.'],
  ['worker_threads', 'Worker threads for signatures, hashing and state resolution. Null: one per core.'],
  ['log_level', 'fatal, error, warn, info, debug, trace or silent.'],
  ['well_known.server', 'If set, served as m.server at /.well-known/matrix/server (e.g. "matrix.example.org:443").'],
  ['well_known.client', 'If set, served as m.homeserver.base_url at /.well-known/matrix/client.'],
  ['enable_registration', 'Let anyone create an account with POST /register. Otherwise use register-user or the shared secret.'],
  ['registration_shared_secret', 'If set, enables Synapse-style shared-secret registration at /_synapse/admin/v1/register.'],
  ['password_hashing.ops_limit', 'argon2id passes per password hash.'],
  ['password_hashing.mem_limit_kib', 'argon2id memory per password hash, in KiB.'],
  ['password_hashing.max_concurrent', 'Password hashes computed at once; more wait their turn.'],
  ['rate_limits.login', 'Login attempts per client IP: {per_second, burst}. Null: unlimited.'],
  ['rate_limits.login_failures', 'Wrong passwords per account (login and re-authentication) before it must wait.'],
  ['rate_limits.registration', 'Registration requests per client IP.'],
  ['media.max_upload_bytes', 'Largest media upload in bytes (413 M_TOO_LARGE beyond); also advertised as m.upload.size.'],
  ['media.allowed_content_types', 'If set, the only upload content types accepted (e.g. ["image/*", "video/mp4"]); others get 403.'],
  ['media.user_quota_bytes', 'If set, the most media bytes one user may store; uploads past it get 403 M_FORBIDDEN.'],
  ['media.max_pending_uploads', 'Media ids a user may hold from /create without uploading to them yet.'],
  ['media.max_uploads_in_flight_per_user', 'Uploads one user may have in progress at once; more get 429 M_LIMIT_EXCEEDED before their body is read.'],
  ['media.max_uploads_in_flight', 'Uploads in progress at once over all users; more get 429 M_LIMIT_EXCEEDED.'],
  ['media.unused_expiry_ms', 'How long a media id from /create waits for its upload.'],
  ['media.max_thumbnail_source_bytes', 'Larger images are not thumbnailed (413 M_TOO_LARGE).'],
  ['media.max_thumbnail_source_pixels', 'Images with more pixels than this are not decoded for thumbnails.'],
];
