// Starts a whole homeserver: keys, database, HTTP listeners; and stops it gracefully.
import uws from 'uWebSockets.js';
import { existsSync } from 'node:fs';
import type { ResolvedConfig } from './config/load.js';
import { loadOrCreateSigningKeys } from './crypto/signing-key.js';
import { Router, type Route } from './http/router.js';
import { HttpFrontEnd } from './http/server.js';
import { registerApi } from './api/index.js';
import { ServerKeys } from './services/server-keys.js';
import { beginShutdown, closeContext, createContext } from './services/index.js';
import { openDatabase, type Database } from './storage/database.js';
import type { Logger } from './util/logger.js';
import type { ServerContext } from './services/context.js';

export interface RunningServer {
  httpPort: number;
  /** The services the handlers share (tests reach them directly). */
  context: ServerContext;
  tlsPort?: number;
  /** The route table, read-only (tools such as the route fuzzer walk it). */
  routes(): readonly Route[];
  stop(): Promise<void>;
}

export async function startServer(config: ResolvedConfig, log: Logger): Promise<RunningServer> {
  const { keys, created } = await loadOrCreateSigningKeys(config.signingKeyPath);
  if (created) log.info({ path: config.signingKeyPath, keyId: keys[0]!.keyId }, 'created a new signing key');
  const serverKeys = new ServerKeys(config.server_name, keys, config.old_signing_keys, config.key_validity_ms);

  // The listen sockets come first: a second server on the same port stops here, before it
  // touches the database (or the embedded PostgreSQL of the first one).
  const router = new Router();
  const frontEnd = new HttpFrontEnd(router, log, {
    maxJsonBytes: config.max_json_body_bytes,
    maxRequestBytes: config.max_request_body_bytes,
    trustedProxies: config.trusted_proxies,
  });
  frontEnd.hold();
  let httpPort: number;
  let tlsPort: number | undefined;
  try {
    const http = config.listeners.http;
    httpPort = await frontEnd.listen(frontEnd.attach(uws.App(), { xForwarded: http.x_forwarded }), http.bind, http.port);
    const tls = config.listeners.federation_tls;
    if (tls) {
      for (const f of [tls.cert_file, tls.key_file]) if (!existsSync(f)) throw new Error(`TLS file not found: ${f}`);
      const app = uws.SSLApp({ cert_file_name: tls.cert_file, key_file_name: tls.key_file });
      tlsPort = await frontEnd.listen(frontEnd.attach(app), tls.bind, tls.port);
    }
  } catch (e) {
    await frontEnd.close(0);
    throw e;
  }

  let db: Database;
  let ctx: ServerContext;
  try {
    db = await openDatabase(config, log);
    try {
      ctx = await createContext(config, log, db.sql, serverKeys);
    } catch (e) {
      await db.close();
      throw e;
    }
  } catch (e) {
    await frontEnd.close(0);
    throw e;
  }
  registerApi(router, ctx);
  frontEnd.open();
  log.info({ server_name: config.server_name, http: `${config.listeners.http.bind}:${httpPort}`, tls: tlsPort }, 'Lattice is listening');

  let stopping: Promise<void> | undefined;
  return {
    httpPort,
    context: ctx,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    routes: () => router.routes(),
    stop() {
      stopping ??= (async () => {
        beginShutdown(ctx);
        await frontEnd.close();
        await closeContext(ctx);
        await db.close();
        log.info('Lattice stopped');
      })();
      return stopping;
    },
  };
}
