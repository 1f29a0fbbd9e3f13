// Loads the configuration in a short-lived worker thread. The schema library (zod) and the YAML
// parser cost ~14 MB of resident memory once loaded, for a job done once at start: run in a
// worker, their code and heap go away with its isolate, and the server keeps the plain result.
import { Worker } from 'node:worker_threads';
import { ConfigError } from './errors.js';
import type { ResolvedConfig } from './load.js';

export function loadConfigIsolated(path: string | undefined): Promise<ResolvedConfig> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./isolated-worker.js', import.meta.url), { workerData: { path: path ?? null } });
    worker.once('message', (m: { ok: true; config: ResolvedConfig } | { ok: false; configError: boolean; message: string }) => {
      if (m.ok) resolve(m.config);
      else reject(m.configError ? new ConfigError(m.message) : new Error(m.message));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`config worker exited with code ${code}`));
    });
  });
}
