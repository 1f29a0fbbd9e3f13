// `--help` for `lattice` and for every command, and plain usage errors (exit status 2) for
// unknown commands, unknown options and stray arguments. Run through the real bin/lattice.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';

const COMMANDS = [
  'start',
  'register-user',
  'generate-config',
  'generate-signing-key',
  'canonical-json',
  'sign-json',
  'verify-json',
  'event-id',
  'redact',
  'check-event',
  'check-auth',
  'resolve-state',
];

// No DATABASE_URL and a config that does not exist: a command that ran instead of printing its
// help would fail loudly rather than pass by accident.
const env: NodeJS.ProcessEnv = { ...process.env, LATTICE_CONFIG: '/nonexistent/lattice.yaml' };
delete env.DATABASE_URL;

test('lattice --help lists every command; no command at all is a usage error', async () => {
  const help = await runCli(['--help'], '', env);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: lattice <command>/);
  for (const c of COMMANDS) assert.match(help.stdout, new RegExp(`^  ${c} `, 'm'), c);
  assert.equal((await runCli(['-h'], '', env)).stdout, help.stdout);
  assert.equal((await runCli(['help'], '', env)).stdout, help.stdout);

  const none = await runCli([], '', env);
  assert.equal(none.code, 2);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /^usage: lattice <command>/);
});

test('unknown commands and top-level options are named, exit 2', async () => {
  const cmd = await runCli(['frobnicate'], '', env);
  assert.equal(cmd.code, 2);
  assert.match(cmd.stderr, /^lattice: unknown command "frobnicate"\n/);
  const opt = await runCli(['--frobnicate'], '', env);
  assert.equal(opt.code, 2);
  assert.match(opt.stderr, /^lattice: unknown option --frobnicate\n/);
});

for (const command of COMMANDS) {
  test(`${command} --help, and its usage errors`, { timeout: 60_000 }, async () => {
    const help = await runCli([command, '--help'], '', env);
    assert.equal(help.code, 0, help.stderr);
    assert.equal(help.stderr, '');
    assert.match(help.stdout, new RegExp(`^usage: lattice ${command}\\b`));
    assert.match(help.stdout, /\n {2}-h, --help +show this help\n$/);
    assert.equal((await runCli([command, '-h'], '', env)).stdout, help.stdout);
    assert.equal((await runCli(['help', command], '', env)).stdout, help.stdout);

    const unknown = await runCli([command, '--frobnicate'], '', env);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stdout, '');
    assert.match(unknown.stderr, new RegExp(`^lattice ${command}: unknown option --frobnicate\nusage: lattice ${command}\\b`));

    // Every option the help lists is one the parser accepts: put it before an unknown option,
    // and the error must be about the unknown one.
    const listed = [...help.stdout.matchAll(/^ {2}(?:-\w, | {4})--([\w-]+)( [^ ]+)?  /gm)].map((m) => ({ name: m[1]!, takesValue: !!m[2] }));
    assert.ok(listed.length >= 1);
    const results = await Promise.all(
      listed
        .filter((o) => o.name !== 'help')
        .map(async (o) => ({ o, r: await runCli([command, o.takesValue ? `--${o.name}=x` : `--${o.name}`, '--frobnicate'], '', env) })),
    );
    for (const { o, r } of results) {
      assert.equal(r.code, 2, `--${o.name}: ${r.stderr}`);
      assert.match(r.stderr, /unknown option --frobnicate/, `--${o.name} is accepted`);
    }

    if (command !== 'register-user') {
      const stray = await runCli([command, 'stray'], '', env);
      assert.equal(stray.code, 2);
      assert.match(stray.stderr, new RegExp(`^lattice ${command}: unexpected argument "stray"\n`));
    }
  });
}

test('register-user takes exactly one NAME', async () => {
  const none = await runCli(['register-user', '--password', 'x'], '', env);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^lattice register-user: missing an argument\nusage: lattice register-user NAME/);
  const two = await runCli(['register-user', 'a', 'b', '--password', 'x'], '', env);
  assert.equal(two.code, 2);
  assert.match(two.stderr, /unexpected argument "b"/);
});

test('an option without its value is named', async () => {
  const r = await runCli(['sign-json', '--server'], '', env);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^lattice sign-json: --server needs a value\n/);
});
