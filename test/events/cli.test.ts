// The event CLI commands, run in a child process with JSON on stdin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getRoomVersion } from '../../src/events/room-versions.js';
import { computeEventId } from '../../src/events/event-id.js';
import { encodeBase64 } from '../../src/crypto/base64.js';
import { SERVER_KEYS, standardRoom, U } from './fixtures.js';

const MODULE = new URL('../../src/cli/commands/events.js', import.meta.url).href;

function run(command: string, args: string[], stdin: string): { status: number | null; lines: unknown[]; stderr: string } {
  const script = `const m = await import(${JSON.stringify(MODULE)}); process.exitCode = await m[${JSON.stringify(command)}](${JSON.stringify(args)});`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: stdin, encoding: 'utf8' });
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
  return { status: r.status, lines, stderr: r.stderr };
}

const v10 = getRoomVersion('10')!;

test('event-id: one id per NDJSON line, and the v1 form', () => {
  const room = standardRoom(v10);
  const a = room.lookup('m.room.power_levels', '')!;
  const b = room.lookup('m.room.join_rules', '')!;
  const r = run('eventIdCommand', ['--room-version', '10', '--ndjson'], JSON.stringify(a) + '\n' + JSON.stringify(b) + '\n');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.lines, [{ event_id: computeEventId(v10, a) }, { event_id: computeEventId(v10, b) }]);
  // A blank line is answered too, so output line N answers input line N.
  const blank = run('eventIdCommand', ['--room-version', '10', '--ndjson'], JSON.stringify(a) + '\n\n' + JSON.stringify(b) + '\n');
  assert.equal(blank.status, 1);
  assert.deepEqual(blank.lines, [{ event_id: computeEventId(v10, a) }, { error: 'empty line' }, { event_id: computeEventId(v10, b) }]);
  const v1 = run('eventIdCommand', ['--room-version', '1'], JSON.stringify({ event_id: '$x:a.example', type: 't' }));
  assert.deepEqual(v1.lines, [{ event_id: '$x:a.example' }]);
});

test('event-id: usage errors and unusable input', () => {
  const noVersion = run('eventIdCommand', [], '{}');
  assert.notEqual(noVersion.status, 0);
  const badVersion = run('eventIdCommand', ['--room-version', '99'], '{}');
  assert.notEqual(badVersion.status, 0);
  const notJson = run('eventIdCommand', ['--room-version', '10', '--ndjson'], 'nope\n' + JSON.stringify({ type: 'x' }) + '\n');
  assert.equal(notJson.status, 1);
  assert.equal(notJson.lines.length, 2, 'the bad line gets an error line, the good line still gets its result');
  assert.equal(typeof (notJson.lines[0] as { error: unknown }).error, 'string');
  assert.ok((notJson.lines[1] as { event_id: unknown }).event_id);
});

test('redact: prints the redacted PDU', () => {
  const r = run('redactCommand', ['--room-version', '11'], JSON.stringify({ type: 'm.room.create', content: { a: 1 }, origin: 'x', unsigned: {} }));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.lines, [{ type: 'm.room.create', content: { a: 1 } }]);
});

test('check-event: content hash and signatures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-events-'));
  try {
    const keysFile = join(dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ 'a.example': { 'ed25519:1': encodeBase64(SERVER_KEYS['a.example']!.publicKey) } }));
    const room = standardRoom(v10);
    const ev = room.event({ type: 'm.room.message', sender: U.frank, content: { body: 'hi' }, signBy: ['a.example'] });
    const tampered = { ...ev, content: { body: 'changed' } };
    const unsigned = room.event({ type: 'm.room.message', sender: U.bob, content: {}, signBy: ['c.example'] });
    const input = [ev, tampered, unsigned].map((e) => JSON.stringify(e)).join('\n');
    const r = run('checkEventCommand', ['--room-version', '10', '--keys', keysFile, '--ndjson'], input);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.lines, [
      { event_id: computeEventId(v10, ev), content_hash: 'ok', signatures: { 'a.example': 'ok' } },
      { event_id: computeEventId(v10, tampered), content_hash: 'mismatch', signatures: { 'a.example': 'ok' } },
      { event_id: computeEventId(v10, unsigned), content_hash: 'ok', signatures: { 'b.example': 'missing' } },
    ]);
    const invalid = run('checkEventCommand', ['--room-version', '10', '--keys', keysFile], JSON.stringify({ ...ev, depth: -1 }));
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /depth/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('check-auth: allowed and refused with the rule named', () => {
  for (const id of ['6', '12']) {
    const ver = getRoomVersion(id)!;
    const room = standardRoom(ver);
    const ok = room.event({ type: 'm.room.message', sender: U.frank, content: {} });
    const banned = room.event({ type: 'm.room.topic', sender: U.frank, state_key: '', content: { topic: 't' } });
    const doc = (event: object, extra: object = {}) =>
      JSON.stringify({
        room_version: id,
        event,
        auth_events: room.authEventsFor(event as never),
        ...(ver.createEventInAuthEvents ? {} : { create_event: room.create }),
        ...extra,
      });
    const r = run('checkAuthCommand', ['--ndjson'], [doc(ok), doc(banned)].join('\n'));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.lines[0], { allowed: true });
    assert.equal((r.lines[1] as { allowed: boolean }).allowed, false);
    assert.match((r.lines[1] as { reason: string }).reason, /^power_levels: sender's power level 0 is below the 50 required/);
  }
});
