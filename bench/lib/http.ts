// A minimal keep-alive HTTP client for benchmarks (node:http, one Agent with as many sockets as
// the caller needs), and a bounded-concurrency runner for set-up work.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface RawResponse {
  status: number;
  body: Buffer;
  /** performance.now() when the whole body had arrived. */
  endedAt: number;
}

export class BenchHttp {
  readonly agent: Agent;

  constructor(
    readonly port: number,
    maxSockets = 64,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
  }

  /** Sends a request; the response body is not parsed (callers time the arrival). */
  raw(method: string, path: string, token?: string, body?: unknown, onSent?: () => void): Promise<RawResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    }
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), endedAt: performance.now() }));
        res.on('error', reject);
      });
      req.on('error', reject);
      if (onSent) req.on('finish', onSent);
      req.end(payload);
    });
  }

  /** JSON request; throws unless the status is one of `ok`. */
  async json<T = Record<string, unknown>>(method: string, path: string, token?: string, body?: unknown, ok: number[] = [200]): Promise<{ status: number; body: T }> {
    const r = await this.raw(method, path, token, body);
    const text = r.body.toString('utf8');
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // keep the text for the error
    }
    if (!ok.includes(r.status)) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
    return { status: r.status, body: parsed as T };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `work(i)` for i in [0, n) with at most `concurrency` at once; returns results in order. */
export async function runPool<T>(n: number, concurrency: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < n; i = next++) out[i] = await work(i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  return out;
}

/** The q-quantile (0..1) of `xs` by the nearest-rank method; NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
