// Shared conventions of the CLI commands: declared options (strict parsing, --help for every
// command, usage errors with exit status 2), and for the JSON-in/JSON-out commands one JSON
// document on stdin, or one per line with --ndjson, and one result line per input on stdout.
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Stdin split into lines as it arrives (so a caller can write a line and wait for its answer).
 * A final line without a newline counts; a trailing CR is dropped.
 */
export async function* stdinLines(input: AsyncIterable<Buffer | string> = process.stdin): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  for await (const raw of input) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a)) {
      pending.push(chunk.subarray(0, nl));
      yield stripCr(pending.length === 1 ? pending[0]! : Buffer.concat(pending));
      pending = [];
      chunk = chunk.subarray(nl + 1);
    }
    if (chunk.length) pending.push(chunk);
  }
  if (pending.length) yield stripCr(Buffer.concat(pending));
}

function isBlank(line: Buffer): boolean {
  for (const b of line) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
}

function stripCr(line: Buffer): Buffer {
  return line.length && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
}

export function parseJsonDocument(doc: Buffer): unknown {
  return JSON.parse(doc.toString('utf8'));
}

/** Writes one line, waiting while a slow reader has the pipe full. */
export async function writeLine(text: string): Promise<void> {
  if (!process.stdout.write(text + '\n')) await new Promise((r) => process.stdout.once('drain', r));
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in the help, e.g. PATH. */
  arg?: string;
  help: string;
}

export interface CommandSpec<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  name: string;
  /** What follows `lattice NAME` in the usage line, e.g. "USER [--admin]". */
  synopsis: string;
  description: string;
  options: O;
  /** How many positional arguments the command takes (none if absent). */
  positionals?: { min: number; max: number };
}

export type OptionValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean;
};

export type Command = (args: string[]) => Promise<number>;

const HELP_OPTION = { type: 'boolean', short: 'h', help: 'show this help' } as const;

function parseOptions(spec: CommandSpec) {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, o] of Object.entries({ ...spec.options, help: HELP_OPTION })) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}) };
  }
  return options;
}

export function usageLine(spec: CommandSpec): string {
  return `usage: lattice ${spec.name}${spec.synopsis ? ` ${spec.synopsis}` : ''}`;
}

export function commandHelp(spec: CommandSpec): string {
  const rows = Object.entries({ ...spec.options, help: HELP_OPTION }).map(([name, o]: [string, OptionSpec]) => [
    `${o.short ? `-${o.short}, ` : '    '}--${name}${o.arg ? ` ${o.arg}` : ''}`,
    o.help,
  ]);
  const width = Math.max(...rows.map(([l]) => l!.length));
  const options = rows.map(([l, h]) => `  ${l!.padEnd(width)}  ${h}`).join('\n');
  return `${usageLine(spec)}\n\n${spec.description}\n\noptions:\n${options}\n`;
}

/** node:util's parse errors, in plain words. */
function parseErrorMessage(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const m = /'([^']+)'/.exec(err.message);
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && m) return `unknown option ${m[1]}`;
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && m) return `unexpected argument "${m[1]}"`;
  const flag = /--[\w-]+/.exec(err.message)?.[0];
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
    if (/argument missing/.test(err.message)) return `${flag} needs a value`;
    if (/does not take an argument/.test(err.message)) return `${flag} takes no value`;
  }
  return err.message;
}

/** Strict parsing: an unknown option, a missing value or a stray argument is a usage error. */
export function parseCommandArgs<O extends Record<string, OptionSpec>>(args: string[], spec: CommandSpec<O>) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: parseOptions(spec), allowPositionals: !!spec.positionals, strict: true });
  } catch (e) {
    throw new UsageError(parseErrorMessage(e));
  }
  const n = parsed.positionals.length;
  if (spec.positionals && (n < spec.positionals.min || n > spec.positionals.max)) {
    throw new UsageError(n < spec.positionals.min ? 'missing an argument' : `unexpected argument "${parsed.positionals[spec.positionals.max]}"`);
  }
  return { values: parsed.values as OptionValues<O>, positionals: parsed.positionals };
}

/** Whether the arguments ask for help (a --help or -h that is not an option's value). */
function wantsHelp(args: string[], spec: CommandSpec): boolean {
  const { tokens } = parseArgs({ args, options: parseOptions(spec), allowPositionals: true, strict: false, tokens: true });
  return tokens.some((t) => t.kind === 'option' && t.name === 'help');
}

/**
 * A command from its declaration and its body: `--help` prints the help and exits 0 before
 * anything else runs; a usage error prints the message and the usage line and exits 2.
 */
export function defineCommand<const O extends Record<string, OptionSpec>>(
  spec: CommandSpec<O>,
  run: (values: OptionValues<O>, positionals: string[]) => Promise<number>,
): Command {
  return async (args) => {
    if (wantsHelp(args, spec)) {
      process.stdout.write(commandHelp(spec));
      return 0;
    }
    try {
      const { values, positionals } = parseCommandArgs(args, spec);
      return await run(values, positionals);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      process.stderr.write(`lattice ${spec.name}: ${e.message}\n${usageLine(spec)}\nRun "lattice ${spec.name} --help" for its options.\n`);
      return 2;
    }
  };
}

export const CONFIG_OPTION = {
  type: 'string',
  short: 'c',
  arg: 'PATH',
  help: 'the YAML config file (default: $LATTICE_CONFIG, else the built-in defaults)',
} as const;

/** The --ndjson option the JSON commands share. */
export const NDJSON_OPTION = {
  type: 'boolean',
  help: 'one document per input line; each gets one output line (or {"error": …})',
} as const;

/**
 * Runs `handle` over the input: the whole of stdin as one document, or, with --ndjson, each line.
 *
 * With --ndjson every input line gets exactly one output line, in order: the result, or
 * {"error": "…"} for a line that cannot be used (not JSON, the wrong shape, too deep, a blank
 * line), so output line N always answers input line N. The errors are also reported on stderr
 * with their line number. Either way an unusable document makes the exit status 1.
 */
export async function eachDocument(
  ndjson: boolean,
  handle: (doc: Buffer) => Promise<string> | string,
): Promise<number> {
  if (!ndjson) {
    try {
      await writeLine(await handle(await readStdin()));
      return 0;
    } catch (e) {
      process.stderr.write(`error: ${messageOf(e)}\n`);
      return 1;
    }
  }
  let status = 0;
  let lineNo = 0;
  for await (const line of stdinLines()) {
    lineNo++;
    let out: string;
    try {
      if (isBlank(line)) throw new Error('empty line');
      out = await handle(line);
    } catch (e) {
      const message = messageOf(e);
      out = JSON.stringify({ error: message });
      process.stderr.write(`error: line ${lineNo}: ${message}\n`);
      status = 1;
    }
    await writeLine(out);
  }
  return status;
}
