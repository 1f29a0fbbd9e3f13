// The route fuzzer's variant generators: from one route of the router's table and a fixture of
// valid values, hostile requests (bad identifiers in path parameters, hostile query values,
// bodies with forbidden numbers, code points, depth, sizes and shapes, bad tokens). Bodies are
// built as JSON text, not through JSON.stringify, so they can carry what JS cannot represent
// (1e400, -0, lone surrogate escapes, invalid UTF-8, duplicate keys).
import { z } from 'zod';
import type { Route } from '../../src/http/router.js';
import type { Rng } from '../../src/util/rng.js';

/** The validation layer's per-route schemas (RouteOptions.schema, zod 4), when a route has them. */
export interface RouteSchemas {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
}

/** The route's schemas; the field may not exist on RouteOptions yet, hence the cast. */
export function routeSchemas(route: Route): RouteSchemas | undefined {
  const s = (route.options as { schema?: RouteSchemas }).schema;
  return s && typeof s === 'object' ? s : undefined;
}

type JsonSchema = Record<string, unknown>;

function toJsonSchema(t: z.ZodType | undefined): JsonSchema | undefined {
  if (!t) return undefined;
  try {
    return z.toJSONSchema(t, { unrepresentable: 'any' }) as JsonSchema;
  } catch {
    return undefined; // a schema JSON Schema cannot express: fall back to the generic variants
  }
}

// ---------------------------------------------------------------------------------------------
// JSON text with raw pieces

/** A value serialised verbatim into the JSON text (numbers and escapes JS cannot hold). */
export class Raw {
  constructor(readonly text: string) {}
}
/** An object with repeated keys (JSON.parse keeps the last; canonical JSON must refuse it). */
export class DupKeys {
  constructor(readonly entries: [string, JValue][]) {}
}
export type JValue = null | boolean | number | string | Raw | DupKeys | JValue[] | { [k: string]: JValue };

export function toJsonText(v: JValue): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof DupKeys) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${toJsonText(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(toJsonText).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toJsonText(x)}`).join(',')}}`;
  return JSON.stringify(v);
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const LONG = 'x'.repeat(256); // one byte over the spec's 255-byte identifier limit
const LONG_MB = '\u00e9'.repeat(128); // 256 bytes in UTF-8, 128 characters
const deep = (n: number, open = '[', close = ']') => new Raw(open.repeat(n) + close.repeat(n));
const deepObj = (n: number) => new Raw('{"a":'.repeat(n) + '1' + '}'.repeat(n));

/** Hostile JSON leaf values, by class. */
export const HOSTILE_VALUES: Record<string, () => JValue> = {
  float: () => 1.5,
  'big-int': () => MAX_SAFE + 2,
  'neg-big-int': () => new Raw(String(-(2 ** 53) - 1) + '0'),
  '1e400': () => new Raw('1e400'),
  '-1e400': () => new Raw('-1e400'),
  '1e300': () => 1e300,
  'neg-zero': () => new Raw('-0'),
  'neg-one': () => -1,
  'nan-string': () => 'NaN',
  'lone-surrogate': () => new Raw('"\\ud800"'),
  'lone-low-surrogate': () => new Raw('"a\\udfffb"'),
  nul: () => 'a\u0000b',
  'nul-only': () => '\u0000',
  noncharacter: () => '\uffff\ufffe\ufdd0',
  control: () => '\u0001\u001f\u007f',
  'long-string': () => LONG,
  'long-multibyte': () => LONG_MB,
  'huge-string': () => 'y'.repeat(200_000),
  null: () => null,
  true: () => true,
  'empty-string': () => '',
  'empty-object': () => ({}),
  'empty-array': () => [],
  'huge-array': () => new Raw(`[${'0,'.repeat(99_999)}0]`),
  'huge-object': () => Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])),
  'deep-array': () => deep(100_000),
  'deep-object': () => deepObj(100_000),
  'deep-moderate': () => deep(600),
  'dup-keys': () => new DupKeys([['a', 1], ['a', 2]]),
};

