// Push rule evaluation (spec: "Push Rules", "Conditions"): which actions a user's ruleset gives
// an event. Pure functions, for notification counts and pushers.
import type { PushAction, PushCondition, PushRule, PushRuleKind } from './default-rules.js';

export type Ruleset = Record<PushRuleKind, PushRule[]>;

/** What conditions need to know beyond the event. */
export interface PushEvalContext {
  /** The user whose rules these are. */
  userId: string;
  /** Their display name in the room, for the deprecated contains_display_name. */
  displayName?: string;
  /** Joined members of the room. */
  memberCount: number;
  /** The sender's power level in the room. */
  senderPowerLevel: number;
  /** `notifications` of the room's power levels (the spec's default: room 50). */
  notificationPowerLevels?: Record<string, unknown>;
}

export interface PushResult {
  ruleId: string;
  kind: PushRuleKind;
  /** The rule's actions without the historical dont_notify and coalesce. */
  actions: PushAction[];
  notify: boolean;
  highlight: boolean;
}

/** Splits a dot-separated property path; `\.` is a literal dot and `\\` a backslash. */
export function splitPath(key: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    if (c === '\\' && (key[i + 1] === '.' || key[i + 1] === '\\')) {
      cur += key[++i];
    } else if (c === '.') {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

export function propertyAt(event: unknown, key: string): unknown {
  let v: unknown = event;
  for (const part of splitPath(key)) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const globCache = new Map<string, RegExp>();

/** A case-insensitive regular expression for a glob (`*` any run, `?` one character). */
function globRegex(pattern: string, wordBoundaries: boolean): RegExp {
  const cacheKey = `${wordBoundaries ? 'w' : 'e'}${pattern}`;
  let re = globCache.get(cacheKey);
  if (!re) {
    let body = '';
    for (const ch of pattern) {
      if (ch === '*') body += '[\\s\\S]*';
      else if (ch === '?') body += '[\\s\\S]';
      else body += ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    }
    // Word boundary: the value's start or end, or a character outside [A-Za-z0-9_].
    re = wordBoundaries ? new RegExp(`(?:^|[^A-Za-z0-9_])${body}(?:[^A-Za-z0-9_]|$)`, 'iu') : new RegExp(`^${body}$`, 'iu');
    if (globCache.size > 10_000) globCache.clear();
    globCache.set(cacheKey, re);
  }
  return re;
}

/** Whole-value glob match, or with `wordBoundaries` a match of any substring between word boundaries. */
export function globMatches(pattern: string, value: string, wordBoundaries = false): boolean {
  return globRegex(pattern, wordBoundaries).test(value);
}

const isScalar = (v: unknown) => v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isSafeInteger(v));

export function memberCountMatches(is: string, count: number): boolean {
  const m = /^(==|<=|>=|<|>)?([0-9]+)$/.exec(is);
  if (!m) return false;
  const n = Number(m[2]);
  switch (m[1] ?? '==') {
    case '<':
      return count < n;
    case '>':
      return count > n;
    case '<=':
      return count <= n;
    case '>=':
      return count >= n;
    default:
      return count === n;
  }
}

export function conditionMatches(c: PushCondition, event: Record<string, unknown>, ctx: PushEvalContext): boolean {
  switch (c.kind) {
    case 'event_match': {
      if (typeof c.key !== 'string' || typeof c.pattern !== 'string') return false;
      const v = propertyAt(event, c.key);
      return typeof v === 'string' && globMatches(c.pattern, v, c.key === 'content.body');
    }
    case 'event_property_is': {
      if (typeof c.key !== 'string' || !isScalar(c.value)) return false;
      const v = propertyAt(event, c.key);
      return isScalar(v) && v === c.value;
    }
    case 'event_property_contains': {
      if (typeof c.key !== 'string' || !isScalar(c.value)) return false;
      const v = propertyAt(event, c.key);
      return Array.isArray(v) && v.some((x) => isScalar(x) && x === c.value);
    }
    case 'contains_display_name': {
      const body = propertyAt(event, 'content.body');
      if (!ctx.displayName || typeof body !== 'string') return false;
      const escaped = ctx.displayName.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
      return new RegExp(`(?:^|[^A-Za-z0-9_])${escaped}(?:[^A-Za-z0-9_]|$)`, 'iu').test(body);
    }
    case 'room_member_count':
      return typeof c.is === 'string' && memberCountMatches(c.is, ctx.memberCount);
    case 'sender_notification_permission': {
      if (typeof c.key !== 'string') return false;
      const levels = ctx.notificationPowerLevels ?? {};
      const raw = Object.prototype.hasOwnProperty.call(levels, c.key) ? levels[c.key] : c.key === 'room' ? 50 : undefined;
      const needed = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : c.key === 'room' ? 50 : undefined;
      return needed !== undefined && ctx.senderPowerLevel >= needed;
    }
    default:
      // Unrecognised conditions never match.
      return false;
  }
}

function ruleMatches(kind: PushRuleKind, rule: PushRule, event: Record<string, unknown>, ctx: PushEvalContext): boolean {
  switch (kind) {
    case 'content': {
      const body = propertyAt(event, 'content.body');
      return typeof rule.pattern === 'string' && typeof body === 'string' && globMatches(rule.pattern, body, true);
    }
    case 'room':
      return event.room_id === rule.rule_id;
    case 'sender':
      return event.sender === rule.rule_id;
    default:
      return (rule.conditions ?? []).every((c) => conditionMatches(c, event, ctx));
  }
}

const KIND_ORDER: readonly PushRuleKind[] = ['override', 'content', 'room', 'sender', 'underride'];

/**
 * The first enabled rule that matches, with its actions, or null when none does or when the
 * event is the user's own (which never notifies them).
 */
export function evaluatePushRules(ruleset: Ruleset, event: Record<string, unknown>, ctx: PushEvalContext): PushResult | null {
  if (event.sender === ctx.userId) return null;
  for (const kind of KIND_ORDER) {
    for (const rule of ruleset[kind] ?? []) {
      if (!rule.enabled || !ruleMatches(kind, rule, event, ctx)) continue;
      const actions = rule.actions.filter((a) => a !== 'dont_notify' && a !== 'coalesce');
      const notify = actions.includes('notify');
      const highlight = actions.some((a) => typeof a === 'object' && a.set_tweak === 'highlight' && a.value !== false);
      return { ruleId: rule.rule_id, kind, actions, notify, highlight };
    }
  }
  return null;
}
