// recoverDataDirectory against real processes standing in for a postmaster: a program named
// `postgres` whose working directory is the data directory. It stops an orphan, escalating when
// signals are ignored; refuses a postmaster whose parent is still alive; removes a lock file whose
// PID now belongs to an unrelated process, which it leaves alone.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { recoverDataDirectory } from '../../src/storage/embedded.js';

const pids: number[] = [];
const dirs: string[] = [];

after(async () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dataDir(): Promise<{ dbDir: string; fakePostgres: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-recover-'));
  dirs.push(dir);
  const dbDir = join(dir, 'postgres');
  await mkdir(dbDir);
  // A shell under the name `postgres`: /proc shows argv[0] as given.
  const fakePostgres = join(dir, 'bin', 'postgres');
  await mkdir(join(dir, 'bin'));
  await symlink('/bin/sh', fakePostgres);
  return { dbDir, fakePostgres };
}

/** Starts `script` as a fake postmaster in dbDir, orphaned (its parent exits at once). */
function orphan(fakePostgres: string, dbDir: string, script: string): number {
  // The go-between is node, not sh: a shell's background jobs start with SIGINT ignored.
  const launcher = `const c = require('node:child_process').spawn(process.argv[1], ['-c', process.argv[2]], { cwd: process.argv[3], detached: true, stdio: 'ignore' }); c.unref(); console.log(c.pid);`;
  const out = execFileSync(process.execPath, ['-e', launcher, fakePostgres, script, dbDir], { encoding: 'utf8' });
  const pid = Number(out.trim());
  pids.push(pid);
  return pid;
}

function alive(pid: number): boolean {
  try {
    const stat = execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function capture() {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) records.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), records };
}

async function writePidFile(dbDir: string, pid: number): Promise<void> {
  await writeFile(join(dbDir, 'postmaster.pid'), `${pid}\n${dbDir}\n1700000000\n5432\n${dbDir}\n\n  1234 5\nready   \n`);
}

async function untilRunning(pid: number, dbDir: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await readlink(`/proc/${pid}/cwd`).catch(() => '')) === (await realpath(dbDir))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`fake postmaster ${pid} did not start`);
}

test('an orphan that ignores SIGINT and SIGQUIT is stopped by SIGKILL, within the bounds', async () => {
  const { dbDir, fakePostgres } = await dataDir();
  const pid = orphan(fakePostgres, dbDir, "trap '' INT QUIT; while :; do sleep 0.05; done");
  await untilRunning(pid, dbDir);
  await writePidFile(dbDir, pid);
  const { log, records } = capture();
  const t0 = Date.now();
  await recoverDataDirectory(dbDir, log, [
    ['SIGINT', 300],
    ['SIGQUIT', 300],
    ['SIGKILL', 5_000],
  ]);
  assert.ok(Date.now() - t0 < 5_000);
  assert.equal(alive(pid), false);
  const stopped = records.find((r) => r.msg === 'the orphaned PostgreSQL stopped');
  assert.equal(stopped?.signal, 'SIGKILL');
  assert.equal(records.filter((r) => r.msg === 'the orphaned PostgreSQL has not stopped yet').length, 2);
});

test('an orphan that honours SIGINT stops at the first step', async () => {
  const { dbDir, fakePostgres } = await dataDir();
  const pid = orphan(fakePostgres, dbDir, 'while :; do sleep 0.05; done');
  await untilRunning(pid, dbDir);
  await writePidFile(dbDir, pid);
  const { log, records } = capture();
  await recoverDataDirectory(dbDir, log, [
    ['SIGINT', 10_000],
    ['SIGKILL', 5_000],
  ]);
  assert.equal(alive(pid), false);
  assert.equal(records.find((r) => r.msg === 'the orphaned PostgreSQL stopped')?.signal, 'SIGINT');
});

test('a postmaster whose parent (a node process) is alive is refused, not stopped', async () => {
  const { dbDir, fakePostgres } = await dataDir();
  const child = spawn(fakePostgres, ['-c', 'while :; do sleep 0.05; done'], { cwd: dbDir, stdio: 'ignore' });
  pids.push(child.pid!);
  await untilRunning(child.pid!, dbDir);
  await writePidFile(dbDir, child.pid!);
  await assert.rejects(recoverDataDirectory(dbDir), new RegExp(`belongs to a running process \\(pid ${process.pid}: `));
  assert.equal(alive(child.pid!), true);
  child.kill('SIGKILL');
});

test('a lock file whose PID was reused by an unrelated process is removed; the process is left alone', async () => {
  const { dbDir } = await dataDir();
  // Not `postgres`, and not in the data directory.
  const other = spawn('/bin/sh', ['-c', 'while :; do sleep 0.05; done'], { stdio: 'ignore', detached: true });
  pids.push(other.pid!);
  await writePidFile(dbDir, other.pid!);
  await writeFile(join(dbDir, '.s.PGSQL.5432.lock'), `${other.pid}\n${dbDir}\n`);
  await recoverDataDirectory(dbDir);
  assert.equal(existsSync(join(dbDir, 'postmaster.pid')), false);
  assert.equal(existsSync(join(dbDir, '.s.PGSQL.5432.lock')), false);
  assert.equal(alive(other.pid!), true);
  other.kill('SIGKILL');
});

test('a lock file of a dead process, or none, is left to PostgreSQL', async () => {
  const { dbDir } = await dataDir();
  await recoverDataDirectory(dbDir);
  const gone = spawn('/bin/true');
  await new Promise((r) => gone.once('exit', r));
  await writePidFile(dbDir, gone.pid!);
  await recoverDataDirectory(dbDir);
  assert.equal(await readFile(join(dbDir, 'postmaster.pid'), 'utf8').then((t) => t.split('\n')[0]), String(gone.pid));
});
