// A lean client for thousands of concurrent long-polls: one keep-alive socket per poller, the
// request written as one pre-built buffer, and on the way back only the header end and
// Content-Length are looked at. The body is kept as bytes and examined after the measurement,
// so the load generator spends its CPU on the socket reads alone while syncs are returning.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = Buffer.from('Content-Length:');
const CONTENT_LENGTH_LC = Buffer.from('content-length:');

export interface PollResult {
  status: number;
  body: Buffer;
  endedAt: number;
}

class Poller {
  private socket: Socket | undefined;
  private chunks: Buffer[] = [];
  private bytes = 0;
  private want = -1;
  private headerLen = 0;
  result: PollResult | undefined;
  private onDone: ((r: PollResult) => void) | undefined;
  private onError: ((e: Error) => void) | undefined;

  constructor(private readonly port: number) {}

  private closed = true;

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: this.port, noDelay: true }, () => resolve());
      this.closed = false;
      s.once('error', reject);
      s.on('error', (e) => this.onError?.(e));
      s.on('close', () => {
        this.closed = true;
        this.chunks = [];
        this.bytes = 0;
        this.want = -1;
        this.onError?.(new Error('connection closed'));
      });
      s.on('data', (c: Buffer) => this.data(c));
      this.socket = s;
    });
  }

  private data(c: Buffer): void {
    this.chunks.push(c);
    this.bytes += c.length;
    if (this.want < 0) {
      const buf = this.chunks.length === 1 ? c : Buffer.concat(this.chunks);
      const end = buf.indexOf(HEADER_END);
      if (end < 0) return;
      // The only header read (uWS writes it capitalised).
      const head = buf.subarray(0, end);
      let at = head.indexOf(CONTENT_LENGTH);
      if (at < 0) at = head.indexOf(CONTENT_LENGTH_LC);
      if (at < 0) return this.onError?.(new Error(`no content-length: ${buf.toString('latin1', 0, Math.min(end, 200))}`));
      let n = 0;
      for (let i = at + CONTENT_LENGTH.length; i < end; i++) {
        const d = buf[i]!;
        if (d >= 48 && d <= 57) n = n * 10 + (d - 48);
        else if (d === 13) break;
      }
      this.headerLen = end + 4;
      this.want = this.headerLen + n;
      this.chunks = [buf];
    }
    if (this.bytes < this.want) return;
    const endedAt = performance.now();
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const status = (buf[9]! - 48) * 100 + (buf[10]! - 48) * 10 + (buf[11]! - 48);
    const r: PollResult = { status, body: buf.subarray(this.headerLen, this.want), endedAt };
    this.chunks = [];
    this.bytes = 0;
    this.want = -1;
    this.result = r;
    const done = this.onDone;
    this.onDone = this.onError = undefined;
    done?.(r);
  }

  /** Sends on the open socket, reconnecting first if the server closed it while idle (uWS does after 10 s). */
  async send(request: Buffer): Promise<PollResult> {
    this.result = undefined;
    if (this.closed) await this.open();
    return new Promise((resolve, reject) => {
      this.onDone = resolve;
      this.onError = reject;
      this.socket!.write(request);
    });
  }

  close(): void {
    this.onError = undefined;
    this.socket?.destroy();
  }
}

/** Rejects after `ms`: a bench round must end by itself even if a reply never comes. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: no reply within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

export class LongPollers {
  readonly pollers: Poller[] = [];

  private constructor(readonly port: number) {}

  /** Opens `n` sockets, `concurrency` connects at a time (a burst of 10,000 SYNs overflows the listen backlog). */
  static async open(port: number, n: number, concurrency = 256): Promise<LongPollers> {
    const lp = new LongPollers(port);
    for (let i = 0; i < n; i++) lp.pollers.push(new Poller(port));
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < n; i = next++) await lp.pollers[i]!.open();
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
    return lp;
  }

  /** Writes `request` on poller `i`; resolves with its response. */
  send(i: number, request: Buffer): Promise<PollResult> {
    return this.pollers[i]!.send(request);
  }

  /** The response poller `i` has had since its last send, if any. */
  returned(i: number): PollResult | undefined {
    return this.pollers[i]!.result;
  }

  close(): void {
    for (const p of this.pollers) p.close();
  }
}

export function getRequest(port: number, path: string, token: string): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\n\r\n`, 'latin1');
}

/** This process's soft limit on open files (a socket each). */
export function openFileLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}
