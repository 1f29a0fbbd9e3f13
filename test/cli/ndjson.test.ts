// `--ndjson`: every JSON command answers every input line with exactly one output line, in
// order: its result, or {"error": …} for a line it cannot use (not JSON, the wrong shape, a
// blank line, too deep, too big). Run through the real bin/lattice.js.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeBase64 } from '../../src/crypto/base64.js';
import { parseSigningKeys } from '../../src/crypto/signing-key.js';
import { getRoomVersion } from '../../src/events/room-versions.js';
import { SERVER_KEYS, standardRoom, U } from '../events/fixtures.js';
import { standardRoom as stateRoom } from '../state/room-builder.js';
import { runCli } from '../helpers/cli.js';

const BIN = fileURLToPath(new URL('../../../bin/lattice.js', import.meta.url));
const DEPTH = 100_000;
const deepArray = '['.repeat(DEPTH) + ']'.repeat(DEPTH);
const hugeString = JSON.stringify('x'.repeat(8 * 1024 * 1024));

let dir: string;
let keyFile: string;
let keysFile: string;
let keyId: string;
let publicKey: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lattice-ndjson-'));
  keyFile = join(dir, 'k.key');
  assert.equal((await runCli(['generate-signing-key', '-o', keyFile])).code, 0);
  const key = parseSigningKeys(await readFile(keyFile, 'utf8'))[0]!;
  keyId = key.keyId;
  publicKey = key.publicKeyBase64;
  keysFile = join(dir, 'keys.json');
  await writeFile(keysFile, JSON.stringify({ 'a.example': { 'ed25519:1': encodeBase64(SERVER_KEYS['a.example']!.publicKey) } }));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Expect = 'result' | 'error';

interface Case {
  args: () => string[];
  /** Two documents the command accepts. */
  good: () => [string, string];
  /** A JSON document of the wrong shape for this command. */
  wrongShape: string;
  /** Deeply nested and very large documents, and what the command makes of them. */
  deep: () => [string, Expect];
  huge: () => [string, Expect];
}

const v11 = getRoomVersion('11')!;
const createWith = (content: string) =>
  `{"type":"m.room.create","sender":"@a:a.example","room_id":"!r:a.example","state_key":"","content":${content},` +
  `"depth":1,"prev_events":[],"auth_events":[],"origin_server_ts":1,"hashes":{"sha256":"x"},"signatures":{}}`;

function authDoc(event: unknown, room: ReturnType<typeof standardRoom>): string {
  return JSON.stringify({ room_version: '11', event, auth_events: room.authEventsFor(event as never) });
}

