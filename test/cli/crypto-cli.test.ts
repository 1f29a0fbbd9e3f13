// The operator CLI for the crypto core, run as a real child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSigningKeys } from '../../src/crypto/signing-key.js';
import { runCli } from '../helpers/cli.js';

test('generate-signing-key writes a Synapse-format key file, and refuses to overwrite it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-cli-'));
  const path = join(dir, 'k.key');
  const r = await runCli(['generate-signing-key', '--output', path]);
  assert.equal(r.code, 0, r.stderr);
  const text = await readFile(path, 'utf8');
  assert.match(text, /^ed25519 [a-zA-Z0-9_]+ [A-Za-z0-9+/]{43}\n$/);
  assert.equal(parseSigningKeys(text).length, 1);
  const again = await runCli(['generate-signing-key', '--output', path]);
  assert.notEqual(again.code, 0);
  assert.equal(await readFile(path, 'utf8'), text);
});

test('sign-json then verify-json round-trips; a changed object does not verify', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lattice-cli-'));
  const path = join(dir, 'k.key');
  assert.equal((await runCli(['generate-signing-key', '-o', path])).code, 0);
  const key = parseSigningKeys(await readFile(path, 'utf8'))[0]!;
  const signed = await runCli(['sign-json', '--server', 'example.org', '--key', path], '{"b":1,"a":"x","unsigned":{"age":3}}');
  assert.equal(signed.code, 0, signed.stderr);
  const obj = JSON.parse(signed.stdout) as { signatures: Record<string, Record<string, string>> };
  assert.ok(obj.signatures['example.org']?.[key.keyId]);
  const verifyArgs = ['verify-json', '--server', 'example.org', '--key-id', key.keyId, '--public-key', key.publicKeyBase64, '--ndjson'];
  const tampered = JSON.stringify({ ...obj, b: 2 });
  const unsignedChanged = JSON.stringify({ ...obj, unsigned: { age: 99 } });
  const v = await runCli(verifyArgs, `${signed.stdout.trim()}\n${tampered}\n${unsignedChanged}\n`);
  assert.equal(v.code, 0, v.stderr);
  assert.deepEqual(v.stdout.trim().split('\n').map((l) => JSON.parse(l)), [{ valid: true }, { valid: false }, { valid: true }]);
});

test('canonical-json: one result per line, drop keys, refusals on stderr with exit 1', async () => {
  const ok = await runCli(['canonical-json', '--ndjson', '--drop', 'signatures'], '{"b":2, "a":1, "signatures":{}}\n{"\\u00e9":"\\u0041"}\n');
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, '{"a":1,"b":2}\n{"é":"A"}\n');
  const bad = await runCli(['canonical-json'], '{"a":1.5}');
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /canonical JSON/);
});

test('unknown commands and missing options are usage errors (exit 2)', async () => {
  assert.equal((await runCli(['no-such-command'])).code, 2);
  assert.equal((await runCli(['verify-json', '--server', 'x'])).code, 2);
});
