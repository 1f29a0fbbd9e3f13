// Text that can travel: a string with no lone surrogate encodes to UTF-8 (and so to JSON for
// hashing, and to PostgreSQL); one with no NUL also fits a PostgreSQL text column.

/** No unpaired surrogate (String.prototype.isWellFormed, Node 20; not yet in the ES2023 lib). */
export function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/**
 * Whether a text column can hold `s` unchanged: PostgreSQL refuses NUL (failing the whole
 * statement), and a lone surrogate would be written as U+FFFD, silently changing the value.
 */
export function storableText(s: string): boolean {
  return s.indexOf('\u0000') === -1 && isWellFormed(s);
}
