// The error a bad configuration produces: one message naming the key. Its own module so the
// server can recognise it without loading the schema library (see isolated.ts).
export class ConfigError extends Error {
  override name = 'ConfigError';
}
