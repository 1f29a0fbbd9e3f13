// The configuration schema: every key, its default and its meaning. `generate-config` writes
// the documentation below as comments, so keep `doc` strings short and true.
import { z } from 'zod';

const SERVER_NAME = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,255})(?::\d{1,5})?$/;

export const listenerSchema = z.strictObject({
  bind: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8008),
});

export const tlsListenerSchema = z.strictObject({
  bind: z.string().min(1).default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(8448),
  cert_file: z.string().min(1),
  key_file: z.string().min(1),
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
  database: z
    .strictObject({
      url: z.string().min(1).nullable().default(null),
      pool_max: z.number().int().min(1).max(1000).default(10),
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
});

export type Config = z.infer<typeof configSchema>;

/** One line of documentation per key, in file order, for the generated config file. */
export const configDocs: Array<[path: string, doc: string]> = [
  ['server_name', 'The server name: the domain part of user ids and room aliases. Cannot change later.'],
  ['data_dir', 'Where the embedded database, the signing key and media live.'],
  ['listeners.http', 'Plain HTTP listener for the client and federation APIs (behind a TLS reverse proxy).'],
  ['listeners.federation_tls', 'Optional TLS listener for federation on its own port: {bind, port, cert_file, key_file}.'],
  ['database.url', 'postgres:// URL. Null: an embedded PostgreSQL under data_dir. The DATABASE_URL environment variable overrides it.'],
  ['database.pool_max', 'Most connections in the pool.'],
  ['signing_key_path', 'Signing key file (Synapse format). Null: <data_dir>/signing.key, created on first start.'],
  ['old_signing_keys', 'Keys this server used to sign with: { "ed25519:<version>": { key, expired_ts } }.'],
  ['key_validity_ms', 'How long published keys are valid (valid_until_ts = now + this).'],
  ['max_request_body_bytes', 'Largest request body accepted (uploads); larger bodies get 413 M_TOO_LARGE.'],
  ['max_json_body_bytes', 'Largest JSON request body accepted; larger bodies get 413 M_TOO_LARGE.'],
  ['worker_threads', 'Worker threads for signatures, hashing and state resolution. Null: one per core.'],
  ['log_level', 'fatal, error, warn, info, debug, trace or silent.'],
  ['well_known.server', 'If set, served as m.server at /.well-known/matrix/server (e.g. "matrix.example.org:443").'],
  ['well_known.client', 'If set, served as m.homeserver.base_url at /.well-known/matrix/client.'],
];
