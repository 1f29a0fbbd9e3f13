// `start`, `generate-config`, `generate-signing-key`.
import { writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../../config/errors.js';
import { loadConfigIsolated } from '../../config/isolated.js';
import { formatSigningKeys, generateSigningKey } from '../../crypto/signing-key.js';
import { ListenError } from '../../http/server.js';
import { startServer } from '../../server.js';
import { EmbeddedPostgresError } from '../../storage/embedded.js';
import { createLogger } from '../../util/logger.js';
import { CONFIG_OPTION, defineCommand, UsageError } from '../io.js';

export const start = defineCommand(
  {
    name: 'start',
    synopsis: '[--config PATH]',
    description:
      'Runs the homeserver until SIGINT or SIGTERM. With no database configured it starts an embedded\n' +
      'PostgreSQL under data_dir (stopping one a crashed run left behind).',
    options: { config: CONFIG_OPTION },
  },
  async (values) => {
    let config;
    try {
      config = await loadConfigIsolated(values.config ?? process.env.LATTICE_CONFIG);
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`lattice: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
    const log = createLogger(config.log_level);
    let server;
    try {
      server = await startServer(config, log);
    } catch (e) {
      // Failures an operator fixes: one plain message, no stack.
      if (e instanceof ListenError || e instanceof EmbeddedPostgresError) {
        process.stderr.write(`lattice: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
    await new Promise<void>((resolve) => {
      const onSignal = (sig: NodeJS.Signals) => {
        log.info({ signal: sig }, 'shutting down');
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
    await server.stop();
    return 0;
  },
);

async function writeNewFile(path: string, text: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  try {
    await writeFile(path, text, { flag: 'wx', mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${path} already exists; not overwriting it`);
    throw e;
  }
}

export const generateConfig = defineCommand(
  {
    name: 'generate-config',
    synopsis: '[--output PATH] [--server-name NAME]',
    description: 'Writes a commented config file with every key at its default (to stdout without --output).',
    options: {
      output: { type: 'string', short: 'o', arg: 'PATH', help: 'write it here (never overwrites a file)' },
      'server-name': { type: 'string', arg: 'NAME', help: 'the server_name to put in it' },
    },
  },
  async (values) => {
    const { generateConfigText } = await import('../../config/generate.js');
    const text = generateConfigText(values['server-name'] ? { server_name: values['server-name'] } : {});
    if (values.output) await writeNewFile(values.output, text, 0o644);
    else process.stdout.write(text);
    return 0;
  },
);

export const generateSigningKeyCmd = defineCommand(
  {
    name: 'generate-signing-key',
    synopsis: '[--output PATH]',
    description: "Writes a new ed25519 signing key in Synapse's format (to stdout without --output).",
    options: { output: { type: 'string', short: 'o', arg: 'PATH', help: 'write it here, mode 0600 (never overwrites a file)' } },
  },
  async (values) => {
    const text = formatSigningKeys([generateSigningKey()]);
    if (values.output) await writeNewFile(values.output, text, 0o600);
    else process.stdout.write(text);
    return 0;
  },
);
