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

/** The raw input documents: the whole of stdin, or each non-blank line with --ndjson. */
export async function readDocuments(ndjson: boolean): Promise<Buffer[]> {
  const all = await readStdin();
  if (!ndjson) return [all];
  const docs: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= all.length; i++) {
    if (i === all.length || all[i] === 0x0a) {
      const line = all.subarray(start, i);
      if (line.toString('utf8').trim() !== '') docs.push(line);
      start = i + 1;
    }
  }
  return docs;
}

export function parseJsonDocument(doc: Buffer): unknown {
  return JSON.parse(doc.toString('utf8'));
}

export function writeLine(text: string): void {
  process.stdout.write(text + '\n');
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
 * Runs `handle` over each input document. A document the command cannot use (not JSON, wrong
 * shape) is reported on stderr and makes the exit status 1; the others still get their line.
 */
export async function eachDocument(
  ndjson: boolean,
  handle: (doc: Buffer) => Promise<string> | string,
): Promise<number> {
  let status = 0;
  for (const doc of await readDocuments(ndjson)) {
    try {
      writeLine(await handle(doc));
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      status = 1;
    }
  }
  return status;
}
