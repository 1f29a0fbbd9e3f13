// Repository for unread notification counts: the push outcome of each notifying event
// (push_events) and each user's read marks (push_read_marks). See sql/0007_push_actions.sql.
import type { Sql } from './pool.js';

export interface PushEventRow {
  stream: number;
  thread: string;
  sender: string;
  base: number;
  /** user id → outcome, for members whose outcome differs from `base`. */
  exceptions: Record<string, number> | null;
}

export interface ReadMarkRow {
  userId: string;
  /** '' for the whole room, 'main' or a thread root. */
  thread: string;
  stream: number;
  changedPos: number;
}

const OID = { bigint: 20, text: 25, smallint: 21 } as const;

export class PushActionStore {
  constructor(private readonly sql: Sql) {}

  async loadRoom(roomId: string): Promise<{ events: PushEventRow[]; marks: ReadMarkRow[] }> {
    const [events, marks] = await Promise.all([
      this.sql<{ stream_ordering: string; thread_id: string; sender: string; base: number; exceptions: string | null }[]>`
        SELECT stream_ordering::text, thread_id, sender, base, exceptions FROM push_events WHERE room_id = ${roomId}
        ORDER BY stream_ordering`,
      this.sql<{ user_id: string; thread_id: string; stream_ordering: string; changed_pos: string }[]>`
        SELECT user_id, thread_id, stream_ordering::text, changed_pos::text FROM push_read_marks WHERE room_id = ${roomId}`,
    ]);
    return {
      events: events.map((r) => ({
        stream: Number(r.stream_ordering),
        thread: r.thread_id,
        sender: r.sender,
        base: r.base,
        exceptions: r.exceptions === null ? null : (JSON.parse(r.exceptions) as Record<string, number>),
      })),
      marks: marks.map((r) => ({ userId: r.user_id, thread: r.thread_id, stream: Number(r.stream_ordering), changedPos: Number(r.changed_pos) })),
    };
  }

  /** The latest read-mark change of each room for one user. */
  async markChanges(userId: string): Promise<Map<string, number>> {
    const rows = await this.sql<{ room_id: string; p: string }[]>`
      SELECT room_id, max(changed_pos)::text AS p FROM push_read_marks WHERE user_id = ${userId} GROUP BY room_id`;
    return new Map(rows.map((r) => [r.room_id, Number(r.p)]));
  }

  /**
   * One statement for a batch: inserts the notifying events and moves the read marks forward
   * (never back). `marks` must hold each (user, thread) once.
   */
  async write(roomId: string, events: readonly PushEventRow[], marks: readonly ReadMarkRow[]): Promise<void> {
    if (events.length === 0 && marks.length === 0) return;
    const sql = this.sql;
    const arr = (values: unknown[], oid: number) => sql.array(values as never[], oid);
    await sql.unsafe(
      `WITH ev AS (
         INSERT INTO push_events (room_id, stream_ordering, thread_id, sender, base, exceptions)
         SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::smallint[], $6::text[]) ON CONFLICT DO NOTHING)
       INSERT INTO push_read_marks AS m (room_id, user_id, thread_id, stream_ordering, changed_pos)
       SELECT $1, * FROM unnest($7::text[], $8::text[], $9::bigint[], $10::bigint[])
       ON CONFLICT (user_id, room_id, thread_id) DO UPDATE SET
         stream_ordering = GREATEST(m.stream_ordering, EXCLUDED.stream_ordering),
         changed_pos = GREATEST(m.changed_pos, EXCLUDED.changed_pos)`,
      [
        roomId,
        arr(events.map((e) => e.stream), OID.bigint),
        arr(events.map((e) => e.thread), OID.text),
        arr(events.map((e) => e.sender), OID.text),
        arr(events.map((e) => e.base), OID.smallint),
        arr(events.map((e) => (e.exceptions ? JSON.stringify(e.exceptions) : null)), OID.text),
        arr(marks.map((m) => m.userId), OID.text),
        arr(marks.map((m) => m.thread), OID.text),
        arr(marks.map((m) => m.stream), OID.bigint),
        arr(marks.map((m) => m.changedPos), OID.bigint),
      ] as never[],
    );
  }
}
