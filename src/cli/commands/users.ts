// `register-user NAME [--password PW] [--admin] [--config PATH]`: creates a local user straight
// in the database, whether or not the server is running. The password comes from --password or,
// without it, from the first line of stdin (which keeps it out of the process list).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, type ResolvedConfig } from '../../config/load.js';
import { MatrixError } from '../../http/errors.js';
import { checkNewPassword, createAccount, localUserId, newUserId } from '../../services/accounts.js';
import { passwordHasherFor } from '../../services/account-services.js';
import { AccountStore } from '../../storage/accounts.js';
import { embeddedConnection, startEmbeddedPostgres } from '../../storage/embedded.js';
import { migrate } from '../../storage/migrate.js';
import { connectionFromUrl, createPool, type Sql } from '../../storage/pool.js';
import { CONFIG_OPTION, defineCommand, readStdin, UsageError } from '../io.js';

interface Connected {
  sql: Sql;
  close(): Promise<void>;
}

/**
 * The configured database: the external one; else the embedded one of a running server through
 * its socket; else the embedded one started here and stopped afterwards.
 */
async function connect(config: ResolvedConfig): Promise<Connected> {
  if (config.databaseUrl) {
    const sql = createPool(connectionFromUrl(config.databaseUrl), 1);
    return { sql, close: () => sql.end({ timeout: 5 }) };
  }
  const conn = embeddedConnection(config.dataDir);
  if (existsSync(join(conn.host, `.s.PGSQL.${conn.port}`))) {
    const sql = createPool(conn, 1);
    try {
      await sql`SELECT 1`;
      return { sql, close: () => sql.end({ timeout: 5 }) };
    } catch {
      // A socket file left by a server that is gone: start the database ourselves.
      await sql.end({ timeout: 1 });
    }
  }
  const embedded = await startEmbeddedPostgres(config.dataDir);
  const sql = createPool(embedded.connection, 1);
  return {
    sql,
    async close() {
      await sql.end({ timeout: 5 });
      await embedded.stop();
    },
  };
}

async function passwordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('no password: give --password or pipe it on stdin');
  const text = (await readStdin()).toString('utf8');
  return text.split(/\r?\n/, 1)[0] ?? '';
}

export const registerUser = defineCommand(
  {
    name: 'register-user',
    synopsis: 'NAME [--password PW] [--admin] [--config PATH]',
    description:
      'Creates the local account NAME (a localpart or a full user id of this server), whether the server\n' +
      'is running or not. Without --password the password is the first line of stdin.',
    options: {
      config: CONFIG_OPTION,
      password: { type: 'string', short: 'p', arg: 'PW', help: 'the password (visible in the process list; stdin is safer)' },
      admin: { type: 'boolean', help: 'make the account a server admin' },
    },
    positionals: { min: 1, max: 1 },
  },
  async (values, positionals) => {
    const name = positionals[0]!;
    const fail = (msg: string) => {
      process.stderr.write(`register-user: ${msg}\n`);
      return 1;
    };

    let config: ResolvedConfig;
    try {
      config = await loadConfig(values.config ?? process.env.LATTICE_CONFIG);
    } catch (e) {
      if (e instanceof ConfigError) return fail(e.message);
      throw e;
    }

    let userId: string;
    let password: string;
    try {
      // NAME is a localpart or a full user id of this server.
      let localpart = name;
      if (name.startsWith('@')) {
        if (!localUserId(name, config.server_name)) return fail(`${name} is not a user id on ${config.server_name}`);
        localpart = name.slice(1, name.indexOf(':'));
      }
      userId = newUserId(localpart, config.server_name);
      password = checkNewPassword(values.password ?? (await passwordFromStdin()));
    } catch (e) {
      if (e instanceof MatrixError) return fail(`${name}: ${e.message}`);
      throw e;
    }

    const db = await connect(config);
    try {
      await migrate(db.sql);
      await createAccount(new AccountStore(db.sql), passwordHasherFor(config), { userId, password, admin: values.admin === true });
    } catch (e) {
      if (e instanceof MatrixError && e.errcode === 'M_USER_IN_USE') return fail(`user ${userId} already exists`);
      throw e;
    } finally {
      await db.close();
    }
    process.stdout.write(`${userId}\n`);
    return 0;
  },
);
