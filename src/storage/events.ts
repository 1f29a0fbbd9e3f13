// The events table family: events, their DAG edges, and a cache of parsed events by numeric id.
import type { PDU } from '../events/pdu.js';
import { referencedEventIds } from '../events/pdu.js';
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

export class EventStore {
  private readonly byNid = new Lru<number, StoredEvent>(50_000);
  private readonly nidById = new Lru<string, number>(100_000);

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

  /** Events already sent with any of these (sender, device, txn id) triples, keyed `sender\0device\0txn`. */
  async byTxns(roomId: string, txns: ReadonlyArray<{ sender: string; device: string; txnId: string }>): Promise<Map<string, StoredEvent>> {
    const out = new Map<string, StoredEvent>();
    if (txns.length === 0) return out;
    const rows = await this.sql.unsafe<EventRow[]>(
      `SELECT ${COLUMNS} FROM events e JOIN unnest($2::text[], $3::text[], $4::text[]) AS t(sender, device, txn)
         ON e.sender = t.sender AND e.txn_device = t.device AND e.txn_id = t.txn
       WHERE e.room_id = $1`,
      [roomId, txns.map((t) => t.sender), txns.map((t) => t.device), txns.map((t) => t.txnId)],
    );
    for (const r of rows) {
      const e = fromRow(r);
      out.set(`${e.pdu.sender}\u0000${r.txn_device}\u0000${r.txn_id}`, e);
    }
    return out;
  }

  /** Takes `n` numeric ids ahead of inserting (state snapshots reference them). */
  async allocateNids(tx: Sql, n: number): Promise<number[]> {
    const rows = await tx<{ id: string }[]>`SELECT nextval('events_event_nid_seq')::text AS id FROM generate_series(1, ${n})`;
    return rows.map((r) => Number(r.id));
  }

  /** Inserts events and their edges inside `tx`. */
  async insert(tx: Sql, events: readonly StoredEvent[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map((e) => ({
      event_nid: e.nid,
      event_id: e.eventId,
      room_id: e.roomId,
      type: e.pdu.type,
      state_key: e.pdu.state_key ?? null,
      sender: e.pdu.sender,
      depth: e.pdu.depth,
      origin_server_ts: e.pdu.origin_server_ts,
      stream_ordering: e.streamOrdering,
      json: e.json,
      redacts: redactsOf(e.pdu),
      outlier: e.outlier,
      soft_failed: e.softFailed,
      rejected: e.rejected,
      state_before: e.stateBefore,
      state_after: e.stateAfter,
      replaces_state_nid: e.replacesStateNid,
      txn_device: e.txnDevice,
      txn_id: e.txnId,
    }));
    await tx`INSERT INTO events ${tx(rows)}`;
    const edges = events.flatMap((e) => referencedEventIds(e.pdu.prev_events).map((p) => ({ event_nid: e.nid, prev_event_id: p })));
    if (edges.length) await tx`INSERT INTO event_edges ${tx(edges)} ON CONFLICT DO NOTHING`;
    const auth = events.flatMap((e) => referencedEventIds(e.pdu.auth_events).map((a) => ({ event_nid: e.nid, auth_event_id: a })));
    if (auth.length) await tx`INSERT INTO event_auth_edges ${tx(auth)} ON CONFLICT DO NOTHING`;
    for (const e of events) this.remember(e);
  }
}

/** The event a redaction redacts: top-level `redacts` up to v10, `content.redacts` from v11. */
export function redactsOf(pdu: PDU): string | null {
  if (pdu.type !== 'm.room.redaction') return null;
  if (typeof pdu.redacts === 'string') return pdu.redacts;
  const r = (pdu.content as Record<string, unknown> | undefined)?.redacts;
  return typeof r === 'string' ? r : null;
}
