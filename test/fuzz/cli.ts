// `npm run fuzz -- [--seed N] [--iterations N | --duration S] [--routes SUBSTRING] [--aliases]`:
// the route fuzzer, longer than the run inside `npm test`. Prints a JSON report (per finding:
// route, method, input class, input, status, body excerpt) and exits 1 when it found a 5xx, a
// hang, a crash, a state change by a refused request or unbounded memory.
// Uses DATABASE_URL, or an embedded PostgreSQL in a temporary directory.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedPostgres } from '../../src/storage/embedded.js';
import { connectionToUrl } from '../../src/storage/pool.js';
import { fuzzServer, startFuzzServer, type Finding } from './runner.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      iterations: { type: 'string', default: '40' },
      duration: { type: 'string' },
      routes: { type: 'string' },
      aliases: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  const perRoute = Number(values.iterations);
  if (!Number.isInteger(seed) || !Number.isInteger(perRoute) || perRoute < 1) throw new Error('--seed and --iterations take integers');
  const durationMs = values.duration !== undefined ? Number(values.duration) * 1000 : undefined;

  let stopDb: (() => Promise<void>) | undefined;
  let tmp: string | undefined;
  if (!process.env.DATABASE_URL) {
    tmp = await mkdtemp(join(tmpdir(), 'lattice-fuzz-'));
    await chmod(tmp, 0o755);
    const db = await startEmbeddedPostgres(tmp);
    stopDb = db.stop;
    process.env.DATABASE_URL = connectionToUrl(db.connection);
  }
  const crashes: Finding[] = [];
  // The server runs in this process: an exception escaping it is a crash the report must show.
  const onCrash = (e: unknown) => crashes.push({ kind: 'crash', route: '?', method: '?', cls: 'uncaught', input: { url: '' }, body: String((e as Error)?.stack ?? e) });
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const t = await startFuzzServer();
  try {
    const report = await fuzzServer(t, {
      seed,
      perRoute,
      ...(durationMs !== undefined ? { durationMs } : {}),
      ...(values.routes ? { filter: values.routes } : {}),
      includeAliases: values.aliases,
      log: values.verbose ? (l) => process.stderr.write(l + '\n') : undefined,
    });
    report.findings.push(...crashes);
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return report.findings.length ? 1 : 0;
  } finally {
    await t.stop();
    await stopDb?.();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(2);
});
