// Writes a batch of a room's new events: events and edges, state snapshots, the room's current
// state and extremities, memberships and redaction marks — in ONE statement of data-modifying
// CTEs fed by arrays. A single statement is atomic by itself, so a batch costs one round trip
// (no BEGIN/COMMIT), and its text never changes, so it stays prepared.
import { isStateEvent } from '../../events/pdu.js';
import { referencedEventIds } from '../../events/pdu.js';
import { redactsOf, type EventStore, type StoredEvent } from '../../storage/events.js';
import type { Sql } from '../../storage/pool.js';
import { storableText } from '../../util/text.js';
import { stateKey, type StateTree } from '../../storage/state-tree.js';
import type { LoadedRoom } from './loaded-room.js';

export interface PersistDeps {
  sql: Sql;
  events: EventStore;
  tree: StateTree;
}

const EVENT_COLUMNS =
  'event_nid, event_id, room_id, type, state_key, sender, depth, origin_server_ts, stream_ordering, json, redacts, ' +
  'outlier, soft_failed, rejected, state_before, state_after, replaces_state_nid, redacted_by, txn_device, txn_id';
const EVENT_TYPES = 'bigint,text,text,text,text,text,bigint,bigint,bigint,text,text,bool,bool,text,bigint,bigint,bigint,text,text,text'.split(',');

// $1…$20 event columns, then the rest numbered below.
const P = EVENT_TYPES.length;
const eventsCte = `ev AS (INSERT INTO events (${EVENT_COLUMNS}) SELECT * FROM unnest(${EVENT_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}))`;
const COMMON = [
  eventsCte,
  `pe AS (INSERT INTO event_edges (event_nid, prev_event_id) SELECT * FROM unnest($${P + 1}::bigint[], $${P + 2}::text[]) ON CONFLICT DO NOTHING)`,
  `ae AS (INSERT INTO event_auth_edges (event_nid, auth_event_id) SELECT * FROM unnest($${P + 3}::bigint[], $${P + 4}::text[]) ON CONFLICT DO NOTHING)`,
  `cs AS (INSERT INTO current_state (room_id, type, state_key, event_nid) SELECT $${P + 5}, * FROM unnest($${P + 7}::text[], $${P + 8}::text[], $${P + 9}::bigint[])
     ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_nid = EXCLUDED.event_nid)`,
  `mb AS (INSERT INTO room_memberships (room_id, user_id, membership, event_nid, stream_ordering)
     SELECT $${P + 5}, * FROM unnest($${P + 10}::text[], $${P + 11}::text[], $${P + 12}::bigint[], $${P + 13}::bigint[])
     ON CONFLICT (room_id, user_id) DO UPDATE SET membership = EXCLUDED.membership, event_nid = EXCLUDED.event_nid,
       stream_ordering = EXCLUDED.stream_ordering, forgotten = false)`,
  `sn AS (INSERT INTO state_nodes (node_id, data) SELECT * FROM unnest($${P + 16}::bigint[], $${P + 17}::text[]))`,
];
const UPDATE_ROOM = `rm AS (UPDATE rooms SET current_state_root = $${P + 18}, max_depth = GREATEST(max_depth, $${P + 19}),
  forward_extremities = $${P + 6}::text[] WHERE room_id = $${P + 5})`;
const INSERT_ROOM = `rm AS (INSERT INTO rooms (room_id, room_version, creator, created_ts, is_public, current_state_root, max_depth, forward_extremities)
  VALUES ($${P + 5}, $${P + 20}, $${P + 21}, $${P + 22}, $${P + 23}, $${P + 18}, $${P + 19}, $${P + 6}::text[]))`;
// Marking redacted events joins `events` against the array: fine with the real values, but a
// generic plan (which prepared statements move to) can scan the whole table. Redactions are rare,
// so only batches that have one use this variant, unprepared, planned with their values.
const REDACT = `rd AS (UPDATE events SET redacted_by = r.by FROM unnest($${P + 14}::text[], $${P + 15}::text[]) AS r(target, by)
     WHERE events.event_id = r.target AND events.room_id = $${P + 5} AND events.redacted_by IS NULL)`;
const BATCH_SQL = `WITH ${[...COMMON, UPDATE_ROOM].join(',\n')} SELECT 1`;
const BATCH_REDACT_SQL = `WITH ${[...COMMON, UPDATE_ROOM, REDACT].join(',\n')} SELECT 1`;
const CREATE_SQL = `WITH ${[...COMMON, INSERT_ROOM].join(',\n')} SELECT 1`;

/** The `events` row of `e`, in EVENT_COLUMNS order. */
function eventRow(roomId: string, e: StoredEvent): unknown[] {
  const p = e.pdu;
  return [
    e.nid, e.eventId, roomId, p.type, p.state_key ?? null, p.sender, p.depth, p.origin_server_ts, e.streamOrdering, e.json,
    redactsOf(p), e.outlier, e.softFailed, e.rejected, e.stateBefore, e.stateAfter, e.replacesStateNid, e.redactedBy, e.txnDevice, e.txnId,
  ];
}
const TEXT_COLUMNS = EVENT_COLUMNS.split(', ')
  .map((name, i) => ({ name, i }))
  .filter((c) => EVENT_TYPES[c.i] === 'text');

