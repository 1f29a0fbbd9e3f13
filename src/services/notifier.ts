// Wakes long-polling syncs. Whatever changes something a user's sync would return calls
// notifyUsers (or notifyRoom through the room service) after the change is committed; waiting
// syncs for those users resolve at once instead of polling the database.

export class Notifier {
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Per-user count of notifications, so a sync can tell whether one arrived while it worked. */
  private readonly seq = new Map<string, number>();
  /** In-memory counter for ephemeral streams (typing), the second part of sync tokens. */
  private ephemeral = 0;
  private closed = false;

  get ephemeralPosition(): number {
    return this.ephemeral;
  }

  /** Bumps the ephemeral position (e.g. a typing change) and returns the new one. */
  nextEphemeral(): number {
    return ++this.ephemeral;
  }

  /** Resolves when one of `userId`'s streams changes, after `timeoutMs`, or when `signal` aborts. */
  wait(userId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(userId);
      if (!set) this.waiters.set(userId, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        const s = this.waiters.get(userId);
        if (s) {
          s.delete(done);
          if (s.size === 0) this.waiters.delete(userId);
        }
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  seqOf(userId: string): number {
    return this.seq.get(userId) ?? 0;
  }

  notifyUsers(userIds: Iterable<string>): void {
    for (const u of userIds) {
      this.seq.set(u, (this.seq.get(u) ?? 0) + 1);
      const set = this.waiters.get(u);
      if (set) for (const w of [...set]) w();
    }
  }

  /** Shutdown: wakes every waiting sync, and later waits return at once. */
  close(): void {
    this.closed = true;
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w();
  }

  get waitingCount(): number {
    let n = 0;
    for (const s of this.waiters.values()) n += s.size;
    return n;
  }
}
