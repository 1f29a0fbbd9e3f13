// CPU accounting for a benchmark phase from /proc: the server process (all its threads), every
// postgres process on the machine, this process, and the whole machine, as percentages of one
// core over the phase. Tells whether the server, the database or the load generator was the
// bottleneck on a small shared machine.
import { readdir, readFile } from 'node:fs/promises';

const TICK = 100; // USER_HZ on Linux

async function procTicks(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name "(...)": utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0; // gone
  }
}

async function postgresTicks(): Promise<number> {
  let sum = 0;
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const comm = (await readFile(`/proc/${name}/comm`, 'utf8')).trim();
      if (comm === 'postgres' || comm.startsWith('postgres')) sum += await procTicks(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return sum;
}

async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

export interface CpuSnapshot {
  at: number;
  server: number;
  postgres: number;
  self: number;
  machine: { busy: number; total: number };
}

export async function cpuSnapshot(serverPid: number): Promise<CpuSnapshot> {
  const u = process.cpuUsage();
  return {
    at: Date.now(),
    server: await procTicks(serverPid),
    postgres: await postgresTicks(),
    self: (u.user + u.system) / 1e4, // µs → ticks
    machine: await machineTicks(),
  };
}

/** Percent of one core used by each party between two snapshots. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot) {
  const secs = Math.max(0.001, (b.at - a.at) / 1000);
  const pct = (ticks: number) => Number(((100 * ticks) / TICK / secs).toFixed(1));
  const cores = (b.machine.total - a.machine.total) / TICK / secs;
  return {
    server_pct: pct(b.server - a.server),
    postgres_pct: pct(b.postgres - a.postgres),
    bench_process_pct: pct(b.self - a.self),
    machine_busy_pct_of_all_cores: Number(((100 * (b.machine.busy - a.machine.busy)) / Math.max(1, b.machine.total - a.machine.total)).toFixed(1)),
    cores: Math.round(cores),
  };
}
