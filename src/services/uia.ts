// User-Interactive Authentication: the server offers flows (lists of stages), the client
// completes the stages of one flow in order within a session, then the request goes through.
// Sessions live in memory, are bound to one operation and one user, expire, and are used up
// when their flow completes.
import { encodeBase64Url } from '../crypto/base64.js';
import { MatrixError, forbidden } from '../http/errors.js';
import { type AccountService, identifiedUserId } from './accounts.js';
import { randomBytes } from './auth.js';
import type { RateLimiter } from './rate-limit.js';

export interface UiaFlow {
  stages: string[];
}

/** What a completed stage proved: the user it authenticated, if any. */
export interface StageResult {
  userId?: string;
}

/** Checks one stage's auth dict; throws a MatrixError when the attempt fails. */
export type StageHandler = (auth: Record<string, unknown>, ctx: { userId: string | null }) => Promise<StageResult>;

/**
 * The 401 that asks for (more) authentication: flows, params, session and completed stages,
 * plus errcode/error when the last attempt failed.
 */
export class UiaChallenge extends MatrixError {
  constructor(body: Record<string, unknown>, errcode = '', message = 'Authentication required') {
    super(401, errcode, message, body);
  }

  override toJSON(): Record<string, unknown> {
    return this.errcode === '' ? { ...this.extra } : super.toJSON();
  }
}

interface UiaSession {
  id: string;
  op: string;
  flows: UiaFlow[];
  userId: string | null;
  completed: string[];
  created: number;
  /** The user a password stage authenticated. */
  proven?: string;
}

export interface UiaOptions {
  ttlMs?: number;
  maxSessions?: number;
  now?: () => number;
}

export interface UiaRequest {
  /** Names the operation; a session started for one operation cannot complete another. */
  op: string;
  flows: UiaFlow[];
  /** The authenticated requester, if any: password stages must then prove this same user. */
  userId: string | null;
}

export class Uia {
  private readonly sessions = new Map<string, UiaSession>();
  private readonly ttlMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;

  constructor(
    private readonly stages: Record<string, StageHandler>,
    opts: UiaOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 15 * 60_000;
    this.maxSessions = opts.maxSessions ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Resolves when `body.auth` completes a flow (to the user a stage proved, else the
   * requester); otherwise throws the 401 challenge, or another error for a bad request.
   */
  async authenticate(body: Record<string, unknown>, req: UiaRequest): Promise<{ userId: string | null }> {
    for (const f of req.flows) for (const s of f.stages) if (!this.stages[s]) throw new Error(`no handler for UIA stage ${s}`);
    const auth = body.auth;
    if (auth === undefined || auth === null) throw this.challenge(this.newSession(req));
    if (typeof auth !== 'object' || Array.isArray(auth)) throw new MatrixError(400, 'M_BAD_JSON', 'auth must be an object');
    const dict = auth as Record<string, unknown>;

    let s: UiaSession;
    if (dict.session !== undefined) {
      if (typeof dict.session !== 'string') throw new MatrixError(400, 'M_BAD_JSON', 'auth.session must be a string');
      const found = this.sessions.get(dict.session);
      if (!found || found.created + this.ttlMs <= this.now()) {
        if (found) this.sessions.delete(found.id);
        throw new MatrixError(400, 'M_UNKNOWN', 'Unknown or expired authentication session');
      }
      if (found.op !== req.op || found.userId !== req.userId) throw forbidden('That authentication session belongs to another request');
      s = found;
    } else {
      s = this.newSession(req);
    }

    const type = dict.type;
    if (type !== undefined && !s.completed.includes(type as string)) {
      if (typeof type !== 'string') throw new MatrixError(400, 'M_BAD_JSON', 'auth.type must be a string');
      if (!nextStages(req.flows, s.completed).has(type)) {
        throw this.challenge(s, 'M_FORBIDDEN', `Authentication type ${type} is not expected at this point of any flow`);
      }
      let result: StageResult;
      try {
        result = await this.stages[type]!(dict, { userId: req.userId });
      } catch (e) {
        // A failed attempt may be retried within the session; rate limiting is not a stage failure.
        if (e instanceof MatrixError && e.status !== 429) throw this.challenge(s, e.errcode, e.message);
        throw e;
      }
      if (result.userId !== undefined) {
        if (s.proven !== undefined && s.proven !== result.userId) throw this.challenge(s, 'M_FORBIDDEN', 'Stages authenticated different users');
        s.proven = result.userId;
      }
      // Another request on this session may have finished it while this one awaited.
      if (!this.sessions.has(s.id)) throw new MatrixError(400, 'M_UNKNOWN', 'Unknown or expired authentication session');
      s.completed.push(type);
    }

    if (req.flows.some((f) => sameStages(f.stages, s.completed))) {
      this.sessions.delete(s.id);
      return { userId: s.proven ?? req.userId };
    }
    throw this.challenge(s);
  }

  private newSession(req: UiaRequest): UiaSession {
    const now = this.now();
    // Sessions are kept in creation order: expired ones are at the front.
    for (const [id, old] of this.sessions) {
      if (old.created + this.ttlMs > now && this.sessions.size < this.maxSessions) break;
      this.sessions.delete(id);
    }
    const s: UiaSession = { id: encodeBase64Url(randomBytes(18)), op: req.op, flows: req.flows, userId: req.userId, completed: [], created: now };
    this.sessions.set(s.id, s);
    return s;
  }

  private challenge(s: UiaSession, errcode?: string, message?: string): UiaChallenge {
    const body: Record<string, unknown> = { flows: s.flows, params: {}, session: s.id };
    if (s.completed.length) body.completed = [...s.completed];
    return new UiaChallenge(body, errcode, message);
  }

}

/** Stages that may come next: those extending `completed` to a prefix of some flow. */
function nextStages(flows: UiaFlow[], completed: string[]): Set<string> {
  const out = new Set<string>();
  for (const f of flows) {
    if (f.stages.length > completed.length && completed.every((c, i) => f.stages[i] === c)) out.add(f.stages[completed.length]!);
  }
  return out;
}

function sameStages(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** m.login.dummy: always succeeds. */
export const dummyStage: StageHandler = async () => ({});

/**
 * m.login.password: an identifier (or legacy `user`) and the password. Failures count against
 * the per-user failure limiter shared with /login.
 */
export function passwordStage(accounts: AccountService, failures: RateLimiter): StageHandler {
  return async (auth, ctx) => {
    const userId = identifiedUserId(auth, accounts.serverName);
    if (ctx.userId !== null && userId !== ctx.userId) throw forbidden('The password must be that of the logged-in user');
    if (typeof auth.password !== 'string') throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing password');
    failures.check(userId);
    if (!(await accounts.checkPassword(userId, auth.password))) {
      failures.consume(userId);
      throw forbidden('Invalid password');
    }
    return { userId };
  };
}
