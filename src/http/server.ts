// Binds the router to uWebSockets.js: reads headers and body within uWS's rules (headers only
// during the callback, body chunks copied before the callback returns, nothing written after
// an abort), caps body size, and writes corked responses.
import { STATUS_CODES } from 'node:http';
import uws from 'uWebSockets.js';
import type { Logger } from 'pino';
import { MatrixError, serverBusy, tooLarge, unknownError } from './errors.js';
import { parseJsonBody } from './json.js';
import { validateRequest } from './validate.js';
import type { Router, Route } from './router.js';
import type { Request, Response } from './types.js';

export interface FrontEndOptions {
  maxJsonBytes: number;
  maxRequestBytes: number;
}

const CORS_HEADERS: Array<[string, string]> = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE, OPTIONS'],
  ['Access-Control-Allow-Headers', 'X-Requested-With, Content-Type, Authorization'],
];

const statusLines = new Map<number, string>();
function statusLine(code: number): string {
  let line = statusLines.get(code);
  if (!line) statusLines.set(code, (line = `${code} ${STATUS_CODES[code] ?? 'Unknown'}`));
  return line;
}

const EMPTY = Buffer.alloc(0);

// uWS's ListenOptions value (not exported at run time by this build).
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;

/** A listen socket could not be bound: the port is taken or the address is not ours. */
export class ListenError extends Error {
  override name = 'ListenError';
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(`cannot listen on ${host}:${port}: the port is in use (is another Lattice running?) or the address is not available`);
  }
}

interface Pending {
  aborted: boolean;
  done: boolean;
  controller?: AbortController;
}

export class HttpFrontEnd {
  private inFlight = 0;
  private drainWaiters: Array<() => void> = [];
  private readonly listenSockets: uws.us_listen_socket[] = [];
  /** False while the server starts (see `hold`). */
  private serving = true;

  constructor(
    private readonly router: Router,
    private readonly log: Logger,
    private readonly options: FrontEndOptions,
  ) {}

  /** Routes every request of `app` through this front end. */
  attach(app: uws.TemplatedApp): uws.TemplatedApp {
    return app.any('/*', (res, req) => this.onRequest(res, req));
  }

