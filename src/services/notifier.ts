// Wakes long-polling syncs. Whatever changes something a user's sync would return calls
// notifyUsers (or notifyRoom through the room service) after the change is committed; waiting
// syncs for those users resolve at once instead of polling the database.

/**
 * Waiters woken per turn of the event loop. Waking 10,000 syncs at once interleaves their
 * builds through the microtask queue, so every half-built response stays alive at the same
 * time and the young generation's scavenges copy (and promote) all of them; in chunks, each
 * chunk's syncs run to their response before the next chunk starts.
 */
const WAKE_CHUNK = 128;

export class Notifier {
  /** Waiters to wake, drained WAKE_CHUNK at a time (see above). */
  private wakeQueue: Array<() => void> = [];
  private wakeAt = 0;
  private wakeScheduled = false;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly abortSlots = new WeakMap<AbortSignal, { current?: () => void }>();
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
      let fired = false;
      const done = () => {
        if (fired) return;
        fired = true;
        clearTimeout(timer);
        const s = this.waiters.get(userId);
        if (s) {
          s.delete(done);
          if (s.size === 0) this.waiters.delete(userId);
        }
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      if (signal) {
        if (signal.aborted) return done();
        // One abort listener per request, pointed at its current wait: removing a listener on
        // every wake-up cost more than the rest of the wake-up, and leaving one per wait would
        // pile them up on a request that waits again and again.
        let slot = this.abortSlots.get(signal);
        if (!slot) {
          const s: { current?: () => void } = {};
          this.abortSlots.set(signal, (slot = s));
          signal.addEventListener('abort', () => s.current?.(), { once: true });
        }
        slot.current = done;
      }
      set.add(done);
    });
  }

  seqOf(userId: string): number {
    return this.seq.get(userId) ?? 0;
  }

  notifyUsers(userIds: Iterable<string>): void {
    // The counters move now, so a sync building meanwhile sees the change; only the wake-ups
    // are spread over turns.
    for (const u of userIds) {
      this.seq.set(u, (this.seq.get(u) ?? 0) + 1);
      const set = this.waiters.get(u);
      if (set) for (const w of set) this.wakeQueue.push(w);
    }
    this.drainWakes();
  }

  private drainWakes(): void {
    const q = this.wakeQueue;
    const end = Math.min(q.length, this.wakeAt + WAKE_CHUNK);
    // A waiter may already be done (timed out, aborted, woken twice): done() is idempotent.
    for (; this.wakeAt < end; this.wakeAt++) q[this.wakeAt]!();
    if (this.wakeAt < q.length) {
      if (!this.wakeScheduled) {
        this.wakeScheduled = true;
        setImmediate(() => {
          this.wakeScheduled = false;
          this.drainWakes();
        });
      }
    } else {
      this.wakeQueue = [];
      this.wakeAt = 0;
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
