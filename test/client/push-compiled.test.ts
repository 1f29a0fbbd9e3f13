// The compiled push rules used for notification counts (src/services/push-rules/compiled.ts)
// give every user the same outcome as evaluatePushRules over their own ruleset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRuleset } from '../../src/services/push-rules.js';
import { evaluatePushRules } from '../../src/services/push-rules/evaluate.js';
import { USER_ID } from '../../src/services/push-rules/default-rules.js';
import { EventScope, RuleTemplate } from '../../src/services/push-rules/compiled.js';

type Doc = Parameters<typeof buildRuleset>[1];
const users = ['@me:test.local', '@you:test.local', '@Other:test.local'];
const docs: Doc[] = [
  { rules: {}, defaults: {} },
  { rules: {}, defaults: { '.m.rule.message': { enabled: false } } },
  {
    rules: {
      override: [{ rule_id: 'name', default: false, enabled: true, conditions: [{ kind: 'contains_display_name' }], actions: ['notify', { set_tweak: 'highlight' }] }],
      content: [{ rule_id: 'cake', default: false, enabled: true, pattern: 'cake*', actions: ['notify'] }],
      room: [{ rule_id: '!quiet:test.local', default: false, enabled: true, actions: ['dont_notify'] }],
      sender: [{ rule_id: '@spam:test.local', default: false, enabled: true, actions: [] }],
      underride: [{ rule_id: 'mine', default: false, enabled: true, conditions: [{ kind: 'event_match', key: 'content.body', pattern: USER_ID }], actions: ['notify', { set_tweak: 'highlight', value: false }] }],
    },
    defaults: { '.m.rule.suppress_notices': { enabled: false }, '.m.rule.master': { enabled: false } },
  },
  { rules: {}, defaults: { '.m.rule.master': { enabled: true } } },
];
const msg = (content: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'm.room.message', sender: '@other:test.local', room_id: '!r:test.local', content: { msgtype: 'm.text', ...content }, ...extra,
});
const events: Record<string, unknown>[] = [
  msg({ body: 'hello' }),
  msg({ body: 'hey', 'm.mentions': { user_ids: ['@me:test.local', '@you:test.local'] } }),
  msg({ body: 'all', 'm.mentions': { room: true } }),
  msg({ msgtype: 'm.notice', body: 'bot' }),
  msg({ body: 'cake please' }),
  msg({ body: 'ping @you:test.local now' }),
  msg({ body: 'quiet' }, { room_id: '!quiet:test.local' }),
  msg({ body: 'buy' }, { sender: '@spam:test.local' }),
  msg({ body: 'own' }, { sender: '@me:test.local' }),
  msg({ body: 'is Me Myself here?' }),
  { type: 'm.room.member', sender: '@other:test.local', state_key: '@you:test.local', content: { membership: 'invite' } },
  { type: 'm.room.encrypted', sender: '@other:test.local', content: {} },
  { type: 'm.reaction', sender: '@other:test.local', content: {} },
];

test('compiled templates agree with evaluatePushRules for every user, event and context', () => {
  let checked = 0;
  for (const doc of docs) {
    const template = new RuleTemplate(buildRuleset(USER_ID, doc));
    for (const memberCount of [2, 5]) {
      for (const senderPowerLevel of [0, 50]) {
        for (const event of events) {
          const scope = new EventScope(event, { memberCount, senderPowerLevel });
          for (const userId of users) {
            const displayName = userId === '@me:test.local' ? 'Me Myself' : undefined;
            const r = evaluatePushRules(buildRuleset(userId, doc), event, { userId, memberCount, senderPowerLevel, ...(displayName ? { displayName } : {}) });
            const expected = r?.notify ? (r.highlight ? 2 : 1) : 0;
            assert.equal(scope.outcome(template, userId, displayName), expected, `${JSON.stringify(event)} for ${userId} (${memberCount}, ${senderPowerLevel})`);
            checked++;
          }
        }
      }
    }
  }
  assert.ok(checked > 500);
});
