// Repository for receipts: the latest receipt of each (room, user, type, thread), stamped with
// its stream position; and the event facts receipts are checked against.
import type { Sql } from './pool.js';

export interface ReceiptRow {
  roomId: string;
  userId: string;
  type: string;
  /** '' for unthreaded receipts. */
  threadId: string;
  eventId: string;
  ts: number;
  pos: number;
}

export interface ReceiptTarget {
  streamOrdering: number | null;
  /** The event's m.relates_to, for thread checks. */
  relatesTo: { rel_type?: unknown; event_id?: unknown } | undefined;
}

export class ReceiptStore {
  constructor(private readonly sql: Sql) {}

  /** The event in the room's timeline, or undefined. */
  async event(roomId: string, eventId: string): Promise<ReceiptTarget | undefined> {
    const rows = await this.sql`SELECT stream_ordering, json FROM events WHERE event_id = ${eventId} AND room_id = ${roomId}`;
    const r = rows[0];
    if (!r) return undefined;
    let relatesTo: ReceiptTarget['relatesTo'];
    try {
      const content = (JSON.parse(r.json as string) as { content?: Record<string, unknown> }).content;
      const rel = content?.['m.relates_to'];
      if (rel && typeof rel === 'object') relatesTo = rel as ReceiptTarget['relatesTo'];
    } catch {
      relatesTo = undefined;
    }
    return { streamOrdering: r.stream_ordering === null ? null : Number(r.stream_ordering), relatesTo };
  }

  /** The stream ordering of the event the user's current receipt points at, if any. */
  async currentOrdering(sql: Sql, roomId: string, userId: string, type: string, threadId: string): Promise<number | null | undefined> {
    const rows = await sql`
      SELECT e.stream_ordering FROM receipts r LEFT JOIN events e ON e.event_id = r.event_id
      WHERE r.room_id = ${roomId} AND r.user_id = ${userId} AND r.receipt_type = ${type} AND r.thread_id = ${threadId}`;
    if (!rows[0]) return undefined;
    return rows[0].stream_ordering === null ? null : Number(rows[0].stream_ordering);
  }

  async upsert(sql: Sql, r: ReceiptRow): Promise<void> {
    await sql`
      INSERT INTO receipts (room_id, user_id, receipt_type, thread_id, event_id, ts, stream_pos)
      VALUES (${r.roomId}, ${r.userId}, ${r.type}, ${r.threadId}, ${r.eventId}, ${r.ts}, ${r.pos})
      ON CONFLICT (room_id, user_id, receipt_type, thread_id)
      DO UPDATE SET event_id = EXCLUDED.event_id, ts = EXCLUDED.ts, stream_pos = EXCLUDED.stream_pos`;
  }

  async lockReceiptKey(sql: Sql, roomId: string, userId: string, type: string, threadId: string): Promise<void> {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${['receipt', roomId, userId, type, threadId].join('\u0001')}, 0))`;
  }

  /** The latest receipt position of each room (absent: none). */
  async latestPositions(roomIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.sql`
      SELECT room_id, max(stream_pos)::text AS p FROM receipts WHERE room_id = ANY(${[...roomIds]}) GROUP BY room_id`;
    return new Map(rows.map((r) => [r.room_id as string, Number(r.p)]));
  }

  /** Receipts in the rooms changed in (since, upto]; since null: all up to `upto`. */
  async changes(roomIds: readonly string[], since: number | null, upto: number): Promise<ReceiptRow[]> {
    const ids = [...roomIds];
    const rows =
      since === null
        ? await this.sql`SELECT room_id, user_id, receipt_type, thread_id, event_id, ts, stream_pos FROM receipts
            WHERE room_id = ANY(${ids}) AND stream_pos <= ${upto}`
        : await this.sql`SELECT room_id, user_id, receipt_type, thread_id, event_id, ts, stream_pos FROM receipts
            WHERE room_id = ANY(${ids}) AND stream_pos > ${since} AND stream_pos <= ${upto}`;
    return rows.map((r) => ({
      roomId: r.room_id as string,
      userId: r.user_id as string,
      type: r.receipt_type as string,
      threadId: r.thread_id as string,
      eventId: r.event_id as string,
      ts: Number(r.ts),
      pos: Number(r.stream_pos),
    }));
  }
}