/** Hostile strings for path parameters and query values (sent percent-encoded). */
export const HOSTILE_STRINGS: Record<string, string> = {
  nul: 'a\u0000b',
  'nul-sigil-user': '@a\u0000b:test.local',
  'nul-sigil-room': '!a\u0000b:test.local',
  control: '\u0001\u007f',
  noncharacter: '\uffff',
  'long-256': LONG,
  'long-multibyte': LONG_MB,
  'long-sigil-user': `@${LONG}:test.local`,
  'long-sigil-room': `!${LONG}:test.local`,
  'long-sigil-alias': `#${LONG}:test.local`,
  'huge-4k': 'z'.repeat(4096),
  'bare-sigil-user': '@',
  'bare-sigil-room': '!',
  'bare-sigil-alias': '#',
  'no-server': '@alice',
  'colon-only': ':',
  slash: 'a/b',
  dots: '..',
  percent: '%',
  space: ' ',
  unicode: '\u202e\u{1f600}',
  'nan': 'NaN',
  'neg-one': '-1',
  'neg-zero': '-0',
  '1e300': '1e300',
  '1e400': '1e400',
  'big-int': '9007199254740993',
  float: '1.5',
  hex: '0x10',
  infinity: 'Infinity',
  json: '{"a":[1e400]}',
  'json-deep': '['.repeat(10_000) + ']'.repeat(10_000),
};

/** Raw (already percent-encoded) path segments that are not valid UTF-8 once decoded. */
export const HOSTILE_ENCODED: Record<string, string> = {
  'invalid-utf8': '%FF%FE',
  'encoded-surrogate': '%ED%A0%80',
  'overlong-nul': '%C0%80',
  'bad-percent': '%zz',
  'truncated-percent': 'a%E2%82',
};

// ---------------------------------------------------------------------------------------------
// Variants

export type TokenKind = 'own' | 'none' | 'malformed' | 'other' | 'garbage-scheme' | 'query-token' | 'long';

export interface Variant {
  /** The input class, e.g. "param:roomId:nul" or "body:field:content.body:1e400". */
  cls: string;
  /** Path parameter values (raw strings, percent-encoded when sent) or already-encoded segments. */
  params: Record<string, { value: string } | { encoded: string }>;
  /** Query pairs; values are percent-encoded when sent. */
  query: [string, string][];
  /** The body: JSON text, raw bytes, or nothing. */
  body?: string | Buffer;
  contentType?: string;
  token: TokenKind;
}

export interface Fixture {
  /** A valid value per parameter name (userId, roomId, eventId, ...). */
  param(name: string, route: Route): string;
  /** A valid body for the route when one is known. */
  body(route: Route): JValue | undefined;
  /** Valid query pairs for the route. */
  query(route: Route): [string, string][];
}

