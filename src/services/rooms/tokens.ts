// Pagination tokens for /messages and /context: `t<N>` is the gap after stream position N.
// Sync tokens (`s<N>_<M>`) are accepted too, as clients pass next_batch to /messages.
import { parseSyncToken } from '../sync/types.js';

export function formatPageToken(stream: number): string {
  return `t${stream}`;
}

export function parsePageToken(s: string): number | undefined {
  const m = /^t(\d{1,15})$/.exec(s);
  if (m) return Number(m[1]);
  return parseSyncToken(s)?.stream;
}
