// Reads, validates and resolves the configuration. A bad file produces one ConfigError naming
// the key, which the CLI prints before exiting non-zero.
import { readFile } from 'node:fs/promises';
import { resolve, dirname } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { configSchema, type Config } from './schema.js';

import { ConfigError } from './errors.js';

export { ConfigError };

export interface ResolvedConfig extends Config {
  /** Absolute data directory. */
  dataDir: string;
  /** Absolute signing key path. */
  signingKeyPath: string;
  /** Database URL after the DATABASE_URL override, or null for the embedded server. */
  databaseUrl: string | null;
}

export function validateConfig(raw: unknown, baseDir: string, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.length ? issue.path.join('.') : '(top level)';
    const message =
      issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}` : issue.message;
    throw new ConfigError(`invalid configuration: ${key}: ${message}`);
  }
  const cfg = parsed.data;
  const dataDir = resolve(baseDir, cfg.data_dir);
  return {
    ...cfg,
    dataDir,
    signingKeyPath: cfg.signing_key_path ? resolve(baseDir, cfg.signing_key_path) : resolve(dataDir, 'signing.key'),
    databaseUrl: env.DATABASE_URL || cfg.database.url,
  };
}

/** Loads the YAML file at `path`, or the defaults when no path is given. */
export async function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedConfig> {
  if (!path) return validateConfig({}, process.cwd(), env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    const where = e instanceof YAMLParseError && e.linePos ? ` (line ${e.linePos[0].line})` : '';
    throw new ConfigError(`config file ${path} is not valid YAML${where}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(`config file ${path} must be a mapping of keys to values`);
  }
  return validateConfig(raw, dirname(resolve(path)), env);
}
