// Push rules over real HTTP: the spec's default ruleset, adding, ordering, enabling, changing
// actions and deleting rules, the errors, and m.push_rules in /sync.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { TestClient, Json } from '../helpers/client.js';
import { startHarness, user, sync, ok, type Harness } from './extras-harness.js';

let h: Harness;
let alice: TestClient;
let bob: TestClient;

before(async () => {
  h = await startHarness();
  alice = await user(h, 'alice');
  bob = await user(h, 'bob');
});
after(async () => {
  await h.stop();
});

const ids = (rules: Json[]) => rules.map((r) => r.rule_id);

test('the default ruleset, personalised', async () => {
  const all = ok(await alice.get('/pushrules/'));
  const g = all.global;
  assert.deepEqual(ok(await alice.get('/pushrules/global/')), g);
  assert.deepEqual(ids(g.override), [
    '.m.rule.master',
    '.m.rule.suppress_notices',
    '.m.rule.invite_for_me',
    '.m.rule.member_event',
    '.m.rule.is_user_mention',
    '.m.rule.is_room_mention',
    '.m.rule.tombstone',
    '.m.rule.reaction',
    '.m.rule.room.server_acl',
    '.m.rule.suppress_edits',
  ]);
  assert.deepEqual(ids(g.underride), ['.m.rule.call', '.m.rule.encrypted_room_one_to_one', '.m.rule.room_one_to_one', '.m.rule.message', '.m.rule.encrypted']);
  assert.deepEqual([g.content, g.room, g.sender], [[], [], []]);
  assert.equal(g.override[0].enabled, false);
  assert.ok(g.override.every((r: Json) => r.default === true));
  const invite = g.override.find((r: Json) => r.rule_id === '.m.rule.invite_for_me');
  assert.deepEqual(invite.conditions[2], { kind: 'event_match', key: 'state_key', pattern: alice.userId });
  const mention = g.override.find((r: Json) => r.rule_id === '.m.rule.is_user_mention');
  assert.equal(mention.conditions[0].value, alice.userId);
  assert.deepEqual(mention.actions, ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }]);
  // Another user gets their own id.
  const b = ok(await bob.get('/pushrules/global/'));
  assert.equal(b.override.find((r: Json) => r.rule_id === '.m.rule.is_user_mention').conditions[0].value, bob.userId);
  assert.equal((await alice.get('/pushrules/', { token: null })).status, 401);
});

test('user rules: create, order with before/after, update, delete', async () => {
  const cond = [{ kind: 'event_match', key: 'content.body', pattern: 'beer' }];
  ok(await alice.put('/pushrules/global/override/beer', { conditions: cond, actions: ['notify'] }));
  ok(await alice.put('/pushrules/global/override/wine', { conditions: cond, actions: ['notify'] }));
  // New rules go first among user rules, after the master rule.
  let g = ok(await alice.get('/pushrules/global/'));
  assert.deepEqual(ids(g.override).slice(0, 4), ['.m.rule.master', 'wine', 'beer', '.m.rule.suppress_notices']);
  ok(await alice.put('/pushrules/global/override/cider?after=beer', { conditions: cond, actions: [] }));
  ok(await alice.put('/pushrules/global/override/mead?before=wine', { conditions: cond, actions: [] }));
  g = ok(await alice.get('/pushrules/global/'));
  assert.deepEqual(ids(g.override).slice(1, 5), ['mead', 'wine', 'beer', 'cider']);
  const rule = ok(await alice.get('/pushrules/global/override/beer'));
  assert.deepEqual(rule, { rule_id: 'beer', default: false, enabled: true, actions: ['notify'], conditions: cond });
  // Updating keeps the position unless told otherwise.
  ok(await alice.put('/pushrules/global/override/wine', { conditions: [], actions: ['notify', { set_tweak: 'highlight' }] }));
  g = ok(await alice.get('/pushrules/global/'));
  assert.deepEqual(ids(g.override).slice(1, 5), ['mead', 'wine', 'beer', 'cider']);
  assert.deepEqual(g.override[2].conditions, []);

  ok(await alice.put('/pushrules/global/content/cake', { pattern: 'cake*lie', actions: ['notify'] }));
  ok(await alice.put(`/pushrules/global/room/${encodeURIComponent('!room:test.local')}`, { actions: [] }));
  ok(await alice.put(`/pushrules/global/sender/${encodeURIComponent('@spam:test.local')}`, { actions: [] }));
  g = ok(await alice.get('/pushrules/global/'));
  assert.deepEqual(g.content, [{ rule_id: 'cake', default: false, enabled: true, actions: ['notify'], pattern: 'cake*lie' }]);
  assert.deepEqual(ids(g.room), ['!room:test.local']);
  assert.deepEqual(ids(g.sender), ['@spam:test.local']);

  ok(await alice.delete('/pushrules/global/override/mead'));
  assert.equal((await alice.get('/pushrules/global/override/mead')).status, 404);
  assert.equal((await alice.delete('/pushrules/global/override/mead')).body.errcode, 'M_NOT_FOUND');
  // Bob is unaffected.
  assert.deepEqual(ok(await bob.get('/pushrules/global/')).content, []);
});