function resolveDoc(version: string, content: string): string {
  const r = stateRoom(version);
  const events = [...r.events.values()].map((e) => JSON.stringify(e));
  // The last event carries the extra content: resolution reads only the fields it needs.
  const last = events.pop()!.replace(/"content":\{/, `"content":{"extra":${content},`);
  return `{"room_version":"${version}","events":[${[...events, last].join(',')}],"state_sets":[${JSON.stringify(r.main.ids())}]}`;
}

const CASES: Record<string, Case> = {
  'canonical-json': {
    args: () => [],
    good: () => ['{"b":2,"a":1}', '{"é":"\\u0041","z":[3,1]}'],
    wrongShape: '{"a":1.5}',
    deep: () => [`{"a":${deepArray}}`, 'error'],
    huge: () => [`{"a":${hugeString}}`, 'result'],
  },
  'sign-json': {
    args: () => ['--server', 'example.org', '--key', keyFile],
    good: () => ['{"a":1}', '{"b":[1,2],"unsigned":{"age":1}}'],
    wrongShape: '[1,2,3]',
    deep: () => [`{"a":${deepArray}}`, 'error'],
    huge: () => [`{"a":${hugeString}}`, 'result'],
  },
  'verify-json': {
    args: () => ['--server', 'example.org', '--key-id', keyId, '--public-key', publicKey],
    good: () => ['{"a":1}', '{"a":1,"signatures":{"example.org":{"ed25519:x":"AAAA"}}}'],
    wrongShape: '"a string"',
    // Signed, so that checking it needs its canonical form.
    deep: () => [`{"a":${deepArray},"signatures":{"example.org":{"${keyId}":"AAAA"}}}`, 'error'],
    huge: () => [`{"a":${hugeString}}`, 'result'],
  },
  'event-id': {
    args: () => ['--room-version', '11'],
    good: () => {
      const room = standardRoom(v11);
      return [JSON.stringify(room.lookup('m.room.power_levels', '')), JSON.stringify(room.create)];
    },
    wrongShape: '[{"type":"m.room.create"}]',
    deep: () => [createWith(`{"a":${deepArray}}`), 'error'],
    huge: () => [createWith(`{"a":${hugeString}}`), 'result'],
  },
  redact: {
    args: () => ['--room-version', '11'],
    good: () => {
      const room = standardRoom(v11);
      return [JSON.stringify(room.lookup('m.room.join_rules', '')), JSON.stringify(room.create)];
    },
    wrongShape: '42',
    deep: () => [createWith(`{"a":${deepArray}}`), 'error'],
    huge: () => [createWith(`{"a":${hugeString}}`), 'result'],
  },
  'check-event': {
    args: () => ['--room-version', '11', '--keys', keysFile],
    good: () => {
      const room = standardRoom(v11);
      const ev = room.event({ type: 'm.room.message', sender: U.frank, content: { body: 'hi' }, signBy: ['a.example'] });
      return [JSON.stringify(ev), JSON.stringify({ ...ev, content: { body: 'changed' } })];
    },
    wrongShape: '{"type":"m.room.message"}',
    deep: () => [createWith(`{"a":${deepArray}}`), 'error'],
    huge: () => [createWith(`{"a":${hugeString}}`), 'error'],
  },
  'check-auth': {
    args: () => [],
    good: () => {
      const room = standardRoom(v11);
      const ok = room.event({ type: 'm.room.message', sender: U.frank, content: {} });
      const refused = room.event({ type: 'm.room.topic', sender: U.frank, state_key: '', content: { topic: 't' } });
      return [authDoc(ok, room), authDoc(refused, room)];
    },
    wrongShape: '{"room_version":"11","event":[],"auth_events":{}}',
    deep: () => [`{"room_version":"11","event":${createWith(`{"a":${deepArray}}`)},"auth_events":[]}`, 'error'],
    huge: () => [`{"room_version":"11","event":${createWith(`{"a":${hugeString}}`)},"auth_events":[]}`, 'error'],
  },
  'resolve-state': {
    args: () => [],
    good: () => [resolveDoc('11', '1'), resolveDoc('2', '2')],
    wrongShape: '{"room_version":"11","events":{},"state_sets":[]}',
    deep: () => [`{"room_version":"11","events":${deepArray},"state_sets":[]}`, 'error'],
    huge: () => [resolveDoc('11', hugeString), 'result'],
  },
};

/** Runs the command over stdin and returns its exit status and output lines. */
async function run(command: string, args: string[], stdin: string) {
  const r = await runCli([command, ...args], stdin);
  assert.ok(r.stdout === '' || r.stdout.endsWith('\n'), 'output ends with a newline');
  return { code: r.code, lines: r.stdout === '' ? [] : r.stdout.slice(0, -1).split('\n'), stderr: r.stderr };
}

for (const [command, c] of Object.entries(CASES)) {
  test(`${command} --ndjson: one output line per input line, in order`, async () => {
    const [good1, good2] = c.good();
    const [deep, deepExpect] = c.deep();
    const [huge, hugeExpect] = c.huge();
    const input: [string, Expect | 'good'][] = [
      [good1, 'good'],
      ['{"not json', 'error'],
      [c.wrongShape, 'error'],
      ['', 'error'],
      [deep, deepExpect],
      [good2, 'good'],
      ['   \t', 'error'],
      [huge, hugeExpect],
      [good1, 'good'],
    ];
    // The last line has no newline: it is still a line.
    const out = await run(command, [...c.args(), '--ndjson'], input.map(([l]) => l).join('\r\n'));
    assert.equal(out.code, 1, 'some lines could not be used');
    assert.equal(out.lines.length, input.length, `one line each; got:\n${out.lines.map((l) => l.slice(0, 200)).join('\n')}`);
    for (const [i, [doc, expect]] of input.entries()) {
      const line = out.lines[i]!;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (expect === 'error') {
        assert.equal(typeof parsed.error, 'string', `line ${i + 1} is an error: ${line.slice(0, 200)}`);
        assert.deepEqual(Object.keys(parsed), ['error']);
      } else if (expect === 'good') {
        // The same answer as the command gives for that document alone.
        const alone = await run(command, c.args(), doc);
        assert.equal(alone.code, 0, alone.stderr);
        assert.deepEqual(out.lines[i], alone.lines[0], `line ${i + 1}`);
      } else {
        assert.equal(parsed.error, undefined, `line ${i + 1} has a result: ${line.slice(0, 200)}`);
      }
    }
    // Each unusable line is also named on stderr.
    assert.match(out.stderr, /line 2: /);
    assert.match(out.stderr, /line 4: empty line/);
  });
}

test('--ndjson answers each line as it arrives, before stdin ends', async () => {
  const child = spawn(process.execPath, [BIN, 'canonical-json', '--ndjson'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      waiters.shift()?.();
    }
  });
  const nextLine = () =>
    new Promise<string>((res, rej) => {
      const timer = setTimeout(() => rej(new Error('no answer while stdin is still open')), 10_000);
      const take = () => {
        clearTimeout(timer);
        res(lines.shift()!);
      };
      if (lines.length) take();
      else waiters.push(take);
    });
  try {
    child.stdin.write('{"b":1,"a":2}\n');
    assert.equal(await nextLine(), '{"a":2,"b":1}');
    child.stdin.write('nope\n');
    assert.match(await nextLine(), /^\{"error":/);
    child.stdin.end('{"c":[]}\n');
    assert.equal(await nextLine(), '{"c":[]}');
    const code = await new Promise((res) => child.once('exit', res));
    assert.equal(code, 1);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('without --ndjson the whole of stdin is one document', async () => {
  const ok = await run('canonical-json', [], '{\n"b": 1,\n"a": 2\n}\n');
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(ok.lines, ['{"a":2,"b":1}']);
  const bad = await run('canonical-json', [], '{"a":1}\n{"b":2}\n');
  assert.equal(bad.code, 1);
  assert.deepEqual(bad.lines, []);
  assert.match(bad.stderr, /^error: /);
});
