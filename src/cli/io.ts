// Shared conventions of the JSON-in/JSON-out CLI commands: one JSON document on stdin, or one
// per line with --ndjson; one result line per input on stdout.
import { parseArgs, type ParseArgsConfig } from 'node:util';

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

export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export type Command = (args: string[]) => Promise<number>;

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
