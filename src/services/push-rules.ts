// Push rules: the spec's server-default rules merged with each user's own rules and changes,
// the /pushrules API's operations, and the m.push_rules account data event.
import { MatrixError, badJson, notFound } from '../http/errors.js';
import { PushRuleStore } from '../storage/push-rules.js';
import type { ServerContext } from './context.js';
import type { AccountDataService } from './account-data.js';
import { isJsonObject } from './account-data.js';
import { withPositions } from './change-log.js';
import {
  DEFAULT_CONTENT_RULES,
  DEFAULT_OVERRIDE_RULES,
  DEFAULT_UNDERRIDE_RULES,
  MASTER_RULE,
  PUSH_RULE_KINDS,
  USER_ID,
  defaultRule,
  forUser,
  type PushAction,
  type PushCondition,
  type PushRule,
  type PushRuleKind,
} from './push-rules/default-rules.js';

/** What is stored per user. */
interface UserRules {
  /** User-defined rules of each kind, most important first. */
  rules: Partial<Record<PushRuleKind, PushRule[]>>;
  /** Changes to server-default rules by rule id. */
  defaults: Record<string, { enabled?: boolean; actions?: PushAction[] }>;
}

export type Ruleset = Record<PushRuleKind, PushRule[]>;

const KNOWN_ACTIONS = new Set(['notify', 'dont_notify', 'coalesce']);
const MAX_RULES_PER_KIND = 1000;

export function isPushRuleKind(k: string): k is PushRuleKind {
  return (PUSH_RULE_KINDS as readonly string[]).includes(k);
}

function checkKind(kind: string): PushRuleKind {
  if (!isPushRuleKind(kind)) throw new MatrixError(400, 'M_INVALID_PARAM', `Unknown push rule kind ${JSON.stringify(kind.slice(0, 50))}`);
  return kind;
}

export function parseActions(v: unknown): PushAction[] {
  if (!Array.isArray(v)) throw badJson('actions must be a list');
  for (const a of v) {
    if (typeof a === 'string') {
      if (!KNOWN_ACTIONS.has(a)) throw new MatrixError(400, 'M_INVALID_PARAM', `Unknown action ${JSON.stringify(a.slice(0, 50))}`);
    } else if (!isJsonObject(a) || typeof a.set_tweak !== 'string') {
      throw new MatrixError(400, 'M_INVALID_PARAM', 'An action is a string or an object with set_tweak');
    }
  }
  return v as PushAction[];
}

function parseConditions(v: unknown): PushCondition[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw badJson('conditions must be a list');
  for (const c of v) {
    if (!isJsonObject(c) || typeof c.kind !== 'string') throw badJson('Each condition must be an object with a kind');
    for (const f of ['key', 'pattern', 'is'] as const) {
      if (c[f] !== undefined && typeof c[f] !== 'string') throw badJson(`condition ${f} must be a string`);
    }
    if (c.kind === 'event_match' && (typeof c.key !== 'string' || typeof c.pattern !== 'string')) throw badJson('event_match needs key and pattern');
    if ((c.kind === 'event_property_is' || c.kind === 'event_property_contains') && typeof c.key !== 'string') throw badJson(`${c.kind} needs a key`);
    if (c.kind === 'room_member_count' && (typeof c.is !== 'string' || !/^(==|<|>|>=|<=)?[0-9]+$/.test(c.is))) throw badJson('room_member_count needs is');
    if (c.kind === 'sender_notification_permission' && typeof c.key !== 'string') throw badJson('sender_notification_permission needs a key');
  }
  return v as PushCondition[];
}

export class PushRulesService {
  readonly store: PushRuleStore;
  private readonly changeListeners: Array<(userId: string) => void> = [];

  constructor(
    private readonly ctx: Pick<ServerContext, 'sql' | 'streams' | 'notifier'>,
    private readonly accountData: AccountDataService,
  ) {
    this.store = new PushRuleStore(ctx.sql);
    accountData.registerComputed('m.push_rules', async (userId) => ({ global: await this.ruleset(userId) }));
  }

  private async load(userId: string, sql = this.ctx.sql): Promise<UserRules> {
    return parseUserRules(await this.store.get(userId, sql));
  }

  /** Called after a user's rules changed (and committed). */
  onChange(listener: (userId: string) => void): void {
    this.changeListeners.push(listener);
  }

  /**
   * For each user, their stored rules document (its text, '' when they changed nothing) and a
   * ruleset built from it with USER_ID left in place, so users with the same document share
   * one ruleset (see src/services/push-rules/compiled.ts). One query for all the users.
   */
  async templates(userIds: readonly string[]): Promise<Map<string, { key: string; build: () => Ruleset }>> {
    const docs = await this.store.getMany(userIds);
    const out = new Map<string, { key: string; build: () => Ruleset }>();
    for (const u of userIds) {
      const text = docs.get(u);
      out.set(u, { key: text ?? '', build: () => buildRuleset(USER_ID, parseUserRules(text)) });
    }
    return out;
  }

  /** The user's whole ruleset, as GET /pushrules/global/ and m.push_rules show it. */
  async ruleset(userId: string): Promise<Ruleset> {
    return buildRuleset(userId, await this.load(userId));
  }

  async getRule(userId: string, kind: string, ruleId: string): Promise<PushRule> {
    const k = checkKind(kind);
    const found = (await this.ruleset(userId))[k].find((r) => r.rule_id === ruleId);
    if (!found) throw notFound('The push rule was not found');
    return found;
  }

