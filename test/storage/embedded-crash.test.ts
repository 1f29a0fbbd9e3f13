// `lattice start` with the embedded PostgreSQL, as a real child process: after a kill -9 of
// Lattice the next start comes up by itself (whether the watchdog stopped PostgreSQL or it was
// left orphaned), no PostgreSQL outlives a graceful stop, a second start on a busy data directory
// is refused without harming the first, and a start that PostgreSQL refuses says why on stderr.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, chmod, mkdtemp, readdir, readFile, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { login } from '../helpers/client.js';

const BIN = fileURLToPath(new URL('../../../bin/lattice.js', import.meta.url));
const WATCHDOG_NAME = 'lattice-postgres-watchdog';
const PW = 'correct horse battery staple';
const env: NodeJS.ProcessEnv = { ...process.env };
delete env.DATABASE_URL;

const started: ChildProcess[] = [];
const dirs: string[] = [];

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

interface Instance {
  dir: string;
  dbDir: string;
  configPath: string;
  port: number;
}

async function instance(): Promise<Instance> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-crash-'));
  dirs.push(dir);
  // Run as root, the embedded server runs as a `postgres` user that must reach the data dir.
  await chmod(dir, 0o755);
  const port = await freePort();
  const configPath = join(dir, 'lattice.yaml');
  await writeFile(
    configPath,
    `server_name: crash.test\ndata_dir: ${JSON.stringify(join(dir, 'data'))}\nlog_level: info\n` +
      `listeners:\n  http: {bind: 127.0.0.1, port: ${port}}\n`,
  );
  return { dir, dbDir: join(dir, 'data', 'postgres'), configPath, port };
}

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function launch(inst: Instance, configPath = inst.configPath): Run {
  const child = spawn(process.execPath, [BIN, 'start', '--config', configPath], { cwd: inst.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function untilServing(inst: Instance, run: Run): Promise<void> {
  const deadline = Date.now() + 60_000;
  let done = false;
  void run.exited.then(() => (done = true));
  for (;;) {
    if (done) assert.fail(`lattice exited during start-up\nstderr:\n${run.stderr()}\nstdout:\n${run.stdout().slice(-4000)}`);
    try {
      const r = await fetch(`http://127.0.0.1:${inst.port}/_matrix/federation/v1/version`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) assert.fail(`lattice did not answer in time\nstderr:\n${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function postmasterPid(dbDir: string): Promise<number> {
  return Number((await readFile(join(dbDir, 'postmaster.pid'), 'utf8')).split('\n', 1)[0]);
}

/** Every process whose working directory is `dir`: the postmaster and its backends. */
async function processesIn(dir: string): Promise<number[]> {
  const real = await realpath(dir).catch(() => dir);
  const pids: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const cwd = await readlink(`/proc/${e}/cwd`).catch(() => '');
    if (cwd === real && (await procState(Number(e))) !== 'Z') pids.push(Number(e));
  }
  return pids;
}

async function procState(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

async function alive(pid: number): Promise<boolean> {
  const s = await procState(pid);
  return s !== undefined && s !== 'Z';
}

/** The watchdog shell of the postmaster `pid`. */
async function watchdogOf(pid: number): Promise<number[]> {
  const found: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const argv = (await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.includes(WATCHDOG_NAME) && argv.includes(String(pid))) found.push(Number(e));
  }
  return found;
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopGracefully(run: Run): Promise<void> {
  run.child.kill('SIGTERM');
  const { code } = await run.exited;
  assert.equal(code, 0, `graceful stop exit code\nstderr:\n${run.stderr()}`);
}

async function assertNothingLeft(inst: Instance, postmaster: number): Promise<void> {
  await waitFor('the PostgreSQL processes to exit', async () => (await processesIn(inst.dbDir)).length === 0, 10_000);
  assert.deepEqual(await watchdogOf(postmaster), [], 'the watchdog exits with the server');
}

after(async () => {
  // Clean up strictly by PID: what these tests started, and PostgreSQLs of their data dirs.
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) {
    const db = join(d, 'data', 'postgres');
    for (const pid of await processesIn(db)) {
      for (const w of await watchdogOf(pid)) process.kill(w, 'SIGKILL');
      process.kill(pid, 'SIGKILL');
    }
    await rm(d, { recursive: true, force: true });
  }
});

test('after kill -9 the next start comes up, serves, and leaves no PostgreSQL behind', async () => {
  const inst = await instance();
  const first = launch(inst);
  await untilServing(inst, first);
  const oldPostmaster = await postmasterPid(inst.dbDir);
  first.child.kill('SIGKILL');
  await first.exited;

  const second = launch(inst);
  await untilServing(inst, second);
  const postmaster = await postmasterPid(inst.dbDir);
  assert.notEqual(postmaster, oldPostmaster);
  assert.equal(await alive(oldPostmaster), false, 'the old PostgreSQL is gone');

  const version = (await (await fetch(`http://127.0.0.1:${inst.port}/_matrix/federation/v1/version`)).json()) as { server: { name: string } };
  assert.equal(version.server.name, 'Lattice');
  const reg = await runCli(['register-user', 'alice', '--password', PW, '--config', inst.configPath], '', env);
  assert.equal(reg.code, 0, reg.stderr);
  assert.equal((await login(`http://127.0.0.1:${inst.port}`, 'alice', PW)).userId, '@alice:crash.test');

  // A second server on the same data directory is refused, in plain words, and harms nothing.
  const port2 = await freePort();
  const config2 = join(inst.dir, 'second.yaml');
  await writeFile(config2, (await readFile(inst.configPath, 'utf8')).replace(`port: ${inst.port}`, `port: ${port2}`));
  const intruder = launch(inst, config2);
  const { code } = await intruder.exited;
  assert.notEqual(code, 0);
  assert.match(intruder.stderr(), /^lattice: the embedded PostgreSQL in .* belongs to a running process .*is Lattice already running/s);
  assert.equal(await alive(postmaster), true);
  assert.equal((await login(`http://127.0.0.1:${inst.port}`, 'alice', PW)).userId, '@alice:crash.test');

  await stopGracefully(second);
  await assertNothingLeft(inst, postmaster);
  // PostgreSQL's output reached the log as JSON records, and nothing else was written.
  const records = second.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(records.some((r) => r.component === 'postgres' && r.pg_severity === 'LOG' && r.msg === 'database system is ready to accept connections'));
  assert.equal(second.stderr(), '');
});

test('a PostgreSQL orphaned by kill -9 (watchdog gone too) is stopped by the next start', async () => {
  const inst = await instance();
  const first = launch(inst);
  await untilServing(inst, first);
  const orphan = await postmasterPid(inst.dbDir);
  const watchdogs = await watchdogOf(orphan);
  assert.equal(watchdogs.length, 1, 'one watchdog per PostgreSQL');
  process.kill(watchdogs[0]!, 'SIGKILL');
  first.child.kill('SIGKILL');
  await first.exited;
  // Nothing stops it now: without the start-up check the next start would fail on its lock file.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await alive(orphan), true, 'the orphaned PostgreSQL still runs');

  const second = launch(inst);
  await untilServing(inst, second);
  assert.equal(await alive(orphan), false, 'the orphan was stopped');
  assert.notEqual(await postmasterPid(inst.dbDir), orphan);
  assert.match(second.stdout(), /left running by a previous Lattice process/);
  const reg = await runCli(['register-user', 'bob', '--password', PW, '--config', inst.configPath], '', env);
  assert.equal(reg.code, 0, reg.stderr);
  assert.equal((await login(`http://127.0.0.1:${inst.port}`, 'bob', PW)).userId, '@bob:crash.test');

  const postmaster = await postmasterPid(inst.dbDir);
  await stopGracefully(second);
  await assertNothingLeft(inst, postmaster);
});

test("a start PostgreSQL refuses prints the end of PostgreSQL's log on stderr and exits non-zero", async () => {
  const inst = await instance();
  const first = launch(inst);
  await untilServing(inst, first);
  const postmaster = await postmasterPid(inst.dbDir);
  await stopGracefully(first);
  await assertNothingLeft(inst, postmaster);

  await appendFile(join(inst.dbDir, 'postgresql.conf'), '\nshared_buffers = 99TB\n');
  const bad = launch(inst);
  const { code } = await bad.exited;
  assert.equal(code, 1);
  const stderr = bad.stderr();
  assert.match(stderr, /^lattice: embedded PostgreSQL failed to start in .* \(exit code 1\)\.\n/);
  assert.match(stderr, /invalid value for parameter "shared_buffers": "99TB"/);
  assert.match(stderr, /configuration file ".*postgresql\.conf" contains errors/);
  // Its output also reached the log as JSON lines, not raw text.
  const records = bad.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(records.some((r) => r.component === 'postgres' && r.pg_severity === 'FATAL' && /contains errors/.test(String(r.msg))));
  assert.deepEqual(await processesIn(inst.dbDir), []);
});
