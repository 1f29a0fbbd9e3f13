// The events table family: events, their DAG edges, and a cache of parsed events by numeric id.
import type { PDU } from '../events/pdu.js';
import { Lru } from '../util/lru.js';
import type { Sql } from './pool.js';

export interface StoredEvent {
  nid: number;
  eventId: string;
  roomId: string;
  pdu: PDU;
  /** The event as stored: byte-exact as signed. */
  json: string;
  streamOrdering: number | null;
  outlier: boolean;
  softFailed: boolean;
  rejected: string | null;
  stateBefore: number | null;
  stateAfter: number | null;
  replacesStateNid: number | null;
  redactedBy: string | null;
  txnDevice: string | null;
  txnId: string | null;
}

interface EventRow {
  event_nid: string;
  event_id: string;
  room_id: string;
  json: string;
  stream_ordering: string | null;
  outlier: boolean;
  soft_failed: boolean;
  rejected: string | null;
  state_before: string | null;
  state_after: string | null;
  replaces_state_nid: string | null;
  redacted_by: string | null;
  txn_device: string | null;
  txn_id: string | null;
}

const num = (v: string | null) => (v === null ? null : Number(v));

function fromRow(r: EventRow): StoredEvent {
  return {
    nid: Number(r.event_nid),
    eventId: r.event_id,
    roomId: r.room_id,
    pdu: JSON.parse(r.json) as PDU,
    json: r.json,
    streamOrdering: num(r.stream_ordering),
    outlier: r.outlier,
    softFailed: r.soft_failed,
    rejected: r.rejected,
    stateBefore: num(r.state_before),
    stateAfter: num(r.state_after),
    replacesStateNid: num(r.replaces_state_nid),
    redactedBy: r.redacted_by,
    txnDevice: r.txn_device,
    txnId: r.txn_id,
  };
}

// Casts keep int8 values exact; ORDER BY must name `events.` columns, or it sorts the text.
const COLUMNS = 'event_nid::text, event_id, room_id, json, stream_ordering::text, outlier, soft_failed, rejected, state_before::text, state_after::text, replaces_state_nid::text, redacted_by, txn_device, txn_id';
const E_COLUMNS = COLUMNS.split(', ').map((c) => `e.${c}`).join(', ');

export class EventStore {
  // Sized for the hot set (recent events, auth events): each entry holds the parsed PDU, its
  // JSON and its client form, ~4 KB; a larger cache mostly buys longer GC pauses.
  private readonly byNid = new Lru<number, StoredEvent>(10_000);
  private readonly nidById = new Lru<string, number>(50_000);

  constructor(private readonly sql: Sql) {}

  remember(e: StoredEvent): void {
    this.byNid.set(e.nid, e);
    this.nidById.set(e.eventId, e.nid);
  }

  /** The cached copy of an event, without touching the database. */
  cached(eventId: string): StoredEvent | undefined {
    const nid = this.nidById.get(eventId);
    return nid === undefined ? undefined : this.byNid.get(nid);
  }

  /** Drops cached copies (e.g. after a redaction changed redacted_by). */
  forget(nid: number): void {
    this.byNid.delete(nid);
  }

  async byNids(nids: readonly number[]): Promise<Map<number, StoredEvent>> {
    const out = new Map<number, StoredEvent>();
    const missing: number[] = [];
    for (const n of nids) {
      const e = this.byNid.get(n);
      if (e) out.set(n, e);
      else missing.push(n);
    }
    if (missing.length) {
      const rows = await this.sql.unsafe<EventRow[]>(`SELECT ${COLUMNS} FROM events WHERE event_nid = ANY($1::bigint[])`, [missing]);
      for (const r of rows) {
        const e = fromRow(r);
        this.remember(e);
        out.set(e.nid, e);
      }
    }
    return out;
  }

