// Summarises a V8 .cpuprofile (node --cpu-prof): where self time went, by function and by
// source file, so a benchmark can say what dominates without a profiler UI.
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  total_ms: number;
  idle_pct: number;
  top_functions: Array<{ fn: string; self_pct: number }>;
  top_files: Array<{ file: string; self_pct: number }>;
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + 1);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

/**
 * `windows` keeps only the samples taken inside those [start, end] intervals, in microseconds
 * of CLOCK_MONOTONIC (process.hrtime here, V8's profile timestamps in the profiled process), so
 * a benchmark can profile one phase of a long run.
 */
export async function summariseProfile(path: string, top = 25, windows?: ReadonlyArray<readonly [number, number]>): Promise<ProfileSummary> {
  const p = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // Self time per node from the sample stream (more exact than hitCount × interval).
  const self = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  let ts = p.startTime;
  for (let i = 0; i < samples.length; i++) {
    ts += deltas[i] ?? 0;
    if (windows && !windows.some(([a, b]) => ts >= a && ts <= b)) continue;
    const dt = deltas[i + 1] ?? 0;
    self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + dt);
  }
  let total = 0;
  let idle = 0;
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    total += us;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    const file = shortUrl(n.callFrame.url);
    const key = `${name} ${file}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    files.set(file, (files.get(file) ?? 0) + us);
  }
  const pct = (us: number) => Number(((100 * us) / Math.max(1, total)).toFixed(2));
  const best = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    file: path,
    total_ms: Math.round(total / 1000),
    idle_pct: pct(idle),
    top_functions: best(fns).map(([fn, us]) => ({ fn, self_pct: pct(us) })),
    top_files: best(files).map(([file, us]) => ({ file, self_pct: pct(us) })),
  };
}
