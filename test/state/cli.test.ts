// The `resolve-state` command, run as a real process over stdin/stdout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ALICE, BOB, CHARLIE, standardRoom } from './room-builder.js';

const COMMAND = fileURLToPath(new URL('../../src/cli/commands/state.js', import.meta.url));

function run(args: string[], stdin: string): { status: number | null; stdout: string; stderr: string } {
  const script = `const { resolveStateCmd } = await import(${JSON.stringify(COMMAND)});
process.exitCode = await resolveStateCmd(process.argv.slice(1));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, '--', ...args], { input: stdin, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The ban-vs-power-levels fork as a command input document. */
function banVsPowerLevels(version: string): { doc: Record<string, unknown>; id: (n: string) => string } {
  const r = standardRoom(version);
  const base: Record<string, number> = r.version.privilegedCreators ? {} : { [ALICE]: 100 };
  r.main.powerLevels('PA', ALICE, { ...base, [BOB]: 50 });
  const a = r.main.fork();
  const b = r.main.fork();
  a.member('MB', ALICE, BOB, 'ban');
  b.powerLevels('PB', BOB, { ...base, [BOB]: 50, [CHARLIE]: 50 });
  const doc = { room_version: version, events: [...r.events.values()], state_sets: [a.ids(), b.ids()] };
  return { doc, id: (n) => r.id(n) };
}

test('resolve-state: one document in, the sorted resolved state out', () => {
  const { doc, id } = banVsPowerLevels('11');
  const out = run([], JSON.stringify(doc));
  assert.equal(out.status, 0, out.stderr);
  const { state } = JSON.parse(out.stdout) as { state: [string, string, string][] };
  assert.deepEqual(state, [
    ['m.room.create', '', id('CREATE')],
    ['m.room.join_rules', '', id('IJR')],
    ['m.room.member', ALICE, id('IMA')],
    ['m.room.member', BOB, id('MB')],
    ['m.room.member', CHARLIE, id('IM1')],
    ['m.room.power_levels', '', id('PA')],
  ]);
});

test('resolve-state --ndjson: a line per document; a bad document fails alone', () => {
  const one = banVsPowerLevels('2');
  const two = banVsPowerLevels('12');
  const input = [one.doc, { room_version: '12', events: [], state_sets: [['$missing']] }, two.doc]
    .map((d) => JSON.stringify(d))
    .join('\n');
  const out = run(['--ndjson'], input + '\n');
  assert.equal(out.status, 1);
  const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { state: string[][]; error?: string });
  assert.equal(lines.length, 3);
  assert.equal(lines[0]!.state.find((e) => e[0] === 'm.room.power_levels')![2], one.id('PA'));
  assert.deepEqual(lines[1], { error: 'state_sets[0]: unknown event $missing in state set' });
  assert.equal(lines[2]!.state.find((e) => e[1] === BOB)![2], two.id('MB'));
  assert.match(out.stderr, /state_sets\[0\]: unknown event \$missing/);
});

test('resolve-state: the TypeScript kernels give the same answer; bad input is reported', () => {
  const { doc } = banVsPowerLevels('10');
  assert.equal(run(['--kernels', 'ts'], JSON.stringify(doc)).stdout, run([], JSON.stringify(doc)).stdout);
  assert.match(run([], JSON.stringify({ ...doc, room_version: '99' })).stderr, /unsupported room version "99"/);
  assert.match(run([], JSON.stringify({ ...doc, events: [{ event_id: 5 }] })).stderr, /events\[0\]: event_id/);
  assert.match(run([], '{not json').stderr, /error:/);
});
