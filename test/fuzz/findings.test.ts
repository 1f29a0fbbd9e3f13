// Regressions for what the route fuzzer found and was fixed in a handler or service.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRoom, ok, send, startHarness, user, type Harness } from '../client/extras-harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.stop();
});

test('read_markers refused for an unknown m.read event sets no fully-read marker either', async () => {
  const alice = await user(h, 'alice');
  const roomId = await createRoom(alice);
  const ev = await send(alice, roomId);
  const r = encodeURIComponent(roomId);
  const res = await alice.post(`/rooms/${r}/read_markers`, { 'm.fully_read': ev, 'm.read': '$nope' });
  assert.equal(res.status, 404);
  assert.equal(res.body.errcode, 'M_NOT_FOUND');
  const marker = await alice.get(`/user/${encodeURIComponent(alice.userId!)}/rooms/${r}/account_data/m.fully_read`);
  assert.equal(marker.status, 404, JSON.stringify(marker.body));
  // Both valid: both set.
  ok(await alice.post(`/rooms/${r}/read_markers`, { 'm.fully_read': ev, 'm.read': ev }));
  assert.equal(ok(await alice.get(`/user/${encodeURIComponent(alice.userId!)}/rooms/${r}/account_data/m.fully_read`)).event_id, ev);
});
