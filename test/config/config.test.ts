import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigError, loadConfig, validateConfig } from '../../src/config/load.js';
import { generateConfigText } from '../../src/config/generate.js';
import { configSchema, configDocs } from '../../src/config/schema.js';
import { runCli } from '../helpers/cli.js';

test('defaults: localhost on 127.0.0.1:8008 with the embedded database', () => {
  const c = validateConfig({}, '/srv', {});
  assert.equal(c.server_name, 'localhost');
  assert.deepEqual(c.listeners.http, { bind: '127.0.0.1', port: 8008, x_forwarded: false });
  assert.equal(c.databaseUrl, null);
  assert.equal(c.dataDir, '/srv/data');
  assert.equal(c.signingKeyPath, '/srv/data/signing.key');
});

test('DATABASE_URL overrides the configured database', () => {
  const c = validateConfig({ database: { url: 'postgres://a@h/db' } }, '/srv', { DATABASE_URL: 'postgres://b@h/other' });
  assert.equal(c.databaseUrl, 'postgres://b@h/other');
});

test('errors name the offending key', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ listeners: { http: { port: 'eighty' } } }, /listeners\.http\.port/],
    [{ listeners: { http: { port: 70000 } } }, /listeners\.http\.port/],
    [{ server_name: 'bad name!' }, /server_name: must be a valid Matrix server name/],
    [{ sever_name: 'x' }, /unknown key sever_name/],
    [{ database: { pool_max: 0 } }, /database\.pool_max/],
    [{ log_level: 'chatty' }, /log_level/],
    [{ old_signing_keys: { 'rsa:1': { key: 'x', expired_ts: 1 } } }, /old_signing_keys/],
    [{ trusted_proxies: ['10.0.0.0/33'] }, /trusted_proxies\.0: must be an IP address or CIDR range/],
    [{ trusted_proxies: ['proxy.example.org'] }, /trusted_proxies\.0/],
  ];
  for (const [raw, re] of cases) {
    assert.throws(() => validateConfig(raw, '/', {}), (e: unknown) => e instanceof ConfigError && re.test(e.message));
  }
});

test('YAML syntax errors and non-mapping files are reported with the file name', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-cfg-'));
  const bad = join(dir, 'bad.yaml');
  await writeFile(bad, 'server_name: [unclosed\n');
  await assert.rejects(loadConfig(bad, {}), /bad\.yaml is not valid YAML/);
  const list = join(dir, 'list.yaml');
  await writeFile(list, '- a\n- b\n');
  await assert.rejects(loadConfig(list, {}), /must be a mapping/);
  await assert.rejects(loadConfig(join(dir, 'missing.yaml'), {}), /cannot read config file/);
});

test('generated config documents every key and loads back to the defaults', () => {
  const text = generateConfigText();
  for (const [path] of configDocs) {
    const leaf = path.split('.').pop()!;
    assert.match(text, new RegExp(`^\\s*${leaf}:`, 'm'), `${path} missing from generated config`);
  }
  for (const key of Object.keys(configSchema.shape)) assert.ok(configDocs.some(([p]) => p === key || p.startsWith(`${key}.`)), `${key} undocumented`);
  assert.deepEqual(validateConfig(parse(text), '/x', {}), validateConfig({}, '/x', {}));
});

test('`lattice start` with a bad config prints one message naming the key and exits non-zero', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-cfg-'));
  const path = join(dir, 'homeserver.yaml');
  await writeFile(path, 'server_name: example.org\nlisteners:\n  http:\n    port: -1\n');
  const r = await runCli(['start', '--config', path]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /listeners\.http\.port/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
