// Binds the router to uWebSockets.js: reads headers and body within uWS's rules (headers only
// during the callback, body chunks copied before the callback returns, nothing written after
// an abort), caps body size, and writes corked responses.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import uws from 'uWebSockets.js';
import type { Logger } from 'pino';
import { ProxyTrust } from './client-address.js';
import { MatrixError, serverBusy, tooLarge, unknownError } from './errors.js';
import { parseJsonBody } from './json.js';
import { validateRequest } from './validate.js';
import type { Router, Route } from './router.js';
import type { BodyGrant, Request, Response } from './types.js';

export interface FrontEndOptions {
  maxJsonBytes: number;
  maxRequestBytes: number;
  /** Addresses and CIDR ranges whose X-Forwarded-For is believed on `x_forwarded` listeners. */
  trustedProxies?: readonly string[];
}

export interface ListenerOptions {
  /** The listener sits behind a reverse proxy that sets X-Forwarded-For (Synapse's `x_forwarded`). */
  xForwarded?: boolean;
}

// Written on every response: as bytes, which uWS reads in place, where a JS string would be
// converted (and allocated) in native code for each call.
const CORS_HEADERS: Array<[Buffer, Buffer]> = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE, OPTIONS'],
  ['Access-Control-Allow-Headers', 'X-Requested-With, Content-Type, Authorization'],
  // Lets a browser client read the id it can quote in a report.
  ['Access-Control-Expose-Headers', 'X-Request-Id'],
].map(([k, v]) => [Buffer.from(k!, 'latin1'), Buffer.from(v!, 'latin1')]);
const CONTENT_TYPE = Buffer.from('Content-Type', 'latin1');
const X_REQUEST_ID = Buffer.from('X-Request-Id', 'latin1');
const APPLICATION_JSON = Buffer.from('application/json', 'latin1');

const statusLines = new Map<number, Buffer>();
function statusLine(code: number): Buffer {
  let line = statusLines.get(code);
  if (!line) statusLines.set(code, (line = Buffer.from(`${code} ${STATUS_CODES[code] ?? 'Unknown'}`, 'latin1')));
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
  /** For the access log. */
  id: string;
  started: number;
  method: string;
  path: string;
  query: string;
  request?: Request;
  /** The unexpected error behind a 500, logged on its access line. */
  error?: unknown;
  /** Runs when the client goes away before the response (a streamed body frees its file). */
  onAbort?: () => void;
  /** The body is left unread: the response announces the close but leaves it to uWS (see refuseUnread). */
  linger?: boolean;
}

// Request ids: a random per-process prefix and a counter, unique enough to grep for and cheap.
const ID_PREFIX = randomBytes(4).toString('hex');
let idCounter = 0;
const nextRequestId = () => `${ID_PREFIX}-${(++idCounter).toString(36)}`;

/** Query parameters that carry credentials; their values never reach the logs. */
const SECRET_PARAMS = /(^|&)(access_token|token|login_token|loginToken|client_secret|password|sid)=[^&]*/g;

/** The path and query as logged: secrets in the query string replaced by "<redacted>". */
export function loggablePath(path: string, query: string): string {
  if (query === '') return path;
  return `${path}?${query.replace(SECRET_PARAMS, '$1$2=<redacted>')}`;
}

export class HttpFrontEnd {
  private inFlight = 0;
  private drainWaiters: Array<() => void> = [];
  private readonly listenSockets: uws.us_listen_socket[] = [];
  /** False while the server starts (see `hold`). */
  private serving = true;
  private readonly proxies: ProxyTrust;

  constructor(
    private readonly router: Router,
    private readonly log: Logger,
    private readonly options: FrontEndOptions,
  ) {
    this.proxies = new ProxyTrust(options.trustedProxies ?? []);
  }

