// Push rule evaluation against the default ruleset and user rules: conditions, kinds, order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRuleset } from '../../src/services/push-rules.js';
import { evaluatePushRules, globMatches, splitPath, propertyAt, memberCountMatches, type PushEvalContext } from '../../src/services/push-rules/evaluate.js';

const ME = '@me:test.local';
const ctx: PushEvalContext = { userId: ME, displayName: 'Me Myself', memberCount: 5, senderPowerLevel: 0 };
const defaults = buildRuleset(ME, { rules: {}, defaults: {} });
const msg = (content: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'm.room.message',
  sender: '@other:test.local',
  room_id: '!r:test.local',
  content: { msgtype: 'm.text', ...content },
  ...extra,
});

test('paths and globs follow the appendix', () => {
  assert.deepEqual(splitPath('content.m\\.mentions.user_ids'), ['content', 'm.mentions', 'user_ids']);
  assert.deepEqual(splitPath('a\\\\b.c'), ['a\\b', 'c']);
  assert.equal(propertyAt({ content: { 'm.relates_to': { rel_type: 'x' } } }, 'content.m\\.relates_to.rel_type'), 'x');
  assert.equal(propertyAt({ content: {} }, 'content.missing'), undefined);
  assert.ok(globMatches('lunc?*', 'LUNCH'));
  assert.ok(!globMatches('lunc?*', ' lunch'));
  assert.ok(!globMatches('lunc?*', 'lunc'));
  assert.ok(globMatches('ex*ple', 'An example event.', true));
  assert.ok(globMatches('ex*ple', 'exple', true));
  assert.ok(globMatches('ex*ple', 'An exciting triple-whammy', true));
  assert.ok(!globMatches('ex*ple', 'Anexample', true));
  assert.ok(globMatches('a.b', 'a.b') && !globMatches('a.b', 'axb'), 'regex characters are literal');
  assert.ok(memberCountMatches('2', 2) && memberCountMatches('==2', 2) && !memberCountMatches('2', 3));
  assert.ok(memberCountMatches('<=10', 10) && memberCountMatches('>3', 4) && !memberCountMatches('<3', 3) && !memberCountMatches('x', 3));
});

test('default rules: messages notify, mentions highlight, notices and own events do not', () => {
  const plain = evaluatePushRules(defaults, msg({ body: 'hello' }), ctx)!;
  assert.equal(plain.ruleId, '.m.rule.message');
  assert.deepEqual([plain.notify, plain.highlight], [true, false]);
  const dm = evaluatePushRules(defaults, msg({ body: 'hello' }), { ...ctx, memberCount: 2 })!;
  assert.equal(dm.ruleId, '.m.rule.room_one_to_one');
  const mention = evaluatePushRules(defaults, msg({ body: 'hey', 'm.mentions': { user_ids: [ME] } }), ctx)!;
  assert.equal(mention.ruleId, '.m.rule.is_user_mention');
  assert.deepEqual([mention.notify, mention.highlight], [true, true]);
  const notice = evaluatePushRules(defaults, msg({ msgtype: 'm.notice', body: 'bot' }), ctx)!;
  assert.deepEqual([notice.ruleId, notice.notify], ['.m.rule.suppress_notices', false]);
  assert.equal(evaluatePushRules(defaults, msg({ body: 'mine' }, { sender: ME }), ctx), null);
  const edit = evaluatePushRules(defaults, msg({ body: '* x', 'm.relates_to': { rel_type: 'm.replace', event_id: '$e' } }), ctx)!;
  assert.equal(edit.ruleId, '.m.rule.suppress_edits');
  const invite = evaluatePushRules(defaults, { type: 'm.room.member', sender: '@other:test.local', state_key: ME, content: { membership: 'invite' } }, ctx)!;
  assert.deepEqual([invite.ruleId, invite.notify], ['.m.rule.invite_for_me', true]);
  const join = evaluatePushRules(defaults, { type: 'm.room.member', sender: '@x:test.local', state_key: '@x:test.local', content: { membership: 'join' } }, ctx)!;
  assert.deepEqual([join.ruleId, join.notify], ['.m.rule.member_event', false]);
  assert.equal(evaluatePushRules(defaults, { type: 'm.room.topic', sender: '@x:test.local', state_key: '', content: {} }, ctx), null);
  // @room needs the sender's power.
  const room = msg({ body: '@room', 'm.mentions': { room: true } });
  assert.equal(evaluatePushRules(defaults, room, ctx)!.ruleId, '.m.rule.message');
  const strong = evaluatePushRules(defaults, room, { ...ctx, senderPowerLevel: 50 })!;
  assert.deepEqual([strong.ruleId, strong.highlight], ['.m.rule.is_room_mention', true]);
  assert.equal(evaluatePushRules(defaults, room, { ...ctx, senderPowerLevel: 50, notificationPowerLevels: { room: 100 } })!.ruleId, '.m.rule.message');
});

test('user rules by kind and order; disabled and changed default rules; unknown conditions never match', () => {
  const rs = buildRuleset(ME, {
    rules: {
      override: [{ rule_id: 'weird', default: false, enabled: true, conditions: [{ kind: 'future_condition' }], actions: ['notify'] }],
      content: [{ rule_id: 'cake', default: false, enabled: true, pattern: 'cake*lie', actions: ['notify', { set_tweak: 'highlight' }] }],
      room: [{ rule_id: '!quiet:test.local', default: false, enabled: true, actions: ['dont_notify'] }],
      sender: [{ rule_id: '@spam:test.local', default: false, enabled: true, actions: [] }],
    },
    defaults: { '.m.rule.message': { actions: ['notify', { set_tweak: 'sound', value: 'bell' }] }, '.m.rule.suppress_notices': { enabled: false } },
  });
  const cake = evaluatePushRules(rs, msg({ body: 'the cake is a lie!' }), ctx)!;
  assert.deepEqual([cake.kind, cake.ruleId, cake.highlight], ['content', 'cake', true]);
  const quiet = evaluatePushRules(rs, msg({ body: 'hi' }, { room_id: '!quiet:test.local' }), ctx)!;
  assert.deepEqual([quiet.kind, quiet.notify, quiet.actions], ['room', false, []]);
  assert.equal(evaluatePushRules(rs, msg({ body: 'buy now' }, { sender: '@spam:test.local' }), ctx)!.kind, 'sender');
  const plain = evaluatePushRules(rs, msg({ body: 'hello' }), ctx)!;
  assert.deepEqual(plain.actions, ['notify', { set_tweak: 'sound', value: 'bell' }]);
  assert.equal(evaluatePushRules(rs, msg({ msgtype: 'm.notice', body: 'bot' }), ctx)!.ruleId, '.m.rule.message');
  // The master rule, once enabled, silences everything.
  const muted = buildRuleset(ME, { rules: {}, defaults: { '.m.rule.master': { enabled: true } } });
  const r = evaluatePushRules(muted, msg({ body: 'hello', 'm.mentions': { user_ids: [ME] } }), ctx)!;
  assert.deepEqual([r.ruleId, r.notify], ['.m.rule.master', false]);
});