export function paramNames(pattern: string): string[] {
  return [...pattern.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
}

function bodyKind(route: Route): 'json' | 'raw' | 'none' {
  const kind = route.options.body ?? (route.method === 'GET' || route.method === 'HEAD' || route.method === 'DELETE' ? 'none' : 'json');
  // A streamed body (uploads) is raw bytes on the wire.
  return kind === 'stream' ? 'raw' : kind;
}

/** Leaf paths of a JSON value (depth-bounded), as key arrays. */
function leafPaths(v: JValue, prefix: string[] = [], out: string[][] = [], depth = 0): string[][] {
  if (depth < 5 && v !== null && typeof v === 'object' && !(v instanceof Raw) && !(v instanceof DupKeys)) {
    const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
    if (prefix.length) out.push(prefix); // the container itself is a target too
    for (const [k, x] of entries) leafPaths(x, [...prefix, k], out, depth + 1);
  } else if (prefix.length) out.push(prefix);
  return out;
}

function clone(v: JValue): JValue {
  if (v instanceof Raw || v instanceof DupKeys || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(clone);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
}

function setAt(root: JValue, path: string[], value: JValue | undefined): JValue {
  const copy = clone(root);
  let node = copy as Record<string, JValue> | JValue[];
  for (let i = 0; i < path.length - 1; i++) node = (node as Record<string, JValue>)[path[i]!] as Record<string, JValue>;
  const last = path[path.length - 1]!;
  if (Array.isArray(node)) {
    if (value === undefined) node.splice(Number(last), 1);
    else node[Number(last)] = value;
  } else if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

/** Per-field hostile values from a JSON Schema: wrong types, out of range, too long. */
function schemaTargets(schema: JsonSchema | undefined): { path: string[]; value: JValue; cls: string }[] {
  const out: { path: string[]; value: JValue; cls: string }[] = [];
  const walk = (s: JsonSchema, path: string[], depth: number) => {
    if (depth > 4 || typeof s !== 'object' || s === null) return;
    const type = s.type;
    if (path.length) {
      if (type !== 'string') out.push({ path, value: 'wrong-type', cls: 'schema:wrong-type' });
      if (type !== 'number' && type !== 'integer') out.push({ path, value: 7, cls: 'schema:wrong-type' });
      out.push({ path, value: type === 'array' ? {} : [], cls: 'schema:wrong-type' });
      if (typeof s.maximum === 'number') out.push({ path, value: s.maximum + 1, cls: 'schema:above-max' });
      if (typeof s.minimum === 'number') out.push({ path, value: s.minimum - 1, cls: 'schema:below-min' });
      if (typeof s.maxLength === 'number') out.push({ path, value: 'q'.repeat(s.maxLength + 1), cls: 'schema:too-long' });
      if (typeof s.maxItems === 'number') out.push({ path, value: Array.from({ length: s.maxItems + 1 }, () => 0), cls: 'schema:too-many' });
      if (type === 'integer') out.push({ path, value: 1.5, cls: 'schema:float-for-int' });
    }
    const props = s.properties as Record<string, JsonSchema> | undefined;
    if (props) for (const [k, p] of Object.entries(props)) walk(p, [...path, k], depth + 1);
  };
  if (schema) walk(schema, [], 0);
  return out;
}

/** A valid value for a JSON Schema (enough for the validation layer to accept the shape). */
export function sampleOf(s: JsonSchema | undefined, depth = 0): JValue | undefined {
  if (!s || depth > 6) return undefined;
  if ('const' in s) return s.const as JValue;
  if (Array.isArray(s.enum)) return s.enum[0] as JValue;
  if ('default' in s) return s.default as JValue;
  const alt = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (alt?.length) return sampleOf(alt[0], depth + 1);
  switch (s.type) {
    case 'object': {
      const o: Record<string, JValue> = {};
      const props = (s.properties ?? {}) as Record<string, JsonSchema>;
      for (const k of (s.required ?? []) as string[]) {
        const v = sampleOf(props[k], depth + 1);
        o[k] = v === undefined ? 'x' : v;
      }
      return o;
    }
    case 'array':
      return [];
    case 'string':
      return 'x'.repeat(typeof s.minLength === 'number' ? s.minLength : 1);
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return undefined;
  }
}

/** Query names tried on every route: the ones some handler reads, plus the token parameter. */
const QUERY_NAMES = ['limit', 'from', 'to', 'dir', 'timeout', 'since', 'filter', 'at', 'membership', 'not_membership', 'full_state',
  'set_presence', 'width', 'height', 'method', 'animated', 'timeout_ms', 'format', 'filename', 'kind', 'username', 'before', 'after',
  'server', 'via', 'user_id'];

/**
 * Everything the fuzzer knows how to try on a route, as generator functions, one per input class.
 * `base` is the valid request the hostile parts are put into.
 */
export function variantGenerators(route: Route, fx: Fixture): { cls: string; make: (rng: Rng) => Variant }[] {
  const names = paramNames(route.pattern);
  const kind = bodyKind(route);
  const schemas = routeSchemas(route);
  const bodySchema = toJsonSchema(schemas?.body);
  const querySchema = toJsonSchema(schemas?.query);
  const schemaBody = sampleOf(bodySchema);
  // Asked afresh per variant: some valid bodies must be unique (a new alias, a new username).
  const baseBodyOf = (): JValue | undefined => fx.body(route) ?? schemaBody ?? (kind === 'json' ? {} : undefined);
  const baseBody = baseBodyOf();
  const baseQuery = (): [string, string][] => {
    const q = fx.query(route);
    const props = (querySchema?.properties ?? {}) as Record<string, JsonSchema>;
    for (const k of (querySchema?.required ?? []) as string[]) {
      if (!q.some(([n]) => n === k)) q.push([k, String(sampleOf(props[k]) ?? '1')]);
    }
    return q;
  };
  const base = (cls: string): Variant => {
    const baseBody = baseBodyOf();
    return {
    cls,
    params: Object.fromEntries(names.map((n) => [n, { value: fx.param(n, route) }])),
    query: baseQuery(),
    ...(baseBody !== undefined ? { body: kind === 'raw' && typeof baseBody === 'string' ? baseBody : toJsonText(baseBody) } : {}),
    ...(kind === 'json' ? { contentType: 'application/json' } : {}),
    token: 'own',
    };
  };
  const gens: { cls: string; make: (rng: Rng) => Variant }[] = [];
  const add = (cls: string, make: (v: Variant, rng: Rng) => void) => gens.push({ cls, make: (rng) => { const v = base(cls); make(v, rng); return v; } });

  add('baseline', () => {});
  for (const t of ['none', 'malformed', 'other', 'garbage-scheme', 'query-token', 'long'] as const) add(`token:${t}`, (v) => (v.token = t));

  for (const n of names) {
    for (const [c, s] of Object.entries(HOSTILE_STRINGS)) add(`param:${n}:${c}`, (v) => (v.params[n] = { value: s }));
    for (const [c, s] of Object.entries(HOSTILE_ENCODED)) add(`param:${n}:${c}`, (v) => (v.params[n] = { encoded: s }));
    add(`param:${n}:valid+nul`, (v) => (v.params[n] = { value: fx.param(n, route) + '\u0000' }));
    add(`param:${n}:valid+long`, (v) => (v.params[n] = { value: fx.param(n, route) + LONG }));
  }

  // Query values: the names handlers read, each with the hostile strings; and the schema's.
  const qnames = [...new Set([...QUERY_NAMES, ...Object.keys((querySchema?.properties ?? {}) as object)])];
  // A long poll may legitimately wait as long as it is told to: no big timeouts.
  const queryName = (rng: Rng, value: string) => {
    const n = rng.pick(qnames);
    return /^timeout/.test(n) && Number(value) > 1000 ? 'limit' : n;
  };
  add('query:hostile', (v, rng) => {
    for (let i = 0; i < 1 + rng.int(3); i++) {
      const s = rng.pick(Object.values(HOSTILE_STRINGS));
      v.query.push([queryName(rng, s), s]);
    }
  });
  for (const [c, s] of Object.entries(HOSTILE_STRINGS)) add(`query:any:${c}`, (v, rng) => v.query.push([queryName(rng, s), s]));
  add('query:repeated', (v) => {
    for (const n of qnames) v.query.push([n, '1'], [n, '-1']);
  });

  if (kind === 'none') return gens;

  // Whole-body classes.
  const wholes: Record<string, string | Buffer> = {
    'invalid-utf8': Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc0, 0x80, 0x22, 0x7d]),
    'invalid-utf8-key': Buffer.concat([Buffer.from('{"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('":1}')]),
    'bare-invalid-utf8': Buffer.from([0xff, 0xff, 0xff]),
    'utf16-bom': Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]),
    truncated: '{"a":',
    'trailing-garbage': '{} x',
    empty: '',
    'json-array': '[]',
    'json-string': '"x"',
    'json-number': '1e400',
    'json-null': 'null',
    'deep-array': toJsonText(deep(100_000)),
    'deep-object': toJsonText(deepObj(100_000)),
    'lone-surrogate-key': '{"\\ud800":1}',
    'nul-key': '{"\\u0000":1}',
    'dup-keys': '{"a":1,"a":{}}',
    'huge-array': toJsonText(HOSTILE_VALUES['huge-array']!()),
  };
  for (const [c, b] of Object.entries(wholes)) add(`body:whole:${c}`, (v) => (v.body = b));
  add('body:whole:content-type-text', (v) => (v.contentType = 'text/plain'));

  if (kind === 'raw' && route.pattern.includes('/media/')) return gens;

  // Field classes: each hostile value into one leaf of the valid body, a missing field, an extra one.
  const obj = baseBody !== null && typeof baseBody === 'object' && !Array.isArray(baseBody) ? baseBody : {};
  const leaves = leafPaths(obj);
  for (const [c, mk] of Object.entries(HOSTILE_VALUES)) {
    add(`body:extra-field:${c}`, (v, rng) => (v.body = toJsonText(setAt(obj, [rng.pick(['extra', 'content', 'user_id', 'type', 'state_key', 'room_id', 'limit', 'timeout'])], mk()))));
    if (leaves.length) {
      add(`body:field:${c}`, (v, rng) => {
        const p = rng.pick(leaves);
        v.cls = `body:field:${p.join('.')}:${c}`;
        v.body = toJsonText(setAt(obj, p, mk()));
      });
    }
  }
  if (leaves.length) {
    add('body:missing-field', (v, rng) => {
      const p = rng.pick(leaves);
      v.cls = `body:missing-field:${p.join('.')}`;
      v.body = toJsonText(setAt(obj, p, undefined));
    });
  }
  for (const t of schemaTargets(bodySchema)) {
    add(`${t.cls}:${t.path.join('.')}`, (v) => (v.body = toJsonText(setAt(obj, t.path, t.value))));
  }
  return gens;
}

/** The request's URL (path + query) and headers for a variant. */
export function buildRequest(route: Route, v: Variant, tokens: { own: string; other: string }): { url: string; headers: Record<string, string> } {
  let path = route.pattern.replace(/\{(\w+)\}/g, (_, n: string) => {
    const p = v.params[n]!;
    return 'encoded' in p ? p.encoded : encodeComponent(p.value);
  });
  const query = v.query.map(([k, x]) => `${encodeComponent(k)}=${encodeComponent(x)}`);
  const headers: Record<string, string> = {};
  if (v.contentType) headers['Content-Type'] = v.contentType;
  switch (v.token) {
    case 'own':
    case 'other':
      headers.Authorization = `Bearer ${v.token === 'own' ? tokens.own : tokens.other}`;
      break;
    case 'malformed':
      headers.Authorization = `Bearer ${tokens.own.slice(0, -3)}!?=`;
      break;
    case 'garbage-scheme':
      headers.Authorization = `Basic ${Buffer.from('a:b').toString('base64')}`;
      break;
    case 'query-token':
      query.push(`access_token=${encodeComponent('\u0000' + tokens.own)}`);
      break;
    case 'long':
      headers.Authorization = `Bearer ${'t'.repeat(8000)}`;
      break;
    case 'none':
  }
  if (query.length) path += '?' + query.join('&');
  return { url: path, headers };
}

/** encodeURIComponent, except that a lone surrogate becomes the (invalid) UTF-8 of its code unit. */
function encodeComponent(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    let out = '';
    for (const ch of s) {
      const c = ch.codePointAt(0)!;
      out += c >= 0xd800 && c <= 0xdfff ? '%ED%' + (0x80 | ((c >> 6) & 0x3f)).toString(16).toUpperCase() + '%' + (0x80 | (c & 0x3f)).toString(16).toUpperCase() : encodeURIComponent(ch);
    }
    return out;
  }
}
