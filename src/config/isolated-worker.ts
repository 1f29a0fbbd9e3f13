// Worker side of loadConfigIsolated: loads and validates, posts the plain result, exits.
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError, loadConfig } from './load.js';

const { path } = workerData as { path: string | null };
loadConfig(path ?? undefined).then(
  (config) => parentPort!.postMessage({ ok: true, config }),
  (e: unknown) => parentPort!.postMessage({ ok: false, configError: e instanceof ConfigError, message: (e as Error).message }),
);
