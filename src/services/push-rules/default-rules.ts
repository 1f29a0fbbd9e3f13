// The server-default push rules of the spec ("Predefined Rules", v1.17: the legacy body-based
// mention rules are gone), in priority order within each kind. `USER_ID` stands for the
// user's Matrix ID and is substituted per user.

export type PushRuleKind = 'override' | 'content' | 'room' | 'sender' | 'underride';
export const PUSH_RULE_KINDS: readonly PushRuleKind[] = ['override', 'content', 'room', 'sender', 'underride'];

export interface PushCondition {
  kind: string;
  key?: string;
  pattern?: string;
  is?: string;
  value?: string | number | boolean | null;
  [extra: string]: unknown;
}

export type PushAction = string | { set_tweak: string; value?: unknown; [extra: string]: unknown };

export interface PushRule {
  rule_id: string;
  default: boolean;
  enabled: boolean;
  actions: PushAction[];
  conditions?: PushCondition[];
  pattern?: string;
}

export const USER_ID = '[the user\'s Matrix ID]';

const sound = (value: string): PushAction => ({ set_tweak: 'sound', value });
const highlight: PushAction = { set_tweak: 'highlight' };
const rule = (rule_id: string, conditions: PushCondition[], actions: PushAction[], enabled = true): PushRule => ({
  rule_id,
  default: true,
  enabled,
  conditions,
  actions,
});
const match = (key: string, pattern: string): PushCondition => ({ kind: 'event_match', key, pattern });

/** `.m.rule.master` comes before user-defined override rules; the rest after. */
export const MASTER_RULE: PushRule = rule('.m.rule.master', [], [], false);

export const DEFAULT_OVERRIDE_RULES: readonly PushRule[] = [
  rule('.m.rule.suppress_notices', [match('content.msgtype', 'm.notice')], []),
  rule(
    '.m.rule.invite_for_me',
    [match('type', 'm.room.member'), match('content.membership', 'invite'), match('state_key', USER_ID)],
    ['notify', sound('default')],
  ),
  rule('.m.rule.member_event', [match('type', 'm.room.member')], []),
  rule(
    '.m.rule.is_user_mention',
    [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: USER_ID }],
    ['notify', sound('default'), highlight],
  ),
  rule(
    '.m.rule.is_room_mention',
    [
      { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
      { kind: 'sender_notification_permission', key: 'room' },
    ],
    ['notify', highlight],
  ),
  rule('.m.rule.tombstone', [match('type', 'm.room.tombstone'), match('state_key', '')], ['notify', highlight]),
  rule('.m.rule.reaction', [match('type', 'm.reaction')], []),
  rule('.m.rule.room.server_acl', [match('type', 'm.room.server_acl'), match('state_key', '')], []),
  rule('.m.rule.suppress_edits', [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }], []),
];

export const DEFAULT_CONTENT_RULES: readonly PushRule[] = [];

export const DEFAULT_UNDERRIDE_RULES: readonly PushRule[] = [
  rule('.m.rule.call', [match('type', 'm.call.invite')], ['notify', sound('ring')]),
  rule('.m.rule.encrypted_room_one_to_one', [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.encrypted')], ['notify', sound('default')]),
  rule('.m.rule.room_one_to_one', [{ kind: 'room_member_count', is: '2' }, match('type', 'm.room.message')], ['notify', sound('default')]),
  rule('.m.rule.message', [match('type', 'm.room.message')], ['notify']),
  rule('.m.rule.encrypted', [match('type', 'm.room.encrypted')], ['notify']),
];

/** A default rule by kind and id (master included), or undefined. */
export function defaultRule(kind: PushRuleKind, ruleId: string): PushRule | undefined {
  const list = kind === 'override' ? [MASTER_RULE, ...DEFAULT_OVERRIDE_RULES] : kind === 'content' ? DEFAULT_CONTENT_RULES : kind === 'underride' ? DEFAULT_UNDERRIDE_RULES : [];
  return list.find((r) => r.rule_id === ruleId);
}

/** A copy of `r` with USER_ID replaced by `userId`. */
export function forUser(r: PushRule, userId: string): PushRule {
  const out: PushRule = { ...r, actions: r.actions.map((a) => (typeof a === 'string' ? a : { ...a })) };
  if (r.conditions) {
    out.conditions = r.conditions.map((c) => {
      const copy: PushCondition = { ...c };
      if (copy.pattern === USER_ID) copy.pattern = userId;
      if (copy.value === USER_ID) copy.value = userId;
      return copy;
    });
  }
  return out;
}