  /**
   * Listens exclusively: uWS sets SO_REUSEPORT by default, which would let a second server
   * bind the same port and the kernel split requests between two servers with different keys.
   */
  listen(app: uws.TemplatedApp, host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const listenExclusive = app.listen as unknown as (h: string, p: number, options: number, cb: (t: uws.us_listen_socket | false) => void) => void;
      listenExclusive.call(app, host, port, LIBUS_LISTEN_EXCLUSIVE_PORT, (token) => {
        if (!token) return reject(new ListenError(host, port));
        this.listenSockets.push(token);
        resolve(uws.us_socket_local_port(token));
      });
    });
  }

  /** Answers every request with 503 until `open`: the port is already ours, the routes not yet. */
  hold(): void {
    this.serving = false;
  }

  open(): void {
    this.serving = true;
  }

  /** Stops accepting connections, then waits for in-flight requests (up to `timeoutMs`). */
  async close(timeoutMs = 10_000): Promise<void> {
    for (const s of this.listenSockets.splice(0)) uws.us_listen_socket_close(s);
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private finished(): void {
    if (--this.inFlight === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  private onRequest(res: uws.HttpResponse, req: uws.HttpRequest): void {
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const rawQuery = req.getQuery() ?? '';
    const headers: Record<string, string> = {};
    req.forEach((k, v) => {
      headers[k] = v;
    });
    this.inFlight++;
    const state: Pending = { aborted: false, done: false };
    res.onAborted(() => {
      state.aborted = true;
      state.controller?.abort();
      if (!state.done) {
        state.done = true;
        this.finished();
      }
    });

    if (!this.serving) return this.sendError(res, state, serverBusy('The server is starting'), method, path);

    if (method === 'OPTIONS') {
      // The spec forbids endpoint logic for OPTIONS: answer with the CORS headers only.
      return this.send(res, state, { status: 204 }, method);
    }

    let route: Route;
    let params: Record<string, string>;
    try {
      ({ route, params } = this.router.match(method, path));
    } catch (e) {
      return this.sendError(res, state, e, method, path);
    }

    const bodyMode = route.options.body ?? (method === 'GET' || method === 'HEAD' || method === 'DELETE' ? 'none' : 'json');
    const request: Request = {
      method,
      path,
      params,
      query: new URLSearchParams(rawQuery),
      headers,
      body: EMPTY,
      json: undefined,
      remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
      // Created on first use: most handlers never look at it.
      get signal() {
        state.controller ??= new AbortController();
        if (state.aborted) state.controller.abort();
        return state.controller.signal;
      },
    };

    if (bodyMode === 'none') {
      this.run(res, state, route, request);
      return;
    }
    const cap = route.options.maxBytes ?? (bodyMode === 'json' ? this.options.maxJsonBytes : this.options.maxRequestBytes);
    const declared = headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
    if (declared !== undefined && declared > cap) {
      // Refuse before reading a byte of it; uWS drops the connection's unread body.
      return this.sendError(res, state, tooLarge(), method, path, true);
    }
    this.readBody(res, state, cap, declared, (body) => {
      request.body = body;
      if (bodyMode === 'json') {
        try {
          request.json = parseJsonBody(body);
        } catch (e) {
          return this.sendError(res, state, e, method, path);
        }
      }
      this.run(res, state, route, request);
    }, () => this.sendError(res, state, tooLarge(), method, path, true));
  }

  private readBody(
    res: uws.HttpResponse,
    state: Pending,
    cap: number,
    declared: number | undefined,
    onBody: (body: Buffer) => void,
    onTooLarge: () => void,
  ): void {
    const exact = declared !== undefined && Number.isSafeInteger(declared) && declared >= 0 ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let refused = false;
    res.onData((chunk, isLast) => {
      if (state.aborted || refused) return;
      const n = chunk.byteLength;
      if (received + n > cap || (exact && received + n > exact.length)) {
        refused = true;
        return onTooLarge();
      }
      // The chunk's memory belongs to uWS and is reused after this callback: copy it now.
      if (exact) Buffer.from(chunk).copy(exact, received);
      else chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
      received += n;
      if (isLast) onBody(exact ? exact.subarray(0, received) : Buffer.concat(chunks, received));
    });
  }

  private run(res: uws.HttpResponse, state: Pending, route: Route, request: Request): void {
    let result: Response | Promise<Response>;
    try {
      validateRequest(route.options.schema, request);
      result = route.handler(request);
    } catch (e) {
      return this.sendError(res, state, e, request.method, request.path);
    }
    if (result instanceof Promise) {
      result.then(
        (r) => this.send(res, state, r, request.method),
        (e) => this.sendError(res, state, e, request.method, request.path),
      );
    } else {
      this.send(res, state, result, request.method);
    }
  }

  private sendError(res: uws.HttpResponse, state: Pending, e: unknown, method: string, path: string, close = false): void {
    let err: MatrixError;
    if (e instanceof MatrixError) {
      err = e;
    } else {
      this.log.error({ err: e, method, path }, 'unhandled error in request handler');
      err = unknownError();
    }
    const headers: Record<string, string> = close ? { ...err.headers, Connection: 'close' } : err.headers;
    this.send(res, state, { status: err.status, body: err.toJSON(), headers }, method);
  }

  private send(res: uws.HttpResponse, state: Pending, r: Response, method: string): void {
    if (state.aborted || state.done) return;
    state.done = true;
    const status = r.status ?? 200;
    let payload: string | Buffer;
    let contentType: string | undefined = r.headers?.['Content-Type'];
    if (r.body === undefined || r.body === null) payload = '';
    else if (Buffer.isBuffer(r.body) || typeof r.body === 'string') payload = r.body;
    else {
      payload = JSON.stringify(r.body);
      contentType ??= 'application/json';
    }
    res.cork(() => {
      res.writeStatus(statusLine(status));
      for (const [k, v] of CORS_HEADERS) res.writeHeader(k, v);
      if (contentType) res.writeHeader('Content-Type', contentType);
      let close = false;
      if (r.headers) {
        for (const [k, v] of Object.entries(r.headers)) {
          if (k === 'Content-Type') continue;
          if (k === 'Connection' && v === 'close') close = true;
          else res.writeHeader(k, v);
        }
      }
      if (method === 'HEAD') res.endWithoutBody(Buffer.byteLength(payload), close);
      else res.end(payload, close);
    });
    this.finished();
  }
}