  async byIds(ids: readonly string[]): Promise<Map<string, StoredEvent>> {
    const out = new Map<string, StoredEvent>();
    const missing: string[] = [];
    for (const id of ids) {
      const nid = this.nidById.get(id);
      const e = nid !== undefined ? this.byNid.get(nid) : undefined;
      if (e) out.set(id, e);
      else missing.push(id);
    }
    if (missing.length) {
      const rows = await this.sql.unsafe<EventRow[]>(`SELECT ${COLUMNS} FROM events WHERE event_id = ANY($1::text[])`, [missing]);
      for (const r of rows) {
        const e = fromRow(r);
        this.remember(e);
        out.set(e.eventId, e);
      }
    }
    return out;
  }

  async byId(id: string): Promise<StoredEvent | undefined> {
    return (await this.byIds([id])).get(id);
  }

  /**
   * The events of `roomId` sent with these transaction ids (sender, device, txn id), at any age:
   * what a client's retry resolves to once the room's in-memory map no longer has it. The
   * values must be storable text (see storableText), or the query fails.
   */
  async byTxns(roomId: string, keys: ReadonlyArray<{ sender: string; deviceId: string; txnId: string }>): Promise<StoredEvent[]> {
    if (keys.length === 0) return [];
    // One probe of the events_txn unique index per key: LIMIT keeps the lateral subquery from
    // being flattened into a join, which the planner would hash against all the room's events.
    const rows = await this.sql.unsafe<EventRow[]>(
      `SELECT ${E_COLUMNS} FROM unnest($2::text[], $3::text[], $4::text[]) AS k(s, d, t)
       CROSS JOIN LATERAL (SELECT * FROM events WHERE room_id = $1 AND sender = k.s AND txn_device = k.d AND txn_id = k.t
         AND txn_id IS NOT NULL LIMIT 1) e`,
      [roomId, keys.map((k) => k.sender), keys.map((k) => k.deviceId), keys.map((k) => k.txnId)],
      // Every batch with a transaction runs it: keep it prepared (unsafe() defaults to unprepared).
      { prepare: true },
    );
    return rows.map((r) => {
      const e = fromRow(r);
      this.remember(e);
      return e;
    });
  }

  /** Room events with from < stream_ordering <= to, ascending; or descending when `backwards`. */
  async roomRange(roomId: string, from: number, to: number, limit: number, backwards: boolean): Promise<StoredEvent[]> {
    const rows = await this.sql.unsafe<EventRow[]>(
      `SELECT ${COLUMNS} FROM events WHERE room_id = $1 AND stream_ordering > $2 AND stream_ordering <= $3
       ORDER BY events.stream_ordering ${backwards ? 'DESC' : 'ASC'} LIMIT $4`,
      [roomId, from, to, limit],
    );
    return rows.map((r) => {
      const e = fromRow(r);
      this.remember(e);
      return e;
    });
  }

  /** A user's member events in a room's timeline, oldest first (history visibility of non-members). */
  async memberHistory(roomId: string, userId: string): Promise<Array<{ nid: number; stream: number; membership: string | null }>> {
    const rows = await this.sql<{ event_nid: string; stream_ordering: string; membership: string | null }[]>`
      SELECT event_nid::text, stream_ordering::text, (json::jsonb)->'content'->>'membership' AS membership FROM events
      WHERE room_id = ${roomId} AND type = 'm.room.member' AND state_key = ${userId} AND stream_ordering IS NOT NULL
      ORDER BY events.stream_ordering`;
    return rows.map((r) => ({ nid: Number(r.event_nid), stream: Number(r.stream_ordering), membership: r.membership }));
  }
}

/** The event a redaction redacts: top-level `redacts` up to v10, `content.redacts` from v11. */
export function redactsOf(pdu: PDU): string | null {
  if (pdu.type !== 'm.room.redaction') return null;
  if (typeof pdu.redacts === 'string') return pdu.redacts;
  const r = (pdu.content as Record<string, unknown> | undefined)?.redacts;
  return typeof r === 'string' ? r : null;
}
