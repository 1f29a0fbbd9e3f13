// `lattice` command-line entry point: dispatches to one module per command family.
import { UsageError, type Command } from './io.js';

type Loader = () => Promise<Command>;

// Lazy imports keep each command's start-up cost to what it uses; each command's options and
// --help live with the command (src/cli/commands/*).
const commands: Record<string, { summary: string; load: Loader }> = {
  start: { summary: 'run the homeserver', load: async () => (await import('./commands/server.js')).start },
  'register-user': { summary: 'create a local account', load: async () => (await import('./commands/users.js')).registerUser },
  'generate-config': {
    summary: 'write a commented config file',
    load: async () => (await import('./commands/server.js')).generateConfig,
  },
  'generate-signing-key': {
    summary: 'write a new ed25519 signing key',
    load: async () => (await import('./commands/server.js')).generateSigningKeyCmd,
  },
  'canonical-json': {
    summary: 'canonical JSON of the document on stdin',
    load: async () => (await import('./commands/crypto.js')).canonicalJsonCmd,
  },
  'sign-json': { summary: 'sign the JSON object on stdin', load: async () => (await import('./commands/crypto.js')).signJsonCmd },
  'verify-json': { summary: 'check a signature on the JSON object on stdin', load: async () => (await import('./commands/crypto.js')).verifyJsonCmd },
  'event-id': { summary: 'the event id of the PDU on stdin', load: async () => (await import('./commands/events.js')).eventIdCommand },
  redact: { summary: 'the redacted form of the PDU on stdin', load: async () => (await import('./commands/events.js')).redactCommand },
  'check-event': {
    summary: 'content hash and signature checks of the PDU on stdin',
    load: async () => (await import('./commands/events.js')).checkEventCommand,
  },
  'check-auth': { summary: 'authorization rules for an event', load: async () => (await import('./commands/events.js')).checkAuthCommand },
  'resolve-state': { summary: 'state resolution over state sets', load: async () => (await import('./commands/state.js')).resolveStateCmd },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(22)} ${c.summary}`);
  return (
    `usage: lattice <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
    'Run "lattice <command> --help" for the options of a command.\n'
  );
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return 0;
  }
  // `lattice help COMMAND` is `lattice COMMAND --help`.
  if (name === 'help') return rest[0] ? main([rest[0], '--help']) : main(['--help']);
  if (!name) {
    process.stderr.write(usage());
    return 2;
  }
  const entry = commands[name];
  if (!entry) {
    const what = name.startsWith('-') ? `unknown option ${name}` : `unknown command "${name}"`;
    process.stderr.write(`lattice: ${what}\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await entry.load())(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`lattice ${name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
