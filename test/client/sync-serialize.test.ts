// serializeSync: the same JSON as JSON.stringify, whether a room part is shared or not, and a
// shared part is not used once someone replaced the objects it stands for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSharedPart, serializeSync, useSharedPart } from '../../src/services/sync/serialize.js';
import type { JoinedRoomSync, SyncResponse } from '../../src/services/sync/types.js';
import { emptyJoined } from '../../src/services/sync/sync.js';

function response(): SyncResponse {
  return {
    next_batch: 's10_2',
    rooms: { join: {}, invite: { '!i:x': { invite_state: { events: [{ type: 'm.room.name', state_key: '', sender: '@a:x', content: { name: 'q"uote' } }] } } }, leave: {}, knock: {} },
    presence: { events: [] },
    account_data: { events: [{ type: 'u.x', content: { a: [1, 2] } }] },
    to_device: { events: [] },
    device_lists: { changed: ['@b:x'], left: [] },
    device_one_time_keys_count: { signed_curve25519: 3 },
    device_unused_fallback_key_types: [],
  };
}

const joined = emptyJoined;

test('serializeSync equals JSON.stringify, with shared and unshared room parts', () => {
  const shared = makeSharedPart(
    { events: [{ type: 'm.room.message', event_id: '$e', content: { body: 'hi \u2028 there' }, unsigned: { age: 5 } }], limited: true, prev_batch: 't9' },
    { events: [{ type: 'm.room.member', state_key: '@a:x', content: { membership: 'join' } }] },
  );
  for (const perUser of [0, 7]) {
    const res = response();
    const a = joined();
    useSharedPart(a, shared);
    a.unread_notifications = { highlight_count: perUser, notification_count: perUser + 1 };
    a.ephemeral.events.push({ type: 'm.receipt', content: { $e: {} } });
    const b = joined();
    b.timeline = { events: [{ type: 'x', content: {} }], limited: false };
    res.rooms.join['!a:x'] = a;
    res.rooms.join['!b:x'] = b;
    const text = serializeSync(res);
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(res)));
    assert.equal(text, JSON.stringify(res), 'key order kept too');
  }
});

test('a shared part is ignored once its objects were replaced, and cannot be mutated', () => {
  const shared = makeSharedPart({ events: [{ type: 'a', content: {} }], limited: false }, { events: [] });
  const res = response();
  const a = joined();
  useSharedPart(a, shared);
  a.timeline = { events: [{ type: 'b', content: {} }], limited: false };
  res.rooms.join['!a:x'] = a;
  assert.equal(serializeSync(res), JSON.stringify(res));
  assert.throws(() => (shared.timeline.events as unknown[]).push({}));
});
