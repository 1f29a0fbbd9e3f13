import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lru } from '../../src/util/lru.js';

test('keeps recently used entries within its bound and evicts untouched ones', () => {
  const c = new Lru<number, string>(100);
  for (let i = 0; i < 1000; i++) {
    c.set(i, `v${i}`);
    // Entry 0 is read all the time: it must survive every generation change.
    assert.equal(c.get(0), 'v0');
    assert.ok(c.size <= 100, `size ${c.size}`);
  }
  assert.equal(c.get(999), 'v999');
  assert.equal(c.get(1), undefined, 'an entry untouched for many generations is gone');
});

test('set replaces, delete removes from either generation', () => {
  const c = new Lru<string, number>(4);
  c.set('a', 1);
  c.set('b', 2); // young full: a, b move to old
  c.set('a', 3);
  assert.equal(c.get('a'), 3);
  c.delete('b');
  assert.equal(c.get('b'), undefined);
  c.delete('a');
  assert.equal(c.get('a'), undefined);
});