  /** Routes every request of `app` through this front end. */
  attach(app: uws.TemplatedApp, listener: ListenerOptions = {}): uws.TemplatedApp {
    const xForwarded = listener.xForwarded ?? false;
    return app.any('/*', (res, req) => this.onRequest(res, req, xForwarded));
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

  private onRequest(res: uws.HttpResponse, req: uws.HttpRequest, xForwarded: boolean): void {
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const rawQuery = req.getQuery() ?? '';
    const headers: Record<string, string> = {};
    req.forEach((k, v) => {
      headers[k] = v;
    });
    this.inFlight++;
    const state: Pending = { aborted: false, done: false, id: nextRequestId(), started: performance.now(), method, path, query: rawQuery };
    res.onAborted(() => {
      state.aborted = true;
      state.controller?.abort();
      state.onAbort?.();
      if (!state.done) {
        state.done = true;
        this.finished();
        this.logAborted(state);
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
      remoteAddress: this.clientAddress(res, headers, xForwarded),
      id: state.id,
      log: {},
      // Created on first use: most handlers never look at it.
      get signal() {
        state.controller ??= new AbortController();
        if (state.aborted) state.controller.abort();
        return state.controller.signal;
      },
    };

    state.request = request;
    if (bodyMode === 'none') {
      this.run(res, state, route, request);
      return;
    }
    const cap = route.options.maxBytes ?? (bodyMode === 'json' ? this.options.maxJsonBytes : this.options.maxRequestBytes);
    const declared = headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
    if (declared !== undefined && declared > cap) {
      // Refuse before reading a byte of it.
      return this.refuseUnread(res, state, tooLarge(), false);
    }
    if (bodyMode === 'stream') return this.streamBody(res, state, route, request, cap, declared);
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

  /**
   * A streamed body. `authorize` runs first, with the socket paused, so a refused upload costs no
   * reading and no memory; an allowed one is written to a temporary file chunk by chunk, pausing
   * the socket whenever the disk falls behind, and the handler runs once it is all on disk.
   */
  private streamBody(res: uws.HttpResponse, state: Pending, route: Route, request: Request, cap: number, declared: number | undefined): void {
    const { method, path } = request;
    const authorize = route.options.authorize;
    if (!authorize) return this.sendError(res, state, new Error(`route ${route.pattern} streams its body but has no authorize`), method, path, true);
    let grant: BodyGrant | undefined;
    let file: ReturnType<typeof createWriteStream> | undefined;
    let tmpPath: string | undefined;
    const hash = createHash('sha256');
    // Chunks that arrived while authorize ran: at most what uWS had read before the pause.
    const early: Buffer[] = [];
    let sawLast = false;
    let received = 0;
    let stopped = false; // refused, failed or aborted: ignore further data
    let paused = true;
    let handlerStarted = false;

    let cleaned = false;
    const cleanup = () => {
      if (cleaned) return;
      cleaned = true;
      file?.destroy();
      if (tmpPath) rm(tmpPath, { force: true }).catch((e: unknown) => this.log.warn({ err: e, path: tmpPath }, 'could not remove an upload temporary file'));
      grant?.release();
    };
    const resume = () => {
      if (paused && !state.aborted) {
        paused = false;
        res.resume();
      }
    };
    const refuse = (e: unknown) => {
      if (stopped) return;
      stopped = true;
      if (paused) this.refuseUnread(res, state, e, true);
      else this.sendError(res, state, e, method, path, true);
      cleanup();
    };
    // Once the handler runs it owns the file until it returns; before that, an abort frees it.
    state.onAbort = () => {
      stopped = true;
      if (!handlerStarted) cleanup();
    };
    const accept = (chunk: Buffer) => {
      received += chunk.length;
      if (received > cap || received > grant!.maxBytes) return refuse(grant!.overLimit?.() ?? tooLarge());
      hash.update(chunk);
      if (!file!.write(chunk) && !paused) {
        paused = true;
        res.pause();
        file!.once('drain', resume);
      }
    };
    const complete = () => {
      stopped = true;
      // A paused socket would also hold back the connection's next request.
      resume();
      file!.end((err?: Error | null) => {
        if (state.aborted || cleaned) return cleanup();
        if (err) {
          this.sendError(res, state, err, method, path, true);
          return cleanup();
        }
        request.upload = { path: tmpPath!, size: received, sha256: hash.digest() };
        handlerStarted = true;
        this.run(res, state, route, request, cleanup, true);
      });
    };

    res.onData((ab, isLast) => {
      if (stopped || state.aborted) return;
      // The chunk's memory belongs to uWS and is reused after this callback: copy it now.
      const chunk = Buffer.copyBytesFrom(new Uint8Array(ab));
      if (!file) {
        if (chunk.length) early.push(chunk);
        sawLast ||= isLast;
        return;
      }
      if (chunk.length) accept(chunk);
      if (isLast && !stopped) complete();
    });
    res.pause();

    // Parameters and query are checked before authorize too, so a bad request reads no body.
    new Promise<BodyGrant>((resolve) => {
      validateRequest(route.options.schema, request);
      resolve(authorize(request, declared));
    }).then(
      (g) => {
        grant = g;
        if (state.aborted || stopped) return cleanup();
        tmpPath = join(g.dir, `upload-${randomBytes(9).toString('hex')}`);
        file = createWriteStream(tmpPath, { flags: 'wx', highWaterMark: 1 << 20 });
        file.on('error', (e) => refuse(e)); // after complete(), end's callback reports it
        for (const c of early.splice(0)) {
          accept(c);
          if (stopped) return;
        }
        if (sawLast) complete();
        else resume();
      },
      (e: unknown) => refuse(e),
    );
  }

  /**
   * Answers with `e` and never reads the body. Closing at once with unread data would make the
   * kernel send a reset, which can destroy the answer before a client that is still sending has
   * read it. So the socket stays paused (the kernel's buffers, not ours, hold what the client
   * sends), the answer says Connection: close, and uWS's idle timeout (10 s) closes it if the
   * client does not.
   */
  private refuseUnread(res: uws.HttpResponse, state: Pending, e: unknown, paused: boolean): void {
    if (state.aborted) return;
    if (!paused) res.pause();
    state.linger = true;
    this.sendError(res, state, e, state.method, state.path, true);
  }

  /** `validated`: the schema was checked already (streamed bodies check it before authorize). */
  private run(res: uws.HttpResponse, state: Pending, route: Route, request: Request, after?: () => void, validated = false): void {
    let result: Response | Promise<Response>;
    try {
      if (!validated) validateRequest(route.options.schema, request);
      result = route.handler(request);
    } catch (e) {
      this.sendError(res, state, e, request.method, request.path);
      return after?.();
    }
    if (result instanceof Promise) {
      result
        .then(
          (r) => this.send(res, state, r, request.method),
          (e) => this.sendError(res, state, e, request.method, request.path),
        )
        .finally(after);
    } else {
      this.send(res, state, result, request.method);
      after?.();
    }
  }

  /** The peer's address, or the client's behind a trusted proxy on an `x_forwarded` listener. */
  private clientAddress(res: uws.HttpResponse, headers: Record<string, string>, xForwarded: boolean): string {
    const peer = Buffer.from(res.getRemoteAddressAsText()).toString();
    return xForwarded ? this.proxies.clientAddress(peer, headers['x-forwarded-for']) : peer;
  }

  /** One line per request: 2xx/3xx at info, 4xx at debug, 5xx at error with what went wrong. */
  private logAccess(state: Pending, status: number): void {
    const level = status >= 500 ? 'error' : status >= 400 ? 'debug' : 'info';
    if (!this.log.isLevelEnabled(level)) return;
    const line: Record<string, unknown> = {
      req_id: state.id,
      method: state.method,
      path: loggablePath(state.path, state.query),
      status,
      ms: Math.round((performance.now() - state.started) * 10) / 10,
    };
    const req = state.request;
    if (req) {
      line.ip = req.remoteAddress;
      if (req.log.user !== undefined) line.user = req.log.user;
    }
    if (state.error !== undefined) {
      const e = state.error;
      // Not under `err`: pino's serializer for that key would always add the stack.
      line.error = e instanceof Error ? { type: e.name, message: e.message, ...(this.log.isLevelEnabled('debug') ? { stack: e.stack } : {}) } : { message: String(e) };
    }
    this.log[level](line, status >= 500 ? 'request failed' : 'request');
  }

  private logAborted(state: Pending): void {
    if (!this.log.isLevelEnabled('debug')) return;
    this.log.debug({ req_id: state.id, method: state.method, path: loggablePath(state.path, state.query), ms: Math.round(performance.now() - state.started), user: state.request?.log.user }, 'client went away before the response');
  }

  private sendError(res: uws.HttpResponse, state: Pending, e: unknown, method: string, path: string, close = false): void {
    let err: MatrixError;
    if (e instanceof MatrixError) {
      err = e;
    } else {
      // Logged on the request's access line; the client gets only the id to quote.
      state.error = e;
      if (state.aborted || state.done) this.log.error({ req_id: state.id, method, path, err: e }, 'unhandled error after the response');
      err = unknownError(`Internal server error (request ${state.id})`);
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
      res.writeHeader(X_REQUEST_ID, state.id);
      if (contentType) res.writeHeader(CONTENT_TYPE, contentType === 'application/json' ? APPLICATION_JSON : contentType);
      let close = false;
      if (r.headers) {
        for (const [k, v] of Object.entries(r.headers)) {
          if (k === 'Content-Type') continue;
          if (k === 'Connection' && v === 'close' && !state.linger) close = true;
          else res.writeHeader(k, v);
        }
      }
      if (method === 'HEAD') res.endWithoutBody(Buffer.byteLength(payload), close);
      else res.end(payload, close);
    });
    this.finished();
    this.logAccess(state, status);
  }
}