/**
 * Why persistBatch could not write `e`: the name of the first text value it would send that
 * PostgreSQL cannot store (see storableText), or undefined. One such value fails the whole
 * batch's statement, so the room service refuses the event alone before it joins a batch.
 */
export function unstorableField(roomId: string, e: StoredEvent): string | undefined {
  const row = eventRow(roomId, e);
  for (const c of TEXT_COLUMNS) {
    const v = row[c.i];
    if (typeof v === 'string' && !storableText(v)) return c.name;
  }
  const p = e.pdu;
  for (const id of referencedEventIds(p.prev_events)) if (!storableText(id)) return 'prev_events';
  for (const id of referencedEventIds(p.auth_events)) if (!storableText(id)) return 'auth_events';
  if (p.type === 'm.room.member' && !storableText(String(p.content.membership))) return 'membership';
  return undefined;
}

/**
 * Persists `batch` (already applied to `room` in memory, in order). `room.root` is the state
 * root before the batch; on success it becomes the root after it. `createRoom` writes the
 * rooms row too.
 */
export async function persistBatch(
  deps: PersistDeps,
  room: LoadedRoom,
  batch: StoredEvent[],
  createRoom?: { creator: string; isPublic: boolean },
): Promise<void> {
  const { sql, events, tree } = deps;
  let root = room.root;
  const nodes: Array<{ node_id: number; data: string }> = [];
  const state = new Map<string, StoredEvent>();
  const members = new Map<string, StoredEvent>();
  const redactions: Array<[target: string, by: string]> = [];
  const inBatch = new Map(batch.map((e) => [e.eventId, e]));
  for (const e of batch) {
    e.stateBefore = root;
    if (isStateEvent(e.pdu) && !e.rejected) {
      const key = stateKey(e.pdu.type, e.pdu.state_key!);
      const prepared = await tree.prepare(root, new Map([[key, e.nid]]));
      root = prepared.root;
      nodes.push(...prepared.rows);
      state.set(key, e);
      if (e.pdu.type === 'm.room.member') members.set(e.pdu.state_key!, e);
    }
    e.stateAfter = root;
    const target = redactsOf(e.pdu);
    if (target) {
      const t = inBatch.get(target);
      if (t) t.redactedBy ??= e.eventId;
      else redactions.push([target, e.eventId]);
    }
  }

  const cols: unknown[][] = EVENT_TYPES.map(() => []);
  const prevNids: number[] = [];
  const prevIds: string[] = [];
  const authNids: number[] = [];
  const authIds: string[] = [];
  for (const e of batch) {
    const p = e.pdu;
    const row = eventRow(room.roomId, e);
    for (let i = 0; i < row.length; i++) cols[i]!.push(row[i]);
    for (const id of referencedEventIds(p.prev_events)) prevNids.push(e.nid), prevIds.push(id);
    for (const id of referencedEventIds(p.auth_events)) authNids.push(e.nid), authIds.push(id);
  }
  const stateRows = [...state.values()];
  const memberRows = [...members.values()];
  // Typed arrays for the unnest() columns (postgres.js would guess an array's type from its first element).
  const OID: Record<string, number> = { bigint: 20, text: 25, bool: 16 };
  const arr = (values: unknown[], type: string) => sql.array(values as never[], OID[type]);
  const params: unknown[] = [
    ...cols.map((c, i) => arr(c, EVENT_TYPES[i]!)),
    arr(prevNids, 'bigint'), arr(prevIds, 'text'), arr(authNids, 'bigint'), arr(authIds, 'text'),
    room.roomId, arr(room.extremities.map((x) => x.eventId), 'text'),
    arr(stateRows.map((e) => e.pdu.type), 'text'), arr(stateRows.map((e) => e.pdu.state_key!), 'text'), arr(stateRows.map((e) => e.nid), 'bigint'),
    arr(memberRows.map((e) => e.pdu.state_key!), 'text'), arr(memberRows.map((e) => String(e.pdu.content.membership)), 'text'),
    arr(memberRows.map((e) => e.nid), 'bigint'), arr(memberRows.map((e) => e.streamOrdering), 'bigint'),
    arr(redactions.map((r) => r[0]), 'text'), arr(redactions.map((r) => r[1]), 'text'),
    arr(nodes.map((n) => n.node_id), 'bigint'), arr(nodes.map((n) => n.data), 'text'),
    root, room.maxDepth,
  ];
  if (createRoom) params.push(room.version.id, createRoom.creator, Date.now(), createRoom.isPublic);
  const text = createRoom ? CREATE_SQL : redactions.length ? BATCH_REDACT_SQL : BATCH_SQL;
  await sql.unsafe(text, params as never[], { prepare: text !== BATCH_REDACT_SQL });
  for (const e of batch) events.remember(e);
  room.root = root;
}
