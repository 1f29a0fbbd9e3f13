// A bounded, seeded run of the route fuzzer (test/fuzz/engine.ts) over every route of the
// server's table: no 5xx, no hang, no crash, memory bounded, and refused requests change no state.
// `npm run fuzz` runs it longer, with a seed of your choosing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestServer } from '../helpers/server.js';
import { fuzzServer, startFuzzServer, summarize } from './runner.js';
import { StateProbe } from './state.js';
import { registerUser } from '../helpers/client.js';

let t: TestServer;
before(async () => {
  t = await startFuzzServer();
});
after(async () => {
  await t?.stop();
});

test('the route table is the real one: every family, with methods and parameters', () => {
  const names = new Set(t.server.routes().map((r) => `${r.method} ${r.pattern}`));
  for (const want of ['PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}', 'GET /_matrix/client/v3/sync',
    'POST /_matrix/media/v3/upload', 'GET /_matrix/client/versions', 'POST /_synapse/admin/v1/register']) {
    assert.ok(names.has(want), want);
  }
});

test('the state probe sees a write, and only a write', async () => {
  const probe = await StateProbe.open(t.config.databaseUrl!);
  try {
    const c = await registerUser(t.baseUrl, 'probe');
    const a = await probe.digest();
    assert.deepEqual(StateProbe.diff(a, await probe.digest()), []);
    assert.equal((await c.put(`/user/${encodeURIComponent(c.userId!)}/account_data/org.probe`, { a: 1 })).status, 200);
    assert.deepEqual(StateProbe.diff(a, await probe.digest()), ['account_data']);
  } finally {
    await probe.close();
  }
});

test('fuzzing every route: no 5xx, no hang, no crash, bounded memory, refusals change nothing', { timeout: 300_000 }, async () => {
  const report = await fuzzServer(t, { seed: 20240601, perRoute: 8, maxRssGrowthMb: 512, ...(process.env.LATTICE_TEST_LOG ? { log: console.log } : {}) });
  assert.ok(report.routes > 60, `walked ${report.routes} routes`);
  assert.ok(report.requests >= report.routes * 5, `sent ${report.requests} requests`);
  // The fuzzer must have reached past the auth check and the refusals on real handlers.
  assert.ok((report.statusCounts[200] ?? 0) > 50, JSON.stringify(report.statusCounts));
  assert.ok((report.statusCounts[400] ?? 0) > 100, JSON.stringify(report.statusCounts));
  assert.equal(report.findings.length, 0, `${report.findings.length} findings:\n${summarize(report.findings)}`);
});