  /** PUT /pushrules/global/{kind}/{ruleId}. */
  async putRule(userId: string, kind: string, ruleId: string, body: unknown, before?: string, after?: string): Promise<void> {
    const k = checkKind(kind);
    if (ruleId === '' || ruleId.startsWith('.')) throw new MatrixError(400, 'M_INVALID_PARAM', 'Rule ids starting with "." are reserved for server-default rules');
    if (/[/\\]/.test(ruleId)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Rule ids cannot contain slashes or backslashes');
    if (!isJsonObject(body)) throw badJson('The rule must be a JSON object');
    if (body.actions === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', 'actions is required');
    const actions = parseActions(body.actions);
    const rule: PushRule = { rule_id: ruleId, default: false, enabled: true, actions };
    if (k === 'override' || k === 'underride') rule.conditions = parseConditions(body.conditions);
    if (k === 'content') {
      if (typeof body.pattern !== 'string') throw new MatrixError(400, 'M_MISSING_PARAM', 'Content rules need a pattern');
      rule.pattern = body.pattern;
    }
    await this.modify(userId, (u) => {
      const list = [...(u.rules[k] ?? [])];
      const at = list.findIndex((r) => r.rule_id === ruleId);
      if (at >= 0) {
        rule.enabled = list[at]!.enabled;
        list.splice(at, 1);
      }
      let index = at >= 0 && before === undefined && after === undefined ? at : 0;
      const anchor = before ?? after;
      if (anchor !== undefined) {
        const i = list.findIndex((r) => r.rule_id === anchor);
        if (i < 0) throw new MatrixError(400, 'M_UNKNOWN', `before/after rule not found: ${anchor.slice(0, 100)}`);
        index = before !== undefined ? i : i + 1;
      }
      if (list.length >= MAX_RULES_PER_KIND) throw new MatrixError(400, 'M_LIMIT_EXCEEDED', 'Too many push rules of this kind');
      list.splice(index, 0, rule);
      u.rules[k] = list;
    });
  }

  async deleteRule(userId: string, kind: string, ruleId: string): Promise<void> {
    const k = checkKind(kind);
    if (defaultRule(k, ruleId)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Server-default rules cannot be deleted');
    await this.modify(userId, (u) => {
      const list = u.rules[k] ?? [];
      const at = list.findIndex((r) => r.rule_id === ruleId);
      if (at < 0) throw notFound('The push rule was not found');
      u.rules[k] = list.filter((_, i) => i !== at);
    });
  }

  async setEnabled(userId: string, kind: string, ruleId: string, enabled: unknown): Promise<void> {
    const k = checkKind(kind);
    if (typeof enabled !== 'boolean') throw badJson('enabled must be a boolean');
    await this.modify(userId, (u) => {
      if (defaultRule(k, ruleId)) {
        u.defaults[ruleId] = { ...u.defaults[ruleId], enabled };
        return;
      }
      const r = (u.rules[k] ?? []).find((x) => x.rule_id === ruleId);
      if (!r) throw notFound('The push rule was not found');
      r.enabled = enabled;
    });
  }

  async setActions(userId: string, kind: string, ruleId: string, actionsIn: unknown): Promise<void> {
    const k = checkKind(kind);
    if (actionsIn === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', 'actions is required');
    const actions = parseActions(actionsIn);
    await this.modify(userId, (u) => {
      if (defaultRule(k, ruleId)) {
        u.defaults[ruleId] = { ...u.defaults[ruleId], actions };
        return;
      }
      const r = (u.rules[k] ?? []).find((x) => x.rule_id === ruleId);
      if (!r) throw notFound('The push rule was not found');
      r.actions = actions;
    });
  }

  /** Applies `fn` to the stored rules in a transaction and announces m.push_rules. */
  private async modify(userId: string, fn: (u: UserRules) => void): Promise<void> {
    await withPositions(
      this.ctx,
      async (tx, alloc) => {
        await this.store.lock(tx, userId);
        const u = await this.load(userId, tx);
        fn(u);
        await this.store.put(tx, userId, JSON.stringify(u));
        const [p] = await alloc();
        await this.accountData.stampInTransaction(tx, p!, userId, '', 'm.push_rules');
        return p!;
      },
      (p) => this.accountData.committed(userId, p),
    );
    for (const l of this.changeListeners) l(userId);
    this.ctx.notifier.notifyUsers([userId]);
  }
}

function parseUserRules(text: string | undefined): UserRules {
  const parsed = text === undefined ? undefined : (JSON.parse(text) as Partial<UserRules>);
  return { rules: parsed?.rules ?? {}, defaults: parsed?.defaults ?? {} };
}

function withOverride(r: PushRule, userId: string, changes: UserRules['defaults']): PushRule {
  const out = forUser(r, userId);
  const c = changes[r.rule_id];
  if (c?.enabled !== undefined) out.enabled = c.enabled;
  if (c?.actions !== undefined) out.actions = c.actions;
  return out;
}

export function buildRuleset(userId: string, u: UserRules): Ruleset {
  const d = (rules: readonly PushRule[]) => rules.map((r) => withOverride(r, userId, u.defaults));
  const own = (k: PushRuleKind) => (u.rules[k] ?? []).map((r) => ({ ...r }));
  return {
    override: [...d([MASTER_RULE]), ...own('override'), ...d(DEFAULT_OVERRIDE_RULES)],
    content: [...own('content'), ...d(DEFAULT_CONTENT_RULES)],
    room: own('room'),
    sender: own('sender'),
    underride: [...own('underride'), ...d(DEFAULT_UNDERRIDE_RULES)],
  };
}

