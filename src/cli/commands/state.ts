// `resolve-state`: state resolution of one room version over given events and state sets.
// Input: {"room_version": V, "events": [PDU…], "state_sets": [[event_id…]…]}, each event with
// an explicit event_id; output: {"state": [[type, state_key, event_id]…]} sorted by type,
// then state_key.
import { getRoomVersion } from '../../events/room-versions.js';
import { isJsonObject, type PDU } from '../../events/pdu.js';
import { EventGraph, StateResolver } from '../../state/index.js';
import { defineCommand, eachDocument, NDJSON_OPTION, parseJsonDocument, UsageError } from '../io.js';

/** The fields resolution reads, checked so bad input fails with a message, not a crash. */
function checkEvent(v: unknown, i: number): PDU {
  const where = `events[${i}]`;
  if (!isJsonObject(v)) throw new Error(`${where}: must be an object`);
  if (typeof v.event_id !== 'string') throw new Error(`${where}: event_id missing or not a string`);
  const id = v.event_id;
  for (const f of ['type', 'sender'] as const) {
    if (typeof v[f] !== 'string') throw new Error(`${where} (${id}): ${f} missing or not a string`);
  }
  if ('state_key' in v && typeof v.state_key !== 'string') throw new Error(`${where} (${id}): state_key must be a string`);
  if (!isJsonObject(v.content)) throw new Error(`${where} (${id}): content missing or not an object`);
  if (!Array.isArray(v.auth_events)) throw new Error(`${where} (${id}): auth_events missing or not an array`);
  if (!Array.isArray(v.prev_events)) throw new Error(`${where} (${id}): prev_events missing or not an array`);
  return v as PDU;
}

export function resolveStateDocument(input: unknown, kernels: 'wasm' | 'ts' = 'wasm'): string {
  if (!isJsonObject(input)) throw new Error('input must be a JSON object');
  const versionId = input.room_version;
  if (typeof versionId !== 'string') throw new Error('room_version missing or not a string');
  const version = getRoomVersion(versionId);
  if (!version) throw new Error(`unsupported room version "${versionId}"`);
  if (!Array.isArray(input.events)) throw new Error('events missing or not an array');
  if (!Array.isArray(input.state_sets)) throw new Error('state_sets missing or not an array');

  const graph = new EventGraph();
  input.events.forEach((raw, i) => {
    const ev = checkEvent(raw, i);
    const known = graph.nodeOf(ev.event_id!);
    if (known >= 0 && graph.isLoaded(known)) throw new Error(`event ${ev.event_id} given twice`);
    graph.add(ev);
  });
  const sets = input.state_sets.map((set, i) => {
    if (!Array.isArray(set) || !set.every((id) => typeof id === 'string')) {
      throw new Error(`state_sets[${i}]: must be an array of event ids`);
    }
    try {
      return graph.snapshot(set as string[]);
    } catch (e) {
      throw new Error(`state_sets[${i}]: ${(e as Error).message}`);
    }
  });
  const state = new StateResolver(version, graph, { kernels }).resolve(sets);
  return JSON.stringify({ state: graph.entries(state) });
}

export const resolveStateCmd = defineCommand(
  {
    name: 'resolve-state',
    synopsis: '[--ndjson] [--kernels wasm|ts] < JSON',
    description:
      'State resolution. Input: {"room_version", "events": [PDU with event_id…], "state_sets": [[event_id…]…]};\n' +
      'output: {"state": [[type, state_key, event_id]…]} sorted by type, then state_key.',
    options: {
      ndjson: NDJSON_OPTION,
      kernels: { type: 'string', arg: 'wasm|ts', help: 'the graph kernels: WebAssembly (default) or the TypeScript reference' },
    },
  },
  async (values) => {
    const kernels = values.kernels ?? 'wasm';
    if (kernels !== 'wasm' && kernels !== 'ts') throw new UsageError('--kernels must be wasm or ts');
    return eachDocument(!!values.ndjson, (doc) => resolveStateDocument(parseJsonDocument(doc), kernels));
  },
);