test('enabled and actions, on user and default rules', async () => {
  assert.deepEqual(ok(await alice.get('/pushrules/global/override/.m.rule.master/enabled')), { enabled: false });
  ok(await alice.put('/pushrules/global/override/.m.rule.master/enabled', { enabled: true }));
  assert.deepEqual(ok(await alice.get('/pushrules/global/override/.m.rule.master/enabled')), { enabled: true });
  ok(await alice.put('/pushrules/global/underride/.m.rule.message/actions', { actions: ['notify', { set_tweak: 'sound', value: 'bell' }] }));
  assert.deepEqual(ok(await alice.get('/pushrules/global/underride/.m.rule.message/actions')), { actions: ['notify', { set_tweak: 'sound', value: 'bell' }] });
  ok(await alice.put('/pushrules/global/override/beer/enabled', { enabled: false }));
  assert.equal(ok(await alice.get('/pushrules/global/override/beer')).enabled, false);
  // An update of a disabled rule keeps it disabled.
  ok(await alice.put('/pushrules/global/override/beer', { actions: [] }));
  assert.equal(ok(await alice.get('/pushrules/global/override/beer')).enabled, false);
  assert.equal((await alice.put('/pushrules/global/override/nope/enabled', { enabled: true })).status, 404);
  assert.equal((await alice.put('/pushrules/global/override/beer/enabled', { enabled: 'yes' })).body.errcode, 'M_BAD_JSON');
  assert.equal((await alice.put('/pushrules/global/override/nope/actions', { actions: [] })).status, 404);
});

test('errors', async () => {
  const cases: Array<[string, string, unknown, number, string]> = [
    ['PUT', '/pushrules/global/override/.mine', { actions: [] }, 400, 'M_INVALID_PARAM'],
    ['PUT', `/pushrules/global/override/${encodeURIComponent('a/b')}`, { actions: [] }, 400, 'M_INVALID_PARAM'],
    ['PUT', '/pushrules/global/override/x', { conditions: [] }, 400, 'M_MISSING_PARAM'],
    ['PUT', '/pushrules/global/override/x', { actions: ['shout'] }, 400, 'M_INVALID_PARAM'],
    ['PUT', '/pushrules/global/override/x', { actions: 'notify' }, 400, 'M_BAD_JSON'],
    ['PUT', '/pushrules/global/override/x', { actions: [], conditions: [{ kind: 'event_match' }] }, 400, 'M_BAD_JSON'],
    ['PUT', '/pushrules/global/content/x', { actions: [] }, 400, 'M_MISSING_PARAM'],
    ['PUT', '/pushrules/global/override/x?before=nosuch', { actions: [] }, 400, 'M_UNKNOWN'],
    ['PUT', '/pushrules/global/override/x?after=.m.rule.master', { actions: [] }, 400, 'M_UNKNOWN'],
    ['PUT', '/pushrules/global/sideways/x', { actions: [] }, 400, 'M_INVALID_PARAM'],
    ['GET', '/pushrules/global/sideways/x', undefined, 400, 'M_INVALID_PARAM'],
    ['DELETE', '/pushrules/global/override/.m.rule.master', undefined, 400, 'M_INVALID_PARAM'],
    ['GET', '/pushrules/global/override/nosuch', undefined, 404, 'M_NOT_FOUND'],
  ];
  for (const [method, path, body, status, errcode] of cases) {
    const r = await alice.request(method, path, body);
    assert.equal(r.status, status, `${method} ${path}`);
    assert.equal(r.body.errcode, errcode, `${method} ${path}`);
  }
});

test('changes reach /sync as m.push_rules account data', async () => {
  const s0 = await sync(alice);
  const initial = (s0.account_data.events as Json[]).find((e) => e.type === 'm.push_rules');
  assert.ok(initial.content.global.override.find((r: Json) => r.rule_id === 'beer'));
  const s1 = await sync(alice, s0.next_batch);
  assert.equal((s1.account_data.events as Json[]).length, 0);
  ok(await alice.put('/pushrules/global/sender/%40noisy%3Atest.local', { actions: [] }));
  const s2 = await sync(alice, s1.next_batch);
  const ev = (s2.account_data.events as Json[]).find((e) => e.type === 'm.push_rules');
  assert.ok(ev, 'm.push_rules after a change');
  assert.ok(ids(ev.content.global.sender).includes('@noisy:test.local'));
  // The account data endpoint shows the same ruleset.
  const viaAccountData = ok(await alice.get(`/user/${encodeURIComponent(alice.userId!)}/account_data/m.push_rules`));
  assert.deepEqual(viaAccountData, ev.content);
});
