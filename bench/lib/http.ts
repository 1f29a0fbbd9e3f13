// A minimal keep-alive HTTP/1.1 client for benchmarks, on plain TCP sockets: it writes requests
// and reads Content-Length responses and nothing more. node:http costs the load generator up to
// half a core at 1,000 requests/s on this 2-core machine, CPU taken from the server under test
// and time added to every latency measured; this costs a small fraction of that.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface RawResponse {
  status: number;
  body: Buffer;
  /** performance.now() when the whole body had arrived. */
  endedAt: number;
}

interface InFlight {
  resolve: (r: RawResponse) => void;
  reject: (e: Error) => void;
  /** Retried once on a fresh connection if a reused one turns out closed before any reply. */
  retry?: () => void;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection carrying one request at a time. */
class Conn {
  readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private current: InFlight | undefined;
  private gotBytes = false;
  closed = false;
  reused = false;

  constructor(port: number, onIdle: (c: Conn) => void, onClose: (c: Conn) => void) {
    this.socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.gotBytes = true;
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      let r: RawResponse | undefined;
      try {
        r = this.parse();
      } catch (e) {
        this.socket.destroy(e as Error);
        return;
      }
      if (!r) return;
      const cur = this.current!;
      this.current = undefined;
      this.gotBytes = false;
      this.reused = true;
      cur.resolve(r);
      onIdle(this);
    });
    const fail = (e: Error) => {
      if (this.closed) return;
      this.closed = true;
      onClose(this);
      const cur = this.current;
      this.current = undefined;
      if (!cur) return;
      if (cur.retry && this.reused && !this.gotBytes) cur.retry();
      else cur.reject(e);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  send(bytes: Buffer, inflight: InFlight): void {
    this.current = inflight;
    this.socket.write(bytes);
  }

  private parse(): RawResponse | undefined {
    const end = this.buf.indexOf(HEADER_END);
    if (end < 0) return undefined;
    const head = this.buf.toString('latin1', 0, end);
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!m) throw new Error(`response without Content-Length: ${head.slice(0, 200)}`);
    const total = end + 4 + Number(m[1]);
    if (this.buf.length < total) return undefined;
    const body = this.buf.subarray(end + 4, total);
    const status = Number(head.slice(9, 12));
    this.buf = this.buf.length > total ? this.buf.subarray(total) : Buffer.alloc(0);
    return { status, body, endedAt: performance.now() };
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

export class BenchHttp {
  private readonly idle: Conn[] = [];
  private readonly all = new Set<Conn>();
  private readonly waiting: Array<(c: Conn) => void> = [];

  constructor(
    readonly port: number,
    private readonly maxSockets = 64,
  ) {}

  private acquire(): Promise<Conn> | Conn {
    const c = this.idle.pop();
    if (c) return c;
    if (this.all.size < this.maxSockets) {
      const conn = new Conn(
        this.port,
        (x) => this.release(x),
        (x) => {
          this.all.delete(x);
          const i = this.idle.indexOf(x);
          if (i >= 0) this.idle.splice(i, 1);
        },
      );
      this.all.add(conn);
      return conn;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(c: Conn): void {
    const next = this.waiting.shift();
    if (next) next(c);
    else this.idle.push(c);
  }

  /** Sends a request; the response body is not parsed (callers time the arrival). */
  raw(method: string, path: string, token?: string, body?: unknown): Promise<RawResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    let head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${this.port}\r\n`;
    if (token) head += `Authorization: Bearer ${token}\r\n`;
    if (payload) head += `Content-Type: application/json\r\n`;
    head += `Content-Length: ${payload?.length ?? 0}\r\n\r\n`;
    const bytes = payload ? Buffer.concat([Buffer.from(head, 'latin1'), payload]) : Buffer.from(head, 'latin1');
    return new Promise((resolve, reject) => {
      const go = (retried: boolean) => {
        const got = this.acquire();
        const send = (c: Conn) => c.send(bytes, { resolve, reject, ...(retried ? {} : { retry: () => go(true) }) });
        if (got instanceof Conn) send(got);
        else void got.then(send);
      };
      go(false);
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
    for (const c of this.all) c.close();
    this.all.clear();
    this.idle.length = 0;
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
