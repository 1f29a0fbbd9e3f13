// A small Client-Server API client for HTTP-level tests: requests with or without a token,
// registration (through the m.login.dummy flow, so the server needs enable_registration) and
// password login.

/** Response bodies are whatever JSON the server sent; tests check the fields they need. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface ApiResponse {
  status: number;
  body: Json;
  headers: Headers;
}

export interface RequestOptions {
  /** Overrides the client's own token; null sends none. */
  token?: string | null;
  headers?: Record<string, string>;
  /** Sent as is instead of JSON-encoding `body`. */
  rawBody?: string;
}

const CLIENT_PREFIX = '/_matrix/client/v3';

export class TestClient {
  constructor(
    readonly baseUrl: string,
    public accessToken?: string,
    public userId?: string,
    public deviceId?: string,
  ) {}

  /** `path` is under /_matrix/client/v3 unless it starts with /_matrix or /_synapse. */
  async request(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<ApiResponse> {
    const url = this.baseUrl + (/^\/(_matrix|_synapse|\.well-known)\//.test(path) ? path : CLIENT_PREFIX + path);
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? this.accessToken : opts.token;
    if (token) headers.Authorization = `Bearer ${token}`;
    let payload: string | undefined = opts.rawBody;
    if (payload === undefined && body !== undefined) {
      payload = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(url, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.text();
    let parsed: Json = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  get(path: string, opts?: RequestOptions) {
    return this.request('GET', path, undefined, opts);
  }
  post(path: string, body: unknown = {}, opts?: RequestOptions) {
    return this.request('POST', path, body, opts);
  }
  put(path: string, body: unknown = {}, opts?: RequestOptions) {
    return this.request('PUT', path, body, opts);
  }
  delete(path: string, body?: unknown, opts?: RequestOptions) {
    return this.request('DELETE', path, body, opts);
  }

  /** The m.login.password auth dict for user-interactive auth as this client's user. */
  passwordAuth(password: string, session?: string): Record<string, unknown> {
    return { type: 'm.login.password', identifier: { type: 'm.id.user', user: this.userId }, password, ...(session ? { session } : {}) };
  }
}

function expectOk(what: string, r: ApiResponse): void {
  if (r.status !== 200) throw new Error(`${what} failed: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Registers `username` through the dummy flow and returns a client logged in as the new user. */
export async function registerUser(
  baseUrl: string,
  username: string,
  password = 'correct horse battery staple',
  extra: Record<string, unknown> = {},
): Promise<TestClient> {
  const anon = new TestClient(baseUrl);
  const first = await anon.post('/register', { username, password, ...extra });
  if (first.status !== 401) throw new Error(`register ${username}: expected 401 with flows, got ${first.status} ${JSON.stringify(first.body)}`);
  const done = await anon.post('/register', { username, password, ...extra, auth: { type: 'm.login.dummy', session: first.body.session } });
  expectOk(`register ${username}`, done);
  return new TestClient(baseUrl, done.body.access_token, done.body.user_id, done.body.device_id);
}

/** Logs in with a password (user is a localpart or a full user id). */
export async function login(baseUrl: string, user: string, password: string, extra: Record<string, unknown> = {}): Promise<TestClient> {
  const r = await new TestClient(baseUrl).post('/login', {
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user },
    password,
    ...extra,
  });
  expectOk(`login ${user}`, r);
  return new TestClient(baseUrl, r.body.access_token, r.body.user_id, r.body.device_id);
}
