// The fuzzer's own parts: JSON text with what JS cannot hold, request encoding, and the variants
// it derives from a route's zod schema (RouteOptions.schema, once the validation layer sets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import type { Route } from '../../src/http/router.js';
import { Rng } from '../../src/util/rng.js';
import { buildRequest, DupKeys, Raw, routeSchemas, toJsonText, variantGenerators, type Fixture } from './engine.js';

const route = (method: string, pattern: string, options: Record<string, unknown> = {}): Route => ({ method, pattern, handler: () => ({}), options });
const fixture: Fixture = { param: (n) => `valid-${n}`, body: () => undefined, query: () => [] };

test('JSON text carries 1e400, -0, lone surrogates and duplicate keys verbatim', () => {
  assert.equal(toJsonText({ a: new Raw('1e400'), b: [new Raw('-0'), new Raw('"\\ud800"')], c: new DupKeys([['k', 1], ['k', 2]]) }),
    '{"a":1e400,"b":[-0,"\\ud800"],"c":{"k":1,"k":2}}');
});

test('path parameters are percent-encoded; a lone surrogate becomes invalid UTF-8; tokens go where asked', () => {
  const r = route('PUT', '/rooms/{roomId}/send/{eventType}/{txnId}');
  const v = { cls: 'x', params: { roomId: { value: 'a/\u0000' }, eventType: { value: '\ud800' }, txnId: { encoded: '%FF' } }, query: [['limit', '-1']] as [string, string][], token: 'other' as const };
  const { url, headers } = buildRequest(r, v, { own: 'OWN', other: 'OTHER' });
  assert.equal(url, '/rooms/a%2F%00/send/%ED%A0%80/%FF?limit=-1');
  assert.equal(headers.Authorization, 'Bearer OTHER');
  assert.equal(buildRequest(r, { ...v, token: 'none' }, { own: 'OWN', other: 'OTHER' }).headers.Authorization, undefined);
});

test('every route gets token, parameter and query classes; JSON routes get body classes', () => {
  const names = variantGenerators(route('PUT', '/x/{roomId}'), fixture).map((g) => g.cls);
  for (const c of ['baseline', 'token:other', 'token:none', 'param:roomId:nul', 'param:roomId:long-256', 'param:roomId:invalid-utf8', 'query:hostile',
    'body:whole:invalid-utf8', 'body:whole:deep-array', 'body:extra-field:1e400', 'body:extra-field:lone-surrogate']) {
    assert.ok(names.includes(c), c);
  }
  assert.ok(!variantGenerators(route('GET', '/x'), fixture).some((g) => g.cls.startsWith('body:')));
});

test('a route with a zod body schema gets valid bodies and per-field wrong types, missing fields, range breaks', () => {
  const schema = { body: z.object({ limit: z.number().int().min(0).max(100), name: z.string().max(10), tags: z.array(z.string()).max(2).optional() }) };
  const r = route('POST', '/s', { schema });
  assert.equal(routeSchemas(r), schema);
  const gens = variantGenerators(r, fixture);
  const rng = new Rng(1);
  const baseline = JSON.parse(gens.find((g) => g.cls === 'baseline')!.make(rng).body as string);
  assert.ok(schema.body.safeParse(baseline).success, JSON.stringify(baseline));
  const byCls = (c: string) => gens.filter((g) => g.cls === c).map((g) => JSON.parse(g.make(rng).body as string));
  assert.ok(byCls('schema:above-max:limit').some((b) => b.limit === 101));
  assert.ok(byCls('schema:below-min:limit').some((b) => b.limit === -1));
  assert.ok(byCls('schema:float-for-int:limit').some((b) => b.limit === 1.5));
  assert.ok(byCls('schema:too-long:name').some((b) => b.name.length === 11));
  assert.ok(byCls('schema:too-many:tags').some((b) => b.tags.length === 3));
  assert.ok(byCls('schema:wrong-type:name').some((b) => typeof b.name !== 'string'));
  for (const g of gens.filter((x) => x.cls.startsWith('schema:'))) {
    assert.equal(schema.body.safeParse(JSON.parse(g.make(rng).body as string)).success, false, g.cls);
  }
  const missing = gens.find((g) => g.cls === 'body:missing-field')!;
  assert.ok(Array.from({ length: 10 }, () => JSON.parse(missing.make(rng).body as string)).some((b) => !('limit' in b) || !('name' in b)));
});

test('a schema JSON Schema cannot express falls back to the generic variants', () => {
  const r = route('POST', '/s', { schema: { body: z.custom<string>(() => true) } });
  assert.ok(variantGenerators(r, fixture).some((g) => g.cls === 'body:whole:deep-object'));
});
