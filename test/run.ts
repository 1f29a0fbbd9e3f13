// `npm test`: runs every compiled test file with node's test runner. Without DATABASE_URL it
// first starts one embedded PostgreSQL for the whole run (each test file still gets its own
// database), so a machine with no PostgreSQL installed can run the suite.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '../src/storage/embedded.js';
import { connectionToUrl } from '../src/storage/pool.js';

const testRoot = fileURLToPath(new URL('.', import.meta.url));

async function findTests(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await findTests(p)));
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

async function main(): Promise<number> {
  const filter = process.argv.slice(2);
  let files = await findTests(testRoot);
  if (filter.length) files = files.filter((f) => filter.some((s) => relative(testRoot, f).includes(s)));
  const env = { ...process.env };
  let stopDb: (() => Promise<void>) | undefined;
  let tmp: string | undefined;
  if (!env.DATABASE_URL) {
    tmp = await mkdtemp(join(tmpdir(), 'lattice-test-'));
    // Run as root, PostgreSQL runs as the `postgres` user, which must be able to enter this directory.
    await chmod(tmp, 0o755);
    const db = await startEmbeddedPostgres(tmp);
    stopDb = db.stop;
    env.DATABASE_URL = connectionToUrl(db.connection);
    process.stderr.write(`test database: embedded PostgreSQL in ${tmp}\n`);
  }
  try {
    return await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit', env });
      const forward = (sig: NodeJS.Signals) => child.kill(sig);
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    await stopDb?.();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(1);
});
