// Request-body JSON: strict UTF-8, a nesting limit and no lone surrogates, all checked by one
// linear pass over the bytes before JSON.parse, so nothing downstream (schemas, services,
// canonical JSON) ever recurses over an unbounded structure or stores text it cannot encode.
import { badJson, notJson } from './errors.js';

/**
 * Deepest nesting of arrays and objects a body may have. Far above what any client sends, and
 * far below the canonical JSON kernel's 512, so event content nested inside an event (a few
 * levels more) can always still be hashed.
 */
export const MAX_JSON_DEPTH = 100;

const utf8 = new TextDecoder('utf-8', { fatal: true });

const hex = (b: number): number =>
  b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x61 && b <= 0x66 ? b - 0x57 : b >= 0x41 && b <= 0x46 ? b - 0x37 : -1;

/** The code unit of the `\uXXXX` escape whose `u` is at i, or -1 when it is not one. */
function escapedUnit(bytes: Uint8Array, i: number): number {
  if (i + 4 >= bytes.length) return -1;
  let v = 0;
  for (let k = 1; k <= 4; k++) {
    const h = hex(bytes[i + k]!);
    if (h < 0) return -1;
    v = (v << 4) | h;
  }
  return v;
}

/**
 * Throws M_BAD_JSON when `bytes` nest deeper than `maxDepth` or a string holds a lone surrogate
 * escape. Malformed JSON is left for JSON.parse to refuse.
 */
export function scanJson(bytes: Uint8Array, maxDepth = MAX_JSON_DEPTH): void {
  let depth = 0;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0x22 /* " */) {
      // Inside a string: only escapes matter; raw UTF-8 is already known to be valid.
      for (i++; i < n; i++) {
        const c = bytes[i]!;
        if (c === 0x22) break;
        if (c !== 0x5c /* \ */) continue;
        i++;
        if (bytes[i] !== 0x75 /* u */) continue;
        const unit = escapedUnit(bytes, i);
        if (unit < 0xd800 || unit > 0xdfff) continue;
        // A high surrogate must be followed by an escaped low one; a low one alone is lone.
        const next = unit <= 0xdbff && bytes[i + 5] === 0x5c && bytes[i + 6] === 0x75 ? escapedUnit(bytes, i + 6) : -1;
        if (next < 0xdc00 || next > 0xdfff) throw badJson('Strings cannot hold lone surrogates (\\uD800-\\uDFFF unpaired)');
        i += 10;
      }
    } else if (b === 0x5b /* [ */ || b === 0x7b /* { */) {
      if (++depth > maxDepth) throw badJson(`JSON is nested deeper than ${maxDepth} levels`);
    } else if (b === 0x5d /* ] */ || b === 0x7d /* } */) {
      depth--;
    }
  }
}

/**
 * Parses a JSON request body. Empty is `{}` (clients send no body to endpoints that take an
 * empty object). Invalid UTF-8 or JSON is 400 M_NOT_JSON; see scanJson for M_BAD_JSON.
 */
export function parseJsonBody(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return {};
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw notJson('Request body is not valid UTF-8');
  }
  scanJson(bytes);
  try {
    return JSON.parse(text);
  } catch {
    throw notJson('Request body is not valid JSON');
  }
}
