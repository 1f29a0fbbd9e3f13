// An open-loop load generator: requests start on a fixed schedule (rate per second) whatever
// the responses do, so latency at a given rate is measured without the bursts of a per-second
// quota (autocannon's overallRate sends each second's quota back to back) and without
// coordinated omission (latency counts from when a request was due, not when it went out).
import { performance } from 'node:perf_hooks';
import type { BenchHttp } from './http.js';

export interface PacedResult {
  target_rate: number;
  achieved_rate: number;
  sent: number;
  ok: number;
  non_2xx: number;
  errors: number;
  /** Milliseconds from each request's due time to its whole response. */
  latencies: number[];
  /** Worst lag of the generator itself behind the schedule (client-side CPU pressure). */
  max_schedule_lag_ms: number;
}

export async function paced(
  http: BenchHttp,
  rate: number,
  durationS: number,
  makeRequest: (i: number) => { method: string; path: string; token: string; body: unknown },
): Promise<PacedResult> {
  const total = Math.round(rate * durationS);
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let maxLag = 0;
  const inflight = new Set<Promise<void>>();
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) * rate) / 1000) + 1);
      for (; sent < due; sent++) {
        const dueAt = start + (sent * 1000) / rate;
        maxLag = Math.max(maxLag, now - dueAt);
        const r = makeRequest(sent);
        const p = http.raw(r.method, r.path, r.token, r.body).then(
          (res) => {
            latencies.push(res.endedAt - dueAt);
            if (res.status >= 200 && res.status < 300) ok++;
            else non2xx++;
          },
          () => {
            errors++;
          },
        );
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
  });
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1000;
  return { target_rate: rate, achieved_rate: ok / elapsed, sent, ok, non_2xx: non2xx, errors, latencies, max_schedule_lag_ms: maxLag };
}
