// Push rules compiled for evaluating one event for many users at once (notification counts in
// rooms of thousands of members). Users whose stored rules are the same share one template,
// built with USER_ID left in place. Per event, a template is reduced once to a short program:
// rules whose user-independent conditions fail are dropped, and the first rule that matches
// without user-specific conditions ends it. Each user then runs only the few user-specific
// checks left (usually "am I in m.mentions.user_ids"). Same answers as evaluatePushRules.
import { conditionMatches, globMatches, propertyAt, type PushEvalContext, type Ruleset } from './evaluate.js';
import { PUSH_RULE_KINDS, USER_ID, type PushAction, type PushCondition, type PushRuleKind } from './default-rules.js';

/** 0: no notification, 1: notification, 2: highlighted notification. */
export type Outcome = 0 | 1 | 2;

/** What conditions need to know about the event, the same for every user. */
export type EventFacts = Omit<PushEvalContext, 'userId' | 'displayName'>;

interface CompiledRule {
  /** Conditions that give every user the same answer; keyed for the per-event cache. */
  shared: Array<{ key: string; test: (ev: EventScope) => boolean }>;
  /** Conditions naming USER_ID, and contains_display_name. */
  personal: Array<(ev: EventScope, userId: string, displayName: string | undefined) => boolean>;
  outcome: Outcome;
}

export interface Program {
  /** Rules that match if their personal conditions do, in order. */
  steps: Array<{ personal: CompiledRule['personal']; outcome: Outcome }>;
  /** The outcome when no step matches. */
  fallback: Outcome;
  usesDisplayName: boolean;
}

/** One event being evaluated: caches shared condition results and property lookups. */
export class EventScope {
  private readonly results = new Map<string, boolean>();
  private readonly props = new Map<string, unknown>();
  private readonly programs = new Map<RuleTemplate, Program>();

  constructor(
    readonly event: Record<string, unknown>,
    readonly facts: EventFacts,
  ) {}

  prop(key: string): unknown {
    if (this.props.has(key)) return this.props.get(key);
    const v = propertyAt(this.event, key);
    this.props.set(key, v);
    return v;
  }

  shared(key: string, test: (ev: EventScope) => boolean): boolean {
    let r = this.results.get(key);
    if (r === undefined) this.results.set(key, (r = test(this)));
    return r;
  }

  program(t: RuleTemplate): Program {
    let p = this.programs.get(t);
    if (!p) this.programs.set(t, (p = t.reduce(this)));
    return p;
  }

  /** The outcome of `t`'s rules for one user; the sender is never notified. */
  outcome(t: RuleTemplate, userId: string, displayName?: string): Outcome {
    if (this.event.sender === userId) return 0;
    const p = this.program(t);
    for (const s of p.steps) if (s.personal.every((c) => c(this, userId, displayName))) return s.outcome;
    return p.fallback;
  }
}

function outcomeOf(actions: PushAction[]): Outcome {
  const notify = actions.includes('notify');
  const highlight = actions.some((a) => typeof a === 'object' && a.set_tweak === 'highlight' && a.value !== false);
  return notify ? (highlight ? 2 : 1) : 0;
}

const ctxOf = (ev: EventScope, userId: string, displayName?: string): PushEvalContext => ({
  ...ev.facts,
  userId,
  ...(displayName !== undefined ? { displayName } : {}),
});

function personalCondition(c: PushCondition): CompiledRule['personal'][number] | undefined {
  if (c.kind === 'contains_display_name') return (ev, userId, dn) => conditionMatches(c, ev.event, ctxOf(ev, userId, dn));
  const key = c.key;
  if (typeof key !== 'string') return undefined;
  if (c.kind === 'event_match' && c.pattern === USER_ID) {
    return (ev, userId) => {
      const v = ev.prop(key);
      return typeof v === 'string' && globMatches(userId, v, key === 'content.body');
    };
  }
  if (c.kind === 'event_property_is' && c.value === USER_ID) return (ev, userId) => ev.prop(key) === userId;
  if (c.kind === 'event_property_contains' && c.value === USER_ID) {
    return (ev, userId) => {
      const v = ev.prop(key);
      return Array.isArray(v) && v.includes(userId);
    };
  }
  return undefined;
}

export class RuleTemplate {
  private readonly rules: CompiledRule[] = [];
  readonly usesDisplayName: boolean;

  constructor(ruleset: Ruleset) {
    let dn = false;
    for (const kind of PUSH_RULE_KINDS as readonly PushRuleKind[]) {
      for (const rule of ruleset[kind] ?? []) {
        if (!rule.enabled) continue;
        const compiled: CompiledRule = { shared: [], personal: [], outcome: outcomeOf(rule.actions) };
        if (kind === 'content') {
          const pattern = rule.pattern;
          compiled.shared.push({
            key: `content\u0000${pattern}`,
            test: (ev) => {
              const body = ev.prop('content.body');
              return typeof pattern === 'string' && typeof body === 'string' && globMatches(pattern, body, true);
            },
          });
        } else if (kind === 'room') {
          compiled.shared.push({ key: `room\u0000${rule.rule_id}`, test: (ev) => ev.event.room_id === rule.rule_id });
        } else if (kind === 'sender') {
          compiled.shared.push({ key: `sender\u0000${rule.rule_id}`, test: (ev) => ev.event.sender === rule.rule_id });
        } else {
          for (const c of rule.conditions ?? []) {
            const personal = personalCondition(c);
            if (personal) {
              compiled.personal.push(personal);
              if (c.kind === 'contains_display_name') dn = true;
            } else {
              // The condition's JSON is its identity: templates share results for equal conditions.
              compiled.shared.push({ key: JSON.stringify(c), test: (ev) => conditionMatches(c, ev.event, ctxOf(ev, '')) });
            }
          }
        }
        this.rules.push(compiled);
      }
    }
    this.usesDisplayName = dn;
  }

  /** This template's program for one event (EventScope.program caches it). */
  reduce(ev: EventScope): Program {
    const steps: Program['steps'] = [];
    let usesDisplayName = false;
    for (const r of this.rules) {
      if (!r.shared.every((c) => ev.shared(c.key, c.test))) continue;
      if (r.personal.length === 0) return { steps, fallback: r.outcome, usesDisplayName };
      steps.push({ personal: r.personal, outcome: r.outcome });
      usesDisplayName ||= this.usesDisplayName;
    }
    return { steps, fallback: 0, usesDisplayName };
  }
}
