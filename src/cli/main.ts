// `lattice` command-line entry point: dispatches to one module per command family.
import { UsageError, type Command } from './io.js';

type Loader = () => Promise<Command>;

// Lazy imports keep each command's start-up cost to what it uses.
const commands: Record<string, { summary: string; load: Loader }> = {
  start: { summary: 'run the homeserver [--config PATH]', load: async () => (await import('./commands/server.js')).start },
  'generate-config': {
    summary: 'write a commented config file [--output PATH] [--server-name NAME]',
    load: async () => (await import('./commands/server.js')).generateConfig,
  },
  'generate-signing-key': {
    summary: 'write a new ed25519 signing key [--output PATH]',
    load: async () => (await import('./commands/server.js')).generateSigningKeyCmd,
  },
  'register-user': {
    summary: 'create a local user NAME [--password PW] [--admin] [--config PATH]',
    load: async () => (await import('./commands/users.js')).registerUser,
  },
  'canonical-json': {
    summary: 'canonical JSON of stdin [--drop k1,k2] [--lax] [--ndjson]',
    load: async () => (await import('./commands/crypto.js')).canonicalJsonCmd,
  },
  'sign-json': {
    summary: 'sign the JSON object on stdin --server NAME --key FILE [--ndjson]',
    load: async () => (await import('./commands/crypto.js')).signJsonCmd,
  },
  'verify-json': {
    summary: 'check a signature --server NAME --key-id ID --public-key B64 [--ndjson]',
    load: async () => (await import('./commands/crypto.js')).verifyJsonCmd,
  },
  'event-id': {
    summary: 'event id of the PDU on stdin --room-version V [--ndjson]',
    load: async () => (await import('./commands/events.js')).eventIdCommand,
  },
  redact: {
    summary: 'the redacted form of the PDU on stdin --room-version V [--ndjson]',
    load: async () => (await import('./commands/events.js')).redactCommand,
  },
  'check-event': {
    summary: 'content hash and signatures of a PDU --room-version V --keys FILE [--ndjson]',
    load: async () => (await import('./commands/events.js')).checkEventCommand,
  },
  'check-auth': {
    summary: 'authorization rules: {room_version, event, auth_events, create_event?} [--ndjson]',
    load: async () => (await import('./commands/events.js')).checkAuthCommand,
  },
  'resolve-state': {
    summary: 'state resolution: {room_version, events, state_sets} [--ndjson] [--kernels wasm|ts]',
    load: async () => (await import('./commands/state.js')).resolveStateCmd,
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(22)} ${c.summary}`);
  return `usage: lattice <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await entry.load())(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
