// Runs `lattice start` as a separate process for load benchmarks: a temporary data directory
// and YAML config on a loopback port picked here, its own database (a fresh one on
// DATABASE_URL's server, or the server's embedded PostgreSQL), and a stop that always kills
// exactly the process it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { connectionFromUrl, connectionToUrl, createPool } from '../../src/storage/pool.js';

/** The repository root (this file runs from dist/bench/lib/). */
const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

export interface ServerProcess {
  pid: number;
  port: number;
  baseUrl: string;
  /** Which database the server uses: "DATABASE_URL (fresh database)" or "embedded". */
  database: string;
  /** Resident set size of the server process in MiB (Postgres excluded: another process). */
  rssMiB(): Promise<number>;
  /** The last lines the server wrote, for error reports. */
  output(): string;
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  /** Extra config keys merged over the bench defaults. */
  config?: Record<string, unknown>;
  /** Extra node flags for the server process (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Working directory of the server process (where --cpu-prof writes by default). */
  cwd?: string;
  readyTimeoutMs?: number;
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

async function adminQuery(url: string, query: string): Promise<void> {
  const sql = createPool(connectionFromUrl(url), 1);
  try {
    await sql.unsafe(query);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function readRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const timer = setTimeout(() => res(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      res(true);
    });
  });
}

export async function startServerProcess(opts: ServerProcessOptions = {}): Promise<ServerProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-bench-'));
  // Run as root, the embedded PostgreSQL runs as `postgres`, which must be able to enter it.
  await chmod(dir, 0o755);
  const port = await freeLoopbackPort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  let dropDatabase: (() => Promise<void>) | undefined;
  let database = 'embedded';
  if (process.env.DATABASE_URL) {
    const admin = connectionFromUrl(process.env.DATABASE_URL);
    const name = `lattice_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
    await adminQuery(process.env.DATABASE_URL, `CREATE DATABASE ${name}`);
    env.DATABASE_URL = connectionToUrl({ ...admin, database: name });
    dropDatabase = () => adminQuery(process.env.DATABASE_URL!, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    database = 'DATABASE_URL (fresh database)';
  } else {
    delete env.DATABASE_URL;
  }
  const config = {
    server_name: 'bench.local',
    data_dir: join(dir, 'data'),
    log_level: 'warn',
    listeners: { http: { bind: '127.0.0.1', port } },
    ...opts.config,
  };
  const configPath = join(dir, 'lattice.yaml');
  await writeFile(configPath, toYaml(config));

  const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), join(ROOT, 'bin/lattice.js'), 'start', '--config', configPath], {
    cwd: opts.cwd ?? dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (b: Buffer) => {
    tail = (tail + b.toString('utf8')).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const pid = child.pid!;
  const baseUrl = `http://127.0.0.1:${port}`;

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      // SIGTERM lets the server stop its embedded PostgreSQL (and write a --cpu-prof profile).
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(pid, 'SIGTERM');
        if (!(await exited(child, 30_000))) {
          process.kill(pid, 'SIGKILL');
          await exited(child, 5_000);
        }
      }
      await dropDatabase?.().catch((e: unknown) => process.stderr.write(`could not drop the bench database: ${String(e)}\n`));
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    })());

  const proc: ServerProcess = {
    pid,
    port,
    baseUrl,
    database,
    rssMiB: () => readRssMiB(pid),
    output: () => tail,
    stop,
  };

  // Ready when /versions answers; the embedded PostgreSQL's first start (initdb) takes a while.
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited during start-up (${child.exitCode ?? child.signalCode})`);
      try {
        const r = await fetch(`${baseUrl}/_matrix/client/versions`);
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('server did not answer /versions in time');
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n--- server output ---\n${tail}`);
  }
  return proc;
}
