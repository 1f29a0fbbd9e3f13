// Notifier: counters move at once while wake-ups are spread over turns; every waiter wakes; an
// abort ends the request's current wait however often it waited before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Notifier } from '../../src/services/notifier.js';

test('notifyUsers bumps every counter at once and wakes every waiter, a chunk per turn', async () => {
  const n = new Notifier();
  const users = Array.from({ length: 1000 }, (_, i) => `@u${i}:x`);
  let woken = 0;
  const waits = users.flatMap((u) => [n.wait(u, 60_000), n.wait(u, 60_000)].map((p) => p.then(() => void woken++)));
  n.notifyUsers(users);
  assert.ok(users.every((u) => n.seqOf(u) === 1), 'counters move before any wake-up');
  await new Promise((r) => setImmediate(r));
  assert.ok(woken > 0 && woken < 2000, `woken over several turns (${woken} after the first)`);
  await Promise.all(waits);
  assert.equal(woken, 2000);
  assert.equal(n.waitingCount, 0);
});

test('an abort ends the current wait of a request that waited before; timeouts still fire', async () => {
  const n = new Notifier();
  const c = new AbortController();
  const first = n.wait('@a:x', 60_000, c.signal);
  n.notifyUsers(['@a:x']);
  await first;
  const second = n.wait('@a:x', 60_000, c.signal);
  c.abort();
  await second;
  assert.equal(n.waitingCount, 0);
  await n.wait('@a:x', 60_000, c.signal); // already aborted: returns at once
  const t0 = Date.now();
  await n.wait('@b:x', 20);
  assert.ok(Date.now() - t0 >= 15);
});
